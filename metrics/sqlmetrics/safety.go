package sqlmetrics

import "strings"

// The safety net: go-sqllexer is not trusted to find every literal. Each
// statement is also read by the small scanner below, in every way its
// system may read it (a reading per server setting that changes where a
// literal ends), and the lexer's output is kept only if every word in it
// is a word each reading finds outside literals and comments. Constructs
// the lexer is known to misread make the scanner refuse any text at once.
// It runs once per distinct statement (the result is cached).

// reading is one way a server may read a statement's text.
type reading struct {
	backslash    bool // \ escapes the next character in '...'
	eStrings     bool // E'...' escapes with \ (PostgreSQL)
	dollar       bool // $tag$...$tag$ quotes, $1 parameters (PostgreSQL)
	hash         bool // # starts a line comment (MySQL)
	dquoteString bool // "..." is a string, not an identifier (MySQL)
	backtick     bool // `...` is an identifier (MySQL, SQLite)
	bracket      bool // [...] is an identifier (SQL Server, SQLite)
	qquote       bool // q'[...]' quotes (Oracle)
}

// readingsFor lists the readings of a system's statements: those of the
// server with its default settings and with the settings that change
// where a literal ends. A system the scanner does not know is read every
// way; a word must be outside literals in all of them to be kept.
func readingsFor(system string) []reading {
	switch system {
	case "postgresql":
		// standard_conforming_strings on (the default) and off.
		return []reading{{eStrings: true, dollar: true}, {backslash: true, eStrings: true, dollar: true}}
	case "mysql", "mariadb":
		// Backslash escapes on (the default) and off (NO_BACKSLASH_ESCAPES).
		return []reading{{backslash: true, hash: true, dquoteString: true, backtick: true},
			{hash: true, dquoteString: true, backtick: true}}
	case "mssql", "microsoft.sql_server":
		return []reading{{bracket: true}}
	case "oracle.db", "oracle":
		return []reading{{qquote: true}}
	case "sqlite":
		return []reading{{backtick: true, bracket: true}}
	default:
		return []reading{{}, {backslash: true}, {eStrings: true, dollar: true},
			{backslash: true, hash: true, dquoteString: true, backtick: true}, {bracket: true}, {qquote: true}}
	}
}

// safeWords is the set of words (upper case) a statement has outside
// literals and comments in every reading; refused is set when the text
// holds a construct the lexer is known to misread, and then no word is
// safe but the operation's.
type safeWords struct {
	sets    []map[string]struct{}
	refused bool
}

func scanSafe(query string, readings []reading) safeWords {
	var sw safeWords
	for _, r := range readings {
		set, suspicious := scan(query, r)
		sw.sets = append(sw.sets, set)
		sw.refused = sw.refused || suspicious
	}
	return sw
}

// allows reports whether every word of s is outside literals in every
// reading.
func (sw safeWords) allows(s string) bool {
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		w := strings.ToUpper(s[i:j])
		for _, set := range sw.sets {
			if _, ok := set[w]; !ok {
				return false
			}
		}
		i = j
	}
	return true
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scan returns the words of query outside literals and comments in
// reading r, upper-cased; words starting with a digit are numbers, never
// kept, but for a bind variable's (:1). suspicious is set by what go-sqllexer misreads: /* inside a
// comment (PostgreSQL nests comments, others do not), a number with an
// underscore (PostgreSQL 16: 4111_1111), a q-quote (Oracle q'[...]', nq'…'),
// and a $ that is neither a parameter nor a dollar quote's delimiter.
func scan(query string, r reading) (words map[string]struct{}, suspicious bool) {
	words = make(map[string]struct{})
	add := func(w string) {
		if w != "" && !isDigit(w[0]) {
			words[strings.ToUpper(w)] = struct{}{}
		}
	}
	addAll := func(s string) { // an identifier's content: its words are names
		for i := 0; i < len(s); {
			if !isWordByte(s[i]) {
				i++
				continue
			}
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			add(s[i:j])
			i = j
		}
	}
	s := query
	n := len(s)
	// quoted returns the end of a literal or identifier opened at i (the
	// index after its closing quote, or n when unterminated).
	quoted := func(i int, q byte, backslash bool) int {
		for j := i + 1; j < n; j++ {
			switch {
			case backslash && s[j] == '\\':
				j++
			case s[j] == q:
				if j+1 < n && s[j+1] == q {
					j++
					continue
				}
				return j + 1
			}
		}
		return n
	}
	for i := 0; i < n; {
		c := s[i]
		switch {
		case c == '$' && r.dollar:
			j := i + 1
			if j < n && isDigit(s[j]) {
				for j < n && isDigit(s[j]) {
					j++
				}
				add(s[i:j]) // a parameter
				i = j
				continue
			}
			for j < n && (isWordByte(s[j]) && s[j] != '$') {
				j++
			}
			if j < n && s[j] == '$' && (j == i+1 || !isDigit(s[i+1])) {
				tag := s[i : j+1]
				end := strings.Index(s[j+1:], tag)
				if end < 0 {
					return words, suspicious
				}
				i = j + 1 + end + len(tag)
				continue
			}
			suspicious = true
			i++
		case isWordByte(c):
			j := i
			for j < n && isWordByte(s[j]) {
				j++
			}
			w := s[i:j]
			if isDigit(w[0]) && strings.IndexByte(w, '_') >= 0 {
				suspicious = true
			}
			if j < n && s[j] == '\'' {
				lw := strings.ToLower(w)
				if lw == "q" || lw == "nq" {
					suspicious = true
					if r.qquote && j+1 < n {
						open := s[j+1]
						closing := open
						switch open {
						case '[':
							closing = ']'
						case '{':
							closing = '}'
						case '(':
							closing = ')'
						case '<':
							closing = '>'
						}
						add(w)
						end := strings.Index(s[j+2:], string(closing)+"'")
						if end < 0 {
							return words, suspicious
						}
						i = j + 2 + end + 2
						continue
					}
				}
				if r.eStrings && lw == "e" {
					add(w)
					i = quoted(j, '\'', true)
					continue
				}
			}
			if isDigit(w[0]) && i > 0 && s[i-1] == ':' && (i == 1 || !isWordByte(s[i-2]) && s[i-2] != ':') {
				// A positional bind variable (:1), not a number.
				words[w] = struct{}{}
			}
			add(w)
			i = j
		case c == '\'':
			i = quoted(i, '\'', r.backslash)
		case c == '"':
			end := quoted(i, '"', r.dquoteString && r.backslash)
			if !r.dquoteString {
				addAll(s[i+1 : end])
			}
			i = end
		case c == '`' && r.backtick:
			end := quoted(i, '`', false)
			addAll(s[i+1 : end])
			i = end
		case c == '[' && r.bracket:
			end := quoted(i, ']', false)
			addAll(s[i+1 : end])
			i = end
		case c == '-' && i+1 < n && s[i+1] == '-', c == '#' && r.hash:
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return words, suspicious
			}
			i += end + 1
		case c == '/' && i+1 < n && s[i+1] == '*':
			// Comments are read nested, as PostgreSQL does; a /* inside one
			// is refused whatever the system, so the other rule matters not.
			depth := 1
			j := i + 2
			for j < n && depth > 0 {
				switch {
				case s[j] == '/' && j+1 < n && s[j+1] == '*':
					suspicious = true
					depth++
					j += 2
				case s[j] == '*' && j+1 < n && s[j+1] == '/':
					depth--
					j += 2
				default:
					j++
				}
			}
			i = j
		default:
			i++
		}
	}
	return words, suspicious
}
