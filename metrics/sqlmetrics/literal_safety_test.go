package sqlmetrics

import (
	"strings"
	"testing"
)

// TestLiteralsNeverKept: statements go-sqllexer misreads (review of the
// sqlmetrics safety net) keep no literal in the text, summary or names.
func TestLiteralsNeverKept(t *testing.T) {
	cases := []struct{ system, q string }{
		{"postgresql", "SELECT 1 /* /* */ SECRET */ FROM t"},
		{"postgresql", "SELECT 1 /* /* */ ' */ , 'SECRET' FROM t"},
		{"postgresql", "SELECT U&'SECRET' FROM t"},
		{"postgresql", "SELECT E'x\\'' , 'SECRET' FROM t"},
		{"postgresql", "SELECT $a$ SECRET $a$ FROM t"},
		{"postgresql", "SELECT $1$SECRET$1$ FROM t"},
		{"postgresql", "SELECT B'1010', X'SECRET' FROM t"},
		{"postgresql", "SELECT 'a' 'SECRET' FROM t"},
		{"postgresql", "SELECT 'a'\n'SECRET' FROM t"},
		{"postgresql", "SELECT 1 FROM t WHERE a = 'it''s SECRET'"},
		{"mysql", "SELECT 1 FROM t WHERE a = 'x\\' AND b = SECRET' "},
		{"mysql", "SELECT 1 # SECRET\n FROM t"},
		{"mysql", "SELECT 1 FROM t WHERE a = _utf8mb4'SECRET'"},
		{"mysql", "SELECT 1 FROM t WHERE a = N'SECRET'"},
		{"mysql", "SELECT 1 FROM t WHERE a = x'5345435245'"},
		{"mysql", "SELECT 1 FROM t WHERE a = \"x\\\" SECRET\""},
		{"mysql", "SELECT 1 FROM t WHERE a = 'SECRET' COLLATE utf8mb4_bin"},
		{"mysql", "SELECT /*!50000 'SECRET' */ 1 FROM t"},
		{"mssql", "SELECT 1 FROM t WHERE a = N'SECRET'"},
		{"mssql", "SELECT 1 FROM t WHERE a = 'x\\' + 'SECRET'"},
		{"oracle", "SELECT q'[SECRET]' FROM dual"},
		{"oracle", "SELECT q'{it's SECRET}' FROM dual"},
		{"sqlite", "SELECT x'53454352' , 'SECRET' FROM t"},
		{"sqlite", "SELECT 1 FROM t WHERE a = 'x\\' AND b = 'SECRET'"},
		{"clickhouse", "SELECT 1 FROM t WHERE a = 'x\\' AND b = 'SECRET'"},
		{"clickhouse", "SELECT 1 FROM t WHERE a = 'x\\'' AND b = SECRET_VAL"},
		{"postgresql", "SELECT 1e5, 0x1F, -42, 1_000_SECRET FROM t"},
		{"postgresql", "SELECT 1 FROM t WHERE a = 12345678901234567890"},
		{"postgresql", "SELECT * FROM t WHERE j @> '{\"k\":\"SECRET\"}'::jsonb"},
		{"postgresql", "SELECT * FROM t WHERE a = $$SECRET$$"},
		{"postgresql", "SELECT * FROM t WHERE a = $x$SECRET$X$ $x$"},
		{"postgresql", "SET password = 'SECRET'"},
		{"postgresql", "ALTER USER bob WITH PASSWORD 'SECRET'"},
		{"mysql", "CREATE USER bob IDENTIFIED BY 'SECRET'"},
		// MySQL under NO_BACKSLASH_ESCAPES: SECRET is a literal there.
		{"mysql", "SELECT 1 FROM t WHERE a = 'x\\' AND b = ' SECRET '"},
		// Reported: nested comments, PostgreSQL 16 numbers, Oracle q-quotes.
		{"postgresql", "SELECT 1 /* /* */ ' */ FROM t WHERE a = ' FROM SECRET_TOKEN_123 '"},
		{"postgresql", "SELECT 1 /* /* */ ' */ FROM t WHERE a = ' FROM SECRET_TOKEN_123 WHERE x = '"},
		{"some.other", "SELECT 1 /* /* */ ' */ FROM t WHERE a = ' FROM SECRET_TOKEN_123 '"},
		{"postgresql", "/* /* */ SECRET */ ROLLBACK"},
		{"postgresql", "SELECT * FROM accounts WHERE card = 4111_1111_1111_1111 -- SECRET"},
		{"postgresql", "SELECT * FROM accounts WHERE card = 0x_SECRET"},
		{"oracle", "SELECT Q'<it's SECRET>' FROM dual"},
		{"oracle", "SELECT nq'!it's SECRET!' FROM dual"},
		{"some.other", "SELECT q'{it's SECRET}' FROM dual"},
		// E'' and U&'' strings, each escaping its own way.
		{"postgresql", "SELECT E'it\\'s SECRET' FROM t"},
		{"postgresql", "SELECT e'x\\\\' , 'SECRET' FROM t"},
		{"postgresql", "SELECT U&'d\\0061t' UESCAPE '!' , 'SECRET' FROM t"},
		{"postgresql", "SELECT U&'it''s SECRET' FROM t"},
		{"postgresql", "SELECT $a$ it's $b$ SECRET $a$ FROM t"},
		{"postgresql", "SELECT $ SECRET FROM t"},
	}
	for _, c := range cases {
		a := newAnalyzer(c.system, "")
		st := a.analyze(c.q)
		for _, v := range []string{st.normalized, st.summary, st.operation, st.collection} {
			if strings.Contains(strings.ToUpper(v), "SECRET") || strings.Contains(v, "5345") || strings.Contains(v, "1111") || strings.Contains(v, "12345678901234567890") {
				t.Errorf("%s %q -> normalized %q summary %q op %q coll %q", c.system, c.q, st.normalized, st.summary, st.operation, st.collection)
				break
			}
		}
	}
}

// TestNamesAndPlainTextKept: the safety net keeps what is not a literal:
// quoted identifiers are names, and ordinary statements keep their text.
func TestNamesAndPlainTextKept(t *testing.T) {
	cases := []struct{ system, q, normalized, summary string }{
		{"mssql", "SELECT [Name] FROM t WHERE a = N'x'", "SELECT [Name] FROM t WHERE a = N ?", "SELECT t"},
		{"postgresql", "SELECT * FROM \"Odd'\" WHERE a = 'b'", "SELECT * FROM \"Odd'\" WHERE a = ?", "SELECT Odd'"},
		{"postgresql", "SELECT $1::int, $tag$x$tag$ FROM t_1 WHERE a$b = E'it\\'s'", "SELECT $1 :: int, ? FROM t_1 WHERE a$b = E ?", "SELECT t_1"},
		{"mysql", "SELECT `a` FROM t # note\n WHERE b = _utf8mb4'x'", "SELECT `a` FROM t WHERE b = _utf8mb4 ?", "SELECT t"},
		{"oracle", "SELECT a FROM t WHERE b = :1", "SELECT a FROM t WHERE b = :1", "SELECT t"},
	}
	for _, c := range cases {
		st := newAnalyzer(c.system, "").analyze(c.q)
		if st.normalized != c.normalized || st.summary != c.summary {
			t.Errorf("%s %q -> normalized %q summary %q, want %q %q", c.system, c.q, st.normalized, st.summary, c.normalized, c.summary)
		}
	}
}
