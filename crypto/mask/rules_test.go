package mask

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRules(t *testing.T) {
	cases := []struct {
		rule     string
		in, want string
	}{
		{"email", "john.doe@example.com", "j***@example.com"},
		{"email", "j@example.com", "j***@example.com"},
		{"email", "élodie@exemple.fr", "é***@exemple.fr"},
		{"email", "a@b@example.com", "a***@example.com"},
		{"email", "not-an-email", Redacted},
		{"email", "@example.com", Redacted},
		{"email", "john@", Redacted},
		{"email", "", Redacted},
		{"phone", "+49 151 1234 5678", "***5678"},
		{"phone", "(555) 123-4567", "***4567"},
		{"phone", "12345", Redacted},
		{"card", "4111 1111 1111 1111", "411111******1111"},
		{"card", "4111-1111-1111-1111", "411111******1111"},
		{"card", "378282246310005", "378282******0005"},
		{"card", "6011111111111117123", "601111******7123"},
		{"card", "41111111111111111111", Redacted},
		{"card", "4111", Redacted},
		{"card", "4111x1111x1111x1111", Redacted},
		{"national_id", "123-45-6789", "***6789"},
		{"national_id", "AB 12 34 56 C", "***456C"},
		{"national_id", "1234", Redacted},
		{"name", "Ann-Marie Smith", "A*** S***"},
		{"name", "  Jürgen  ", "J***"},
		{"name", "", Redacted},
		{"ip", "192.0.2.33", "192.0.2.0/24"},
		{"ip", "2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::/48"},
		{"ip", "::ffff:192.0.2.33", "192.0.2.0/24"},
		{"ip", "fe80::1%eth0", "fe80::/48"},
		{"ip", "example.com", Redacted},
		{"redact", "anything at all", Redacted},
		{"text", "Mail ann@example.com or call +1 (555) 123-4567 about order 42 from 2024.", "Mail a***@example.com or call ***4567 about order 42 from 2024."},
		{"text", "card 4111 1111 1111 1111 exp 12/27", "card ***1111 exp 12/27"},
	}
	for _, c := range cases {
		r, ok := RuleNamed(c.rule)
		if !assert.True(t, ok, c.rule) {
			continue
		}
		assert.Equal(t, c.want, r(c.in), "%s(%q)", c.rule, c.in)
	}
	_, ok := RuleNamed("nope")
	assert.False(t, ok)
}

func TestRulesHideLength(t *testing.T) {
	// Same visible parts, very different hidden lengths: same output.
	assert.Equal(t, Email("a@example.com"), Email("a"+strings.Repeat("x", 60)+"@example.com"))
	assert.Equal(t, Phone("5551234"), Phone("+4915112345551234"))
	assert.Equal(t, Card("4111111111111111"), Card("4111110000000001111"))
	assert.Equal(t, Name("A B"), Name("Alexandrina Bartholomew"))
	assert.Equal(t, Redact("x"), Redact(strings.Repeat("x", 1000)))
}

func TestEmailAllocatesAtMostOnce(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _ = Email("john.doe@example.com") })
	assert.LessOrEqual(t, allocs, 1.0)
}
