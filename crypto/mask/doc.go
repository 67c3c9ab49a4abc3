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
// A Masker masks by key name instead: Map for decoded JSON
// (map[string]any, nested), and for log/slog either Handler, which wraps any
// handler, or ReplaceAttr for slog.HandlerOptions. Key names are compared
// case- and separator-insensitively ("API-Key" = "api_key" = "apiKey"); the
// defaults (DefaultKeys, DefaultKeyParts) cover passwords, secrets, tokens,
// API keys, cookies, card numbers, SSNs and the like, and Config adds more.
//
// # Guarantees
//
// Rules and Maskers are safe for concurrent use and never panic on any
// input. Struct and Map never modify their input. Struct fails closed: on an
// unknown rule, a tag on an unexported field or a cycle it returns the zero
// value and an error naming the field, and the slog integration logs such a
// value as "[REDACTED]". Email makes at most one allocation. Log messages are
// masked (with Text) only when Config.Messages asks for it: put data in
// attributes.
package mask
