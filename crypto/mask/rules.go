package mask

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces a value entirely.
const Redacted = "[REDACTED]"

// Rule masks one value. Rules never fail: input a rule cannot make sense of
// is fully redacted, never passed through.
type Rule func(string) string

// stars is the fixed-length filler of every rule. It is always three
// characters, whatever the length of what it replaces.
const stars = "***"

// Email keeps the first character of the local part and the domain:
// "john.doe@example.com" → "j***@example.com". The local part's length is
// not revealed. Anything without a local part and a domain is redacted. It
// makes at most one allocation.
func Email(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Redacted
	}
	_, n := utf8.DecodeRuneInString(s)
	var b strings.Builder
	b.Grow(n + len(stars) + len(s) - at)
	b.WriteString(s[:n])
	b.WriteString(stars)
	b.WriteString(s[at:])
	return b.String()
}

// Phone keeps the last four digits: "+49 151 1234 5678" → "***5678". The
// number's length and format are not revealed. Fewer than seven digits are
// redacted (too short to be a phone number; four digits would be most of
// it).
func Phone(s string) string {
	d := lastDigits(s, 4)
	if countDigits(s) < 7 {
		return Redacted
	}
	return stars + d
}

// Card keeps at most the first six and last four digits of a payment card
// number, as PCI DSS allows for display: "4111 1111 1111 1111" →
// "411111******1111". The middle is always six stars, so the card's length
// is not revealed. Input that is not 13 to 19 digits (spaces and dashes
// aside) is redacted.
func Card(s string) string {
	digits := make([]byte, 0, 19)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if len(digits) == 19 {
				return Redacted
			}
			digits = append(digits, c)
		case c == ' ' || c == '-':
		default:
			return Redacted
		}
	}
	if len(digits) < 13 {
		return Redacted
	}
	return string(digits[:6]) + "******" + string(digits[len(digits)-4:])
}

// NationalID keeps the last four letters or digits of an identity number
// (SSN, national insurance, tax id): "123-45-6789" → "***6789". Fewer than
// eight letters and digits are redacted, since four would be half of it.
func NationalID(s string) string {
	var alnum []rune
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			alnum = append(alnum, r)
		}
	}
	if len(alnum) < 8 {
		return Redacted
	}
	return stars + string(alnum[len(alnum)-4:])
}

// Name keeps the first letter of each word: "Ann-Marie Smith" →
// "A*** S***". The number of words is revealed, their lengths are not.
func Name(s string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return Redacted
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		r, n := utf8.DecodeRuneInString(w)
		if r == utf8.RuneError {
			return Redacted
		}
		b.WriteString(w[:n])
		b.WriteString(stars)
	}
	return b.String()
}

// IP keeps the network, as analytics anonymisation does: an IPv4 address
// becomes its /24 ("192.0.2.33" → "192.0.2.0/24"), an IPv6 address its /48
// ("2001:db8:85a3::8a2e:370:7334" → "2001:db8:85a3::/48"). Anything that is
// not an address is redacted.
func IP(s string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return Redacted
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return Redacted
	}
	return p.String()
}

// Redact replaces any value with "[REDACTED]", revealing nothing, not even
// the length.
func Redact(string) string { return Redacted }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// lastDigits returns the last n ASCII digits of s, in order.
func lastDigits(s string, n int) string {
	var buf [8]byte
	k := len(buf)
	for i := len(s) - 1; i >= 0 && len(buf)-k < n; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			k--
			buf[k] = s[i]
		}
	}
	return string(buf[k:])
}

// rules are the rules available to struct tags (`mask:"email"`).
var rules = map[string]Rule{
	"email":       Email,
	"phone":       Phone,
	"card":        Card,
	"national_id": NationalID,
	"name":        Name,
	"ip":          IP,
	"text":        Text,
	"redact":      Redact,
}

// RuleNamed returns the rule a struct tag names: email, phone, card,
// national_id, name, ip, text or redact.
func RuleNamed(name string) (Rule, bool) {
	r, ok := rules[name]
	return r, ok
}
