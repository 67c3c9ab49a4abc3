// Package mask hides personal data where it must be shown or logged: staff
// without the PII permission see "j***@example.com", logs never receive a
// password, a token or a card number.
//
// Rules mask one value each: Email, Phone, Card (at most the first six and
// last four digits, as PCI DSS allows), NationalID, Name, IP, Text (emails
// and long numbers inside free text) and Redact. Every rule documents what it
// keeps; rules pad with a fixed "***" so that the output does not reveal the
// original length where that would matter, and input a rule cannot make
// sense of is redacted whole, never passed through.
//
// Struct returns a masked deep copy of a value whose fields carry tags:
//
//	type Customer struct {
//		Email string `mask:"email"`
//		Phone string `mask:"phone"`
//	}
//	shown, err := mask.Struct(customer) // customer itself is unchanged
//
// A Masker masks by key name as well: map keys (decoded JSON, http.Header,
// url.Values, map[string][]string, map[string]T, and map[any]T as YAML
// decoders produce it, whose string keys are looked up), struct field names
// (their JSON names), log attribute keys and group names, and the keys of
// JSON held in []byte and json.RawMessage values. Value and Map mask one value; for log/slog use
// Handler, which wraps any handler, or ReplaceAttr for slog.HandlerOptions.
// Key names are compared case- and separator-insensitively ("API-Key" =
// "api_key" = "apiKey"); the defaults (DefaultKeys, DefaultKeyParts) cover
// passwords, secrets, tokens, API keys, cookies, card numbers, SSNs and the
// like, and Config adds more.
//
// # Masking by access level
//
// A Policy decides who sees what in clear. A tag may give a field a reveal
// class (`mask:"email,reveal=pii"`), Config.Classes gives key names one (by
// default email, phone, name and IP keys are "pii"), and
// PolicyConfig.Reveal maps roles (or access levels) to the classes they see
// in clear. View masks a struct for the role in the context (WithRole),
// Policy.Map a map, Policy.Handler a log read by a given role; each reports
// what it showed in clear, and to whom, to PolicyConfig.Audit (a log: with
// every record, the attributes added with Logger.With included). A field
// without a class (passwords, tokens, `mask:"redact"`) is never shown. The
// paths in audit records and in errors never hold a map key, which can be
// personal data: "[key]" stands for it, unless it is a key name the Masker
// knows ("map.[key].email").
//
// # Guarantees
//
// Rules, Maskers and Policies are safe for concurrent use and never panic on
// any input. Struct, View, Value and Map never modify their input (Struct,
// View and Map return deep copies).
//
// Masking goes by reflection through pointers, interfaces, structs
// (embedded ones too: tagged fields promoted from an embedded struct of an
// unexported type are masked), slices, arrays and maps, to a depth of 64.
// A pointer, map or slice reached more than once is copied once and its
// copy reused, so the work is linear in the distinct values and the copy
// shares what the input shares. A log handler writes a shared value once per
// path, though: for the slog integration, Value and Map, a value whose
// sharing would add more than 65 536 values to what is written is
// "[REDACTED]" whole. JSON in []byte and json.RawMessage values (up to
// 1 MiB) is parsed and masked by key, and the masked copy, re-marshalled, is
// what is shown (never the original bytes: a member repeated with an empty
// last copy would keep the first in them); with a Masker, bytes that are not
// JSON are redacted.
//
// It fails closed: what cannot be masked is never passed through. Struct
// and View return the zero value and an error naming the field for an
// unknown rule or tag option, a rule other than redact on a non-string, a
// tag on an unexported field, an unexported field (or embedded pointer to
// an unexported type) holding data its tags or key names would mask —
// reflection can read such a field but cannot write it into a copy, and fmt's
// %+v would print it — a tagged map whose key the rule would change (keys
// cannot be masked in a copy: two could mask alike and merge), or a cycle;
// Value, Map and the slog integration log such a value as "[REDACTED]". A
// sensitive key holding a non-string (a json.Number included) is
// "[REDACTED]" whole, as a string; a map under a sensitive key or the redact
// rule is nil, keys included. A log group named by a sensitive key is
// "[REDACTED]" whole (slog.Group), or has every attribute in it redacted
// (Logger.WithGroup, and the members ReplaceAttr sees in such a group).
//
// What is not covered: strings are masked by their key or tag, never by
// their content (except log messages with Config.Messages, through Text);
// data under a key that is not sensitive, in a field without a tag, is
// shown; a type whose MarshalJSON or String method prints data from its
// unexported fields prints what it prints. Email makes at most one
// allocation. Log messages are masked (with Text) only when Config.Messages
// asks for it: put data in attributes.
package mask
