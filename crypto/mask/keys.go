package mask

import (
	"fmt"
	"strings"
)

// Config configures a Masker, which masks values by the name of the key they
// are stored under (map keys, log attribute keys).
type Config struct {
	// Keys adds key names whose values are fully redacted, on top of the
	// defaults (see DefaultKeys). Names are compared after normalisation:
	// lower-cased with everything but letters and digits removed, so "API-Key",
	// "api_key" and "apiKey" are one name.
	Keys []string
	// Rules maps key names to rules, on top of (and overriding) the default
	// rules: email, phone, mobile → Email/Phone; card_number → Card; ssn,
	// national_id → NationalID; ip, ip_address, client_ip → IP; full_name,
	// first_name, last_name → Name.
	Rules map[string]Rule
	// NoDefaults drops the default keys and rules: only Keys and Rules apply.
	NoDefaults bool
	// Messages makes Handler also pass each log message through Text, for
	// code that formats data into messages (emails and long numbers are
	// masked). Off by default: it costs a regular-expression scan per record.
	Messages bool
}

// DefaultKeys are the key names redacted by default. A key whose normalised
// name contains one of DefaultKeyParts ("db_password", "githubToken") is
// redacted as well.
var DefaultKeys = []string{
	"password", "passwd", "pwd", "pass", "passphrase", "secret", "token", "api_key", "apikey", "api_secret",
	"access_token", "refresh_token", "id_token", "client_secret", "private_key", "secret_key",
	"authorization", "auth", "cookie", "set_cookie", "session", "session_id", "csrf", "xsrf",
	"credit_card", "card_number", "cc", "cc_number", "pan", "cvv", "cvv2", "cvc", "pin",
	"ssn", "national_id", "tax_id", "iban", "account_number", "otp",
}

// DefaultKeyParts redact any key whose normalised name contains them.
var DefaultKeyParts = []string{"password", "passwd", "secret", "token", "apikey", "privatekey", "creditcard", "cardnumber", "authorization", "cookie"}

var defaultRules = map[string]Rule{
	"email": Email, "email_address": Email, "phone": Phone, "phone_number": Phone, "mobile": Phone,
	"card_number": Card, "ssn": NationalID, "national_id": NationalID,
	"ip": IP, "ip_address": IP, "client_ip": IP, "remote_addr": IP,
	"full_name": Name, "first_name": Name, "last_name": Name,
}

// Masker masks values by key name. It is immutable and safe for concurrent
// use.
type Masker struct {
	rules    map[string]Rule // normalised key → rule (Redact for sensitive keys)
	parts    []string
	messages bool
}

// New returns a Masker for cfg.
func New(cfg Config) (*Masker, error) {
	m := &Masker{rules: map[string]Rule{}, messages: cfg.Messages}
	if !cfg.NoDefaults {
		for _, k := range DefaultKeys {
			m.rules[normalize(k)] = Redact
		}
		for k, r := range defaultRules {
			m.rules[normalize(k)] = r
		}
		m.parts = DefaultKeyParts
	}
	for i, k := range cfg.Keys {
		n := normalize(k)
		if n == "" {
			return nil, fmt.Errorf("mask: Config.Keys[%d] %q has no letters or digits", i, k)
		}
		m.rules[n] = Redact
	}
	for k, r := range cfg.Rules {
		n := normalize(k)
		if n == "" || r == nil {
			return nil, fmt.Errorf("mask: Config.Rules[%q] needs a key with letters or digits and a non-nil rule", k)
		}
		m.rules[n] = r
	}
	return m, nil
}

var defaultMasker, _ = New(Config{})

// Default returns the Masker with the default keys and rules.
func Default() *Masker { return defaultMasker }

// normalize lower-cases ASCII letters and drops everything but letters and
// digits, so key names compare case- and separator-insensitively.
func normalize(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 0x7F {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// RuleFor returns the rule for values under key, or nil if the key is not
// sensitive.
func (m *Masker) RuleFor(key string) Rule {
	n := normalize(key)
	if r, ok := m.rules[n]; ok {
		return r
	}
	for _, p := range m.parts {
		if strings.Contains(n, p) {
			return Redact
		}
	}
	return nil
}

// Map returns a masked deep copy of a decoded JSON object (or any
// map[string]any): values under sensitive keys are masked by their rule, at
// every depth, through nested maps and slices. A sensitive key holding a
// non-string (a number, an object) is replaced by "[REDACTED]" whole. The
// input is not modified.
func (m *Masker) Map(in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = m.Value(k, v)
	}
	return out
}

// Value masks v as stored under key, recursing into maps and slices.
func (m *Masker) Value(key string, v any) any {
	if r := m.RuleFor(key); r != nil {
		if s, ok := v.(string); ok {
			return r(s)
		}
		if v == nil {
			return nil
		}
		return Redacted
	}
	return m.nested(v)
}

func (m *Masker) nested(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return m.Map(x)
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, s := range x {
			if r := m.RuleFor(k); r != nil {
				s = r(s)
			}
			out[k] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.nested(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = m.Map(e)
		}
		return out
	}
	return v
}

// Map masks in with the default Masker.
func Map(in map[string]any) map[string]any { return defaultMasker.Map(in) }
