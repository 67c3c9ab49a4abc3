package sqlmetrics

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnalyzeNamesAndNormalises(t *testing.T) {
	cases := []struct {
		system, query                              string
		normalized, summary, operation, collection string
	}{
		{"postgresql", "select id, name from customers where email = 'a@b.c' and id=42",
			"SELECT id, name FROM customers WHERE email = ? AND id = ?", "SELECT customers", "SELECT", "customers"},
		{"postgresql", "INSERT INTO orders (a,b) VALUES ($1, $2)",
			"INSERT INTO orders ( a, b ) VALUES ( $1, $2 )", "INSERT orders", "INSERT", "orders"},
		// Two tables: the summary names both, the collection neither.
		{"postgresql", "SELECT * FROM a JOIN b ON a.x=b.y WHERE a.s IN (1,2,3)",
			"SELECT * FROM a JOIN b ON a.x = b.y WHERE a.s IN ( ? )", "SELECT a b", "SELECT", ""},
		// Two operations: neither name, the summary starts with the first.
		{"postgresql", "INSERT INTO archive SELECT * FROM orders",
			"INSERT INTO archive SELECT * FROM orders", "INSERT archive orders", "", ""},
		// A quoted schema is not the collection.
		{"postgresql", `delete from "Sales".users where name like 'bob%'`,
			`DELETE FROM "Sales" . users WHERE name LIKE ?`, "DELETE", "DELETE", ""},
		// Digits in identifiers are names, not literals.
		{"sqlite", "select a from t1 where b = 7", "SELECT a FROM t1 WHERE b = ?", "SELECT t1", "SELECT", "t1"},
		// MySQL's double quotes are a string.
		{"mysql", `select * from t where name = "bob"`, "SELECT * FROM t WHERE name = ?", "SELECT t", "SELECT", "t"},
		{"mariadb", `select * from t where name = "bob"`, "SELECT * FROM t WHERE name = ?", "SELECT t", "SELECT", "t"},
		// Statements the lexer has no command for: their first word.
		{"postgresql", "ROLLBACK", "ROLLBACK", "ROLLBACK", "ROLLBACK", ""},
		{"mysql", "show tables", "show tables", "SHOW", "SHOW", ""},
		{"postgresql", "SELECT $tag$secret$tag$", "SELECT ?", "SELECT", "SELECT", ""},
		{"postgresql", "/* user=jane */ SELECT 1", "SELECT ?", "SELECT", "SELECT", ""},
		{"postgresql", "", "", "", "", ""},
		// A backslash ends nothing in standard SQL: two literals.
		{"sqlite", `select a from t where x = 'x\' and y = 'secret'`, "SELECT a FROM t WHERE x = ? AND y = ?", "SELECT t", "SELECT", "t"},
		// PostgreSQL reads the same (standard_conforming_strings), but a
		// server with it off would not: the readings disagree, no text.
		{"postgresql", `select a from t where x = 'x\' and y = 'secret'`, "", "SELECT t", "SELECT", "t"},
		{"postgresql", `select a from t where x = E'it\'s'`, "SELECT a FROM t WHERE x = E ?", "SELECT t", "SELECT", "t"},
		{"mysql", `select a from t where x = 'x\\' and y = 'secret'`, "SELECT a FROM t WHERE x = ? AND y = ?", "SELECT t", "SELECT", "t"},
	}
	for _, c := range cases {
		t.Run(c.system+" "+c.query, func(t *testing.T) {
			st := newAnalyzer(c.system, "").analyze(c.query)
			assert.Equal(t, c.normalized, st.normalized)
			assert.Equal(t, c.summary, st.summary)
			assert.Equal(t, c.operation, st.operation)
			assert.Equal(t, c.collection, st.collection)
			var system string
			for _, kv := range st.okAttr {
				if kv.Key == "db.system.name" {
					system = kv.Value.AsString()
				}
			}
			assert.Equal(t, c.system, system)
		})
	}
}

func TestStatementCacheIsBounded(t *testing.T) {
	c := newStatementCache(newAnalyzer("postgresql", ""))
	hot := "SELECT v FROM kv WHERE k = $1"
	first := c.get(hot)
	for i := 0; i < 5*cacheGeneration; i++ {
		// An application that inlines literals: every text is new.
		c.get(fmt.Sprintf("SELECT v FROM kv WHERE k = %d", i))
		if i%100 == 0 {
			require.Same(t, first, c.get(hot), "a statement in steady use stays cached")
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	assert.LessOrEqual(t, len(c.cur)+len(c.prev), 2*cacheGeneration)
}

func TestLongStatementsAreNotCachedAndTruncated(t *testing.T) {
	c := newStatementCache(newAnalyzer("postgresql", ""))
	long := "INSERT INTO t (v) VALUES " + strings.Repeat("('xxxxxxxxxxxxx'), ", 2000) + "('y')"
	st := c.get(long)
	assert.Equal(t, "INSERT t", st.summary)
	assert.LessOrEqual(t, len(st.normalized), maxNormalizedText)
	assert.NotContains(t, st.normalized, "xxxx")
	c.mu.RLock()
	defer c.mu.RUnlock()
	assert.Empty(t, c.cur)
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	assert.Equal(t, "ab", truncate("abé", 3))
	assert.Equal(t, "abé", truncate("abé", 4))
	assert.Equal(t, "a\uFFFDb", truncate("a\xffb", 10))
}

// FuzzAnalyze: any text, however broken, analyses without a panic into a
// bounded, valid-UTF-8 statement whose names are free of quotes.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"SELECT 1", "select * from t where x = 'a''b'", "INSERT INTO \"a\".\"b\" VALUES ($1)",
		"/* c */ UPDATE t SET x = E'\\'' WHERE y = $$z$$", "'unterminated", "\x00\xff", "ROLLBACK", "x . y . z"} {
		f.Add(s, "postgresql")
		f.Add(s, "mysql")
	}
	f.Fuzz(func(t *testing.T, query, system string) {
		st := newAnalyzer(system, "").analyze(query)
		if !utf8.ValidString(st.normalized) || !utf8.ValidString(st.summary) {
			t.Fatalf("invalid UTF-8 in %q / %q", st.normalized, st.summary)
		}
		if len(st.normalized) > maxNormalizedText || len(st.summary) > maxSummary {
			t.Fatalf("over the limits: %d, %d", len(st.normalized), len(st.summary))
		}
		if strings.ContainsAny(st.operation, "'\"` ") {
			t.Fatalf("operation %q", st.operation)
		}
	})
}

