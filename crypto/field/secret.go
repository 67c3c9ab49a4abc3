package field

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as, whatever the verb or encoder.
const Redacted = "[REDACTED]"

// Secret holds a key or a plaintext so that it cannot be printed by
// accident: fmt (every verb, including %v, %+v, %#v, %s and %q), log/slog,
// encoding/json and encoding.TextMarshaler users all see "[REDACTED]". Only
// Reveal returns the value.
//
// The value is held by a closure, which reflection cannot look into: even
// reflection-based printing of a struct holding a Secret in an unexported
// field (where fmt cannot call methods) shows a function address, not the
// value. The zero Secret holds the zero value of T.
type Secret[T any] struct {
	reveal func() T
}

// NewSecret wraps v.
func NewSecret[T any](v T) Secret[T] { return Secret[T]{reveal: func() T { return v }} }

// Reveal returns the wrapped value. Call it only where the value is used,
// never to log or print it.
func (s Secret[T]) Reveal() T {
	if s.reveal == nil {
		var zero T
		return zero
	}
	return s.reveal()
}

// IsZero reports whether the Secret was never set.
func (s Secret[T]) IsZero() bool { return s.reveal == nil }

// String returns "[REDACTED]".
func (s Secret[T]) String() string { return Redacted }

// GoString returns "[REDACTED]", so %#v hides the value too.
func (s Secret[T]) GoString() string { return Redacted }

// Format writes "[REDACTED]" for every verb and flag.
func (s Secret[T]) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue makes log/slog print "[REDACTED]".
func (s Secret[T]) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the Secret as the JSON string "[REDACTED]".
func (s Secret[T]) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the Secret as "[REDACTED]" for text encoders.
func (s Secret[T]) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
