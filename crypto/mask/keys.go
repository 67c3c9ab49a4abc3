package mask

import (
	"fmt"
	"strings"
	"sync"
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
	// Classes maps key names to reveal classes, on top of (and overriding)
	// the default classes: a Policy shows the values under such a key in
	// clear to the roles that may see the class. By default email, phone,
	// name and IP keys are class "pii", card_number "card", ssn and
	// national_id "national_id"; passwords, tokens, secrets and the other
	// DefaultKeys have no class and are never shown.
	Classes map[string]string
	// NoDefaults drops the default keys, rules and classes: only Keys, Rules
	// and Classes apply.
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

// defaultClasses are the reveal classes of the default rules' keys.
var defaultClasses = map[string]string{
	"email": "pii", "email_address": "pii", "phone": "pii", "phone_number": "pii", "mobile": "pii",
	"ip": "pii", "ip_address": "pii", "client_ip": "pii", "remote_addr": "pii",
	"full_name": "pii", "first_name": "pii", "last_name": "pii",
	"card_number": "card", "ssn": "national_id", "national_id": "national_id",
}

// Masker masks values by key name: the keys of maps (http.Header,
// url.Values and decoded JSON included), the names of struct fields (their
// JSON names) and of log attributes, and the keys inside JSON held in
// []byte or json.RawMessage values; mask tags apply as in Struct. It is
// immutable and safe for concurrent use.
type Masker struct {
	rules    map[string]Rule   // normalised key → rule (Redact for sensitive keys)
	classes  map[string]string // normalised key → reveal class
	parts    []string
	messages bool
	inert    sync.Map // reflect.Type → bool: no rule of this Masker can change it
}

// New returns a Masker for cfg.
func New(cfg Config) (*Masker, error) {
	m := &Masker{rules: map[string]Rule{}, classes: map[string]string{}, messages: cfg.Messages}
	if !cfg.NoDefaults {
		for _, k := range DefaultKeys {
			m.rules[normalize(k)] = Redact
		}
		for k, r := range defaultRules {
			m.rules[normalize(k)] = r
		}
		for k, c := range defaultClasses {
			m.classes[normalize(k)] = c
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
	for k, c := range cfg.Classes {
		n := normalize(k)
		if n == "" || !validClass(c) {
			return nil, fmt.Errorf("mask: Config.Classes[%q] needs a key with letters or digits and a class of letters, digits, '-' and '_', got %q", k, c)
		}
		if m.rules[n] == nil {
			return nil, fmt.Errorf("mask: Config.Classes[%q]: the key has no rule (add it to Keys or Rules)", k)
		}
		m.classes[n] = c
	}
	return m, nil
}

var defaultMasker, _ = New(Config{})

// Default returns the Masker with the default keys and rules.
func Default() *Masker { return defaultMasker }

// normalize lower-cases ASCII letters and drops everything but letters and
// digits, so key names compare case- and separator-insensitively.
func normalize(k string) string {
	clean := true
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			clean = false
			break
		}
	}
	if clean {
		return k // already normalised: no allocation
	}
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
	r, _ := m.lookup(key)
	return r
}

// ClassOf returns the reveal class of values under key ("" for none: never
// shown in clear).
func (m *Masker) ClassOf(key string) string {
	_, c := m.lookup(key)
	return c
}

// ruleFor returns the masking of values under key, whether key is a name
// the Masker knows exactly (one of its keys or rules, not a key that only
// contains a sensitive part), which may then be shown in paths, and whether
// the key is sensitive at all.
func (m *Masker) ruleFor(key string) (rc ruleCtx, known, ok bool) {
	n := normalize(key)
	if r, ok := m.rules[n]; ok {
		return ruleCtx{rule: r, class: m.classes[n], keyed: true, id: n}, true, true
	}
	for _, p := range m.parts {
		if strings.Contains(n, p) {
			// Redact, whatever the exact key p has: an id no exact key
			// (letters and digits) can have.
			return ruleCtx{rule: Redact, keyed: true, id: "*"}, false, true
		}
	}
	return ruleCtx{}, false, false
}

func (m *Masker) lookup(key string) (Rule, string) {
	n := normalize(key)
	if r, ok := m.rules[n]; ok {
		return r, m.classes[n]
	}
	for _, p := range m.parts {
		if strings.Contains(n, p) {
			return Redact, ""
		}
	}
	return nil, ""
}

// Map returns a masked deep copy of a decoded JSON object (or any
// map[string]any): values under sensitive keys are masked by their rule, at
// every depth, through nested maps, slices, structs and the rest (see
// Value). A sensitive key holding a non-string (a number, json.Number
// included, or an object) is replaced by the string "[REDACTED]" whole. The
// input is not modified. A map Value would redact (a cycle, sharing that
// would expand it by more than 65 536 values) is {"map": "[REDACTED]"}.
func (m *Masker) Map(in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out, err := (&walker{keys: m, bounded: true}).value(in, "map")
	if err != nil {
		return map[string]any{"map": Redacted} // fail closed; unreachable for decoded JSON
	}
	return out.(map[string]any)
}

// Value returns v masked as stored under key: a string under a sensitive key
// by the key's rule, anything else under a sensitive key as "[REDACTED]"; a
// value under any other key is masked in a copy of its own type, by
// reflection through pointers, interfaces, structs (mask tags, field names,
// embedded structs), slices, arrays and maps (by key name: http.Header,
// url.Values, map[string][]string, map[string]T, map[any]T), with the JSON
// inside []byte and json.RawMessage values parsed, masked by key and
// re-marshalled, and other bytes redacted. What cannot be masked safely (a
// bad tag, an unexported field holding data to mask, a tagged map key the
// rule would change, a cycle, sharing that would expand the value by more
// than 65 536 values when written) makes the whole value "[REDACTED]": it
// fails closed, never passes data through.
func (m *Masker) Value(key string, v any) any {
	return (&walker{keys: m, bounded: true}).keyed(key, v)
}

// keyed masks v as stored under key.
func (w *walker) keyed(key string, v any) any {
	if v == nil {
		return nil
	}
	if r, class := w.keys.lookup(key); r != nil {
		if class != "" && w.reveal[class] {
			w.revealed = append(w.revealed, RevealedField{Path: key, Class: class})
		} else {
			if s, ok := v.(string); ok {
				return r(s)
			}
			return Redacted
		}
	}
	out, err := w.value(v, key)
	if err != nil {
		return Redacted
	}
	return out
}

// Map masks in with the default Masker.
func Map(in map[string]any) map[string]any { return defaultMasker.Map(in) }
