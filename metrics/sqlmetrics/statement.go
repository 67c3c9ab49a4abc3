package sqlmetrics

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/DataDog/go-sqllexer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Limits on what a statement's analysis keeps. A statement longer than
// maxCachedQuery is analysed on every call instead of cached (bulk inserts
// with thousands of rows would otherwise pin megabytes); the normalised text
// and the summary are cut to their limits, on a rune boundary.
const (
	maxCachedQuery    = 4096
	maxNormalizedText = 2048
	maxSummary        = 255
	// cacheGeneration is how many statements one generation of the cache
	// holds; two generations are kept (see statementCache).
	cacheGeneration = 1024
)

// statement is what Keel knows about one query text: derived once, cached,
// and never holding a literal from the text.
type statement struct {
	// normalized is the text with every literal replaced by ?, comments
	// removed and whitespace collapsed (go-sqllexer); "" if it could not be
	// lexed.
	normalized string
	// summary is db.query.summary: the first operation and the tables in
	// order of appearance ("SELECT customers orders").
	summary string
	// operation and collection are db.operation.name and db.collection.name,
	// set only when the statement has exactly one of each.
	operation, collection string

	// ok is the attribute set of a successful call, wrapped once as the
	// options Record and Add take, so that a call allocates none.
	ok     []metric.RecordOption
	okAdd  []metric.AddOption
	okAttr []attribute.KeyValue
}

// analyzer derives statements for one database system.
type analyzer struct {
	system    attribute.KeyValue
	namespace string
	// dbms is the dialect statements are lexed in. crossCheck, when set,
	// is the same lexer with the other rule for backslashes in string
	// literals (see analyze).
	dbms       sqllexer.DBMSType
	crossCheck *sqllexer.DBMSType
	obfuscator *sqllexer.Obfuscator
	normalizer *sqllexer.Normalizer
	// readings are the ways the system may read a text, for the safety
	// net that checks the lexer's output (safety.go).
	readings []reading
}

func newAnalyzer(system, namespace string) *analyzer {
	a := &analyzer{
		system:    semconv.DBSystemNameKey.String(system),
		namespace: namespace,
		readings:  readingsFor(system),
		// Digits inside identifiers (t1, order_2024) are names, not
		// literals: replacing them would merge tables in the summary.
		obfuscator: sqllexer.NewObfuscator(
			sqllexer.WithReplaceBoolean(true),
			sqllexer.WithReplaceNull(true),
			// A dollar-quoted string is a literal ($$secret$$), not a
			// function body to keep.
			sqllexer.WithDollarQuotedFunc(false)),
		normalizer: sqllexer.NewNormalizer(
			sqllexer.WithCollectTables(true),
			sqllexer.WithCollectCommands(true),
			sqllexer.WithUppercaseKeywords(true),
			sqllexer.WithKeepIdentifierQuotation(true)),
	}
	// Whether a backslash escapes a quote decides where a literal ends:
	// in 'x\' AND y = 'secret' standard SQL sees two literals, a lexer
	// that honours backslash escapes sees one literal, the bare word
	// secret, and a second literal. Each dialect is lexed with its own
	// rule; where a server setting can change the rule, or the system is
	// one go-sqllexer does not know, the statement is lexed with the other
	// rule as well (crossCheck), and when the two disagree no text is kept.
	backslashEscapes := sqllexer.DBMSType("") // go-sqllexer's generic lexer
	switch system {
	case "mysql", "mariadb":
		// MySQL's "..." is a string literal (unless ANSI_QUOTES): lexed as
		// an identifier it would keep its content. Backslash escapes are
		// the default (sql_mode NO_BACKSLASH_ESCAPES turns them off; see
		// doc.go). The MySQL lexer differs from the generic ones in more
		// than backslashes, so there is no cross-check to compare with.
		a.dbms = sqllexer.DBMSMySQL
	case "postgresql":
		// Backslashes escape only in E'...' (standard_conforming_strings,
		// on since PostgreSQL 9.1); cross-checked against a server that
		// has it off.
		a.dbms = sqllexer.DBMSPostgres
		a.crossCheck = &backslashEscapes
	case "mssql", "microsoft.sql_server":
		a.dbms = sqllexer.DBMSSQLServer
	case "oracle.db", "oracle":
		a.dbms = sqllexer.DBMSOracle
	case "sqlite":
		// Standard SQL strings, always: a backslash is an ordinary
		// character and no setting changes that.
		a.dbms = standardStrings
	default:
		// A system go-sqllexer does not know: standard SQL strings,
		// cross-checked against a dialect with backslash escapes.
		a.dbms = standardStrings
		a.crossCheck = &backslashEscapes
	}
	return a
}