// quoteLiteral writes v as a string literal the way system itself reads
// one: MySQL escapes with backslashes, standard SQL (PostgreSQL, SQLite)
// only doubles the quote, and a backslash there is an ordinary character.
func quoteLiteral(system, v string) string {
	if system == "mysql" || system == "mariadb" {
		return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(v) + "'"
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

var fuzzSystems = []string{"postgresql", "mysql", "mariadb", "sqlite", "some.other", "oracle", "mssql"}

// secretLiteral writes secret as a literal of the given shape, the ones
// go-sqllexer misreads among them, or "" when secret cannot be one. The
// second result is what must not survive. A shape is used only in the
// systems where it is a literal (and in a system the lexer does not know).
func secretLiteral(system, secret string, shape uint8) (lit, mustNotSurvive string) {
	pg, oracle := system == "postgresql" || system == "some.other", system == "oracle" || system == "some.other"
	switch shape % 7 {
	case 1: // after a nested comment (PostgreSQL nests them)
		return "/* /* */ ' */ " + quoteLiteral(system, secret), secret
	case 2: // a PostgreSQL 16 number with underscores
		var digits []byte
		for i := 0; i < len(secret); i++ {
			if isDigit(secret[i]) {
				digits = append(digits, secret[i])
			}
		}
		if len(digits) < 6 {
			return "", ""
		}
		return string(digits[:2]) + "_" + string(digits[2:]), string(digits[2:])
	case 3: // an Oracle q-quote
		if !oracle || strings.Contains(secret, "}'") {
			return "", ""
		}
		return "q'{" + secret + "}'", secret
	case 4: // a PostgreSQL E'' string
		if !pg {
			return "", ""
		}
		return "E'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(secret) + "'", secret
	case 5: // a dollar quote
		if !pg || strings.Contains(secret, "$q$") {
			return "", ""
		}
		return "$q$" + secret + "$q$", secret
	case 6: // a Unicode string
		if !pg {
			return "", ""
		}
		return "U&'" + strings.ReplaceAll(secret, "'", "''") + "'", secret
	}
	return quoteLiteral(system, secret), secret
}

// FuzzLiteralNeverSurvives writes any value as a literal (each dialect's
// own escaping, or one of the shapes of secretLiteral, whatever the
// system), after another literal that is fuzzed as well (a first literal
// ending in a backslash is where dialects disagree), into a statement: the
// normalised text and the names must not contain it.
func FuzzLiteralNeverSurvives(f *testing.F) {
	for _, s := range []string{"jane.doe@example.com", "4111 1111 1111 1111", "it's", `back\slash`, "$$", "*/ x /*", "--x", "\n",
		"} FROM SECRET_TOKEN_123 {", "' FROM SECRET_TOKEN_123 WHERE x = '"} {
		for i := range fuzzSystems {
			for shape := uint8(0); shape < 7; shape++ {
				f.Add(s, "x", uint8(i), shape)
			}
			f.Add(s, `x\`, uint8(i), uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, secret, first string, which, shape uint8) {
		if len(secret) < 4 || !utf8.ValidString(secret) || strings.ContainsRune(secret, 0) || !utf8.ValidString(first) {
			t.Skip("too short to tell from statement text, not UTF-8, or holding NUL: no literal to look for")
		}
		system := fuzzSystems[int(which)%len(fuzzSystems)]
		lit, secret := secretLiteral(system, secret, shape)
		if lit == "" {
			t.Skip("the secret cannot be written in this shape")
		}
		query := "SELECT a FROM t WHERE x = " + quoteLiteral(system, first) + " AND y = " + lit + " AND z = 42"
		if strings.Contains(strings.ToUpper("SELECT a FROM t WHERE x = ? AND y = ? AND z = ?"+first+"QEU/* */"), strings.ToUpper(strings.TrimSpace(secret))) ||
			strings.TrimSpace(secret) == "" {
			t.Skip("the secret is part of the statement's own text")
		}
		st := newAnalyzer(system, "").analyze(query)
		for _, got := range []string{st.normalized, st.summary, st.operation, st.collection} {
			if strings.Contains(got, secret) {
				t.Fatalf("%s: literal %q survived in %q (query %q)", system, secret, got, query)
			}
		}
	})
}
