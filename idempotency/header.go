package idempotency

import (
	"fmt"
	"net/http"
	"strings"
)

// HeaderName is the request header field defined by the IETF httpapi draft
// "The Idempotency-Key HTTP Header Field".
const HeaderName = "Idempotency-Key"

// ReplayedHeader marks a response that was replayed from a stored outcome
// rather than produced by running the handler (the name Stripe and others
// use; the draft defines none).
const ReplayedHeader = "Idempotent-Replayed"

// StatusClientClosedRequest (499, nginx's convention) is what a handler
// answers when its client closed the request before the outcome was known.
// Like a 5xx it releases the key: the client never saw an outcome, so its
// retry must run, not replay the 499.
const StatusClientClosedRequest = 499

// ParseKey extracts the idempotency key from the Idempotency-Key field
// values of a request (http.Header.Values). It returns ("", false, nil)
// when the field is absent.
//
// The draft defines the field as a Structured Field Item whose value is a
// String (RFC 9651): `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`.
// Because most clients in the wild send the key bare, as Stripe documents
// it, an unquoted value is accepted too. Accepted, after trimming spaces
// and tabs:
//
//   - an sf-string: DQUOTE, printable ASCII (0x20–0x7E) with `\"` and `\\`
//     as the only escapes, DQUOTE; nothing may follow it (parameters are
//     not defined by the draft and are rejected);
//   - a bare key: visible ASCII (0x21–0x7E) except DQUOTE, backslash,
//     comma and semicolon.
//
// The key (after unescaping) must be 1 to MaxKeyLength characters. The field
// must appear once: several lines, or a comma-separated list, are rejected,
// since a list has no single key. Errors wrap ErrInvalidKey and say what is
// wrong without echoing the value.
func ParseKey(values []string) (key string, present bool, err error) {
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, fmt.Errorf("%w: %s appears %d times, want once", ErrInvalidKey, HeaderName, len(values))
	}
	v := strings.Trim(values[0], " \t")
	if v == "" {
		return "", true, fmt.Errorf("%w: %s is empty", ErrInvalidKey, HeaderName)
	}
	if v[0] == '"' {
		key, err = parseSFString(v)
	} else {
		key, err = parseBareKey(v)
	}
	if err != nil {
		return "", true, err
	}
	if len(key) == 0 {
		return "", true, fmt.Errorf("%w: %s is an empty string", ErrInvalidKey, HeaderName)
	}
	if len(key) > MaxKeyLength {
		return "", true, fmt.Errorf("%w: %s is %d characters, more than %d", ErrInvalidKey, HeaderName, len(key), MaxKeyLength)
	}
	return key, true, nil
}

// KeyFromRequest is ParseKey on r's Idempotency-Key field.
func KeyFromRequest(r *http.Request) (key string, present bool, err error) {
	return ParseKey(r.Header.Values(HeaderName))
}

// parseSFString parses an RFC 9651 sf-string that must span all of v.
func parseSFString(v string) (string, error) {
	// Fast path: no escapes, the usual case, returns a substring.
	end := -1
	escaped := false
	for i := 1; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			escaped = true
			i++
			continue
		}
		if c == '"' {
			end = i
			break
		}
	}
	if end < 0 {
		return "", fmt.Errorf("%w: %s string has no closing quote", ErrInvalidKey, HeaderName)
	}
	if end != len(v)-1 {
		return "", fmt.Errorf("%w: %s has characters after the closing quote (parameters are not accepted)", ErrInvalidKey, HeaderName)
	}
	body := v[1:end]
	if !escaped {
		for i := 0; i < len(body); i++ {
			if c := body[i]; c < 0x20 || c > 0x7e {
				return "", fmt.Errorf("%w: %s string has a byte 0x%02x outside printable ASCII at offset %d", ErrInvalidKey, HeaderName, c, i+1)
			}
		}
		return body, nil
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\':
			if i+1 >= len(body) || (body[i+1] != '"' && body[i+1] != '\\') {
				return "", fmt.Errorf("%w: %s string has an invalid escape at offset %d (only \\\" and \\\\ are allowed)", ErrInvalidKey, HeaderName, i+1)
			}
			i++
			b.WriteByte(body[i])
		case c < 0x20 || c > 0x7e:
			return "", fmt.Errorf("%w: %s string has a byte 0x%02x outside printable ASCII at offset %d", ErrInvalidKey, HeaderName, c, i+1)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// parseBareKey accepts an unquoted key (a Stripe-style value such as a bare
// UUID, which is not a valid sf-token because it may start with a digit).
func parseBareKey(v string) (string, error) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ',':
			return "", fmt.Errorf("%w: %s must hold one key, not a list", ErrInvalidKey, HeaderName)
		case c == ';':
			return "", fmt.Errorf("%w: %s has parameters, which are not accepted", ErrInvalidKey, HeaderName)
		case c == '"' || c == '\\':
			return "", fmt.Errorf("%w: %s bare key has a quote or backslash at offset %d (quote the whole key as a string)", ErrInvalidKey, HeaderName, i)
		case c < 0x21 || c > 0x7e:
			return "", fmt.Errorf("%w: %s has a byte 0x%02x that is not visible ASCII at offset %d", ErrInvalidKey, HeaderName, c, i)
		}
	}
	return v, nil
}