// standardStrings is go-sqllexer's generic lexer without backslash escapes:
// its Oracle dialect differs from the generic one in nothing else.
const standardStrings = sqllexer.DBMSOracle

// lex obfuscates and normalises query in dbms, and derives its names.
func (a *analyzer) lex(query string, dbms sqllexer.DBMSType) (normalized, operation, collection, summary string, ok bool) {
	normalized, meta, err := sqllexer.ObfuscateAndNormalize(query, a.obfuscator, a.normalizer, sqllexer.WithDBMS(dbms))
	if err != nil || meta == nil {
		return "", "", "", "", false
	}
	operation, collection, summary = names(normalized, meta)
	return normalized, operation, collection, summary, true
}

// analyze derives a statement from a query text. It never fails: text the
// lexer cannot make sense of gives a statement with only db.system.name.
func (a *analyzer) analyze(query string) *statement {
	st := &statement{}
	normalized, operation, collection, summary, ok := a.lex(query, a.dbms)
	if ok && a.crossCheck != nil {
		// The other backslash rule: if it ends a literal elsewhere, one of
		// the two readings has literal text outside a literal. Keep only
		// the names both readings agree on, and no text.
		n2, op2, coll2, sum2, ok2 := a.lex(query, *a.crossCheck)
		if !ok2 || n2 != normalized {
			normalized = ""
			operation = agreed(operation, op2)
			collection = agreed(collection, coll2)
			summary = agreed(summary, sum2)
		}
	}
	if ok {
		// The safety net (safety.go): a construct the lexer misreads, or a
		// word in what is kept that the text has only inside a literal or
		// a comment, and no text is kept: only the operation, when it is
		// itself a word outside literals, as the summary too.
		sw := scanSafe(query, a.readings)
		if sw.refused || !sw.allows(normalized) || !sw.allows(summary) || !sw.allows(collection) {
			normalized, collection, summary = "", "", ""
			if !sw.allows(operation) {
				operation = ""
			}
			summary = operation
		}
	}
	if ok {
		st.normalized = truncate(normalized, maxNormalizedText)
		st.operation, st.collection, st.summary = operation, collection, truncate(summary, maxSummary)
	}
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, a.system)
	if a.namespace != "" {
		attrs = append(attrs, semconv.DBNamespace(a.namespace))
	}
	if st.summary != "" {
		attrs = append(attrs, semconv.DBQuerySummary(st.summary))
	}
	if st.operation != "" {
		attrs = append(attrs, semconv.DBOperationName(st.operation))
	}
	if st.collection != "" {
		attrs = append(attrs, semconv.DBCollectionName(st.collection))
	}
	set := attribute.NewSet(attrs...)
	st.okAttr = attrs
	st.ok = []metric.RecordOption{metric.WithAttributeSet(set)}
	st.okAdd = []metric.AddOption{metric.WithAttributeSet(set)}
	return st
}

// agreed returns a when b is the same, else "".
func agreed(a, b string) string {
	if a == b {
		return a
	}
	return ""
}

// names derives db.operation.name, db.collection.name and db.query.summary
// from the lexer's metadata. The conventions allow a name parsed from the
// text only when it is the one name of the call; a statement with two
// operations (INSERT … SELECT) or two tables (a join) gets neither, only
// the summary, which lists them all.
func names(normalized string, meta *sqllexer.StatementMetadata) (operation, collection, summary string) {
	var ops []string
	for _, c := range meta.Commands {
		// The lexer counts JOIN as a command; it is a clause of the SELECT.
		if c != "JOIN" {
			ops = append(ops, c)
		}
	}
	var tables []string
	for _, t := range meta.Tables {
		// go-sqllexer takes the schema of a quoted qualified name
		// ("Public".users) for the table: a name followed by a dot in the
		// text is a schema, not a collection.
		if strings.Contains(normalized, " "+t+" .") || strings.Contains(normalized, " \""+t+"\" .") ||
			strings.Contains(normalized, " `"+t+"` .") {
			continue
		}
		tables = append(tables, t)
	}
	if len(ops) == 1 {
		operation = ops[0]
	}
	if len(ops) == 1 && len(tables) == 1 {
		collection = tables[0]
	}
	if len(ops) == 0 {
		// Statements the lexer has no command for (ROLLBACK, SHOW, CALL):
		// their first word, if it is one, names the operation. A keyword
		// of the text, never a literal, which the obfuscator replaced.
		if word := firstWord(normalized); word != "" {
			ops = []string{word}
			operation = word
		}
	}
	if len(ops) > 0 {
		summary = truncate(strings.Join(append(ops[:1:1], tables...), " "), maxSummary)
	}
	return operation, collection, summary
}

// firstWord returns the leading ASCII word of s in upper case, or "" if s
// does not start with one (or it is implausibly long for a keyword).
func firstWord(s string) string {
	i := 0
	for i < len(s) && ('a' <= s[i] && s[i] <= 'z' || 'A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == 0 || i > 32 || i < len(s) && s[i] != ' ' && s[i] != ';' {
		return ""
	}
	return strings.ToUpper(s[:i])
}

// truncate cuts s to at most n bytes without splitting a rune, and replaces
// invalid UTF-8 so that the result is safe in any attribute or log line.
func truncate(s string, n int) string {
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// statementCache maps query texts to statements. It keeps two generations:
// lookups read the current one, then the previous one (promoting a hit);
// when the current one is full it becomes the previous one and a new one
// starts. So memory is bounded at 2×cacheGeneration statements, a steady set
// of queries is always found, and an application that inlines literals
// (every text new) costs an analysis per call instead of unbounded growth.
type statementCache struct {
	analyzer *analyzer

	mu        sync.RWMutex
	cur, prev map[string]*statement
}

func newStatementCache(a *analyzer) *statementCache {
	return &statementCache{analyzer: a, cur: make(map[string]*statement, 64)}
}

func (c *statementCache) get(query string) *statement {
	c.mu.RLock()
	st := c.cur[query]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	if len(query) > maxCachedQuery {
		return c.analyzer.analyze(query)
	}
	c.mu.Lock()
	st = c.cur[query]
	if st == nil {
		st = c.prev[query]
		if st != nil {
			c.insertLocked(query, st)
		}
	}
	c.mu.Unlock()
	if st != nil {
		return st
	}
	// Analysed outside the lock: it takes microseconds, and two goroutines
	// analysing the same new text at once only waste one result.
	st = c.analyzer.analyze(query)
	c.mu.Lock()
	if cached := c.cur[query]; cached != nil {
		st = cached
	} else {
		// A copy of the key: the caller's string may be a slice of a larger
		// buffer that the cache would otherwise keep alive.
		c.insertLocked(strings.Clone(query), st)
	}
	c.mu.Unlock()
	return st
}

func (c *statementCache) insertLocked(query string, st *statement) {
	if len(c.cur) >= cacheGeneration {
		c.prev = c.cur
		c.cur = make(map[string]*statement, 64)
	}
	c.cur[query] = st
}
