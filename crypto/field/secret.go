package field

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
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
//
// When T is a slice (a key as []byte), NewSecret keeps a copy of it and
// Reveal returns a new copy on every call: a caller that clears what Reveal
// returned (as it should, once done) or keeps writing to the slice it passed
// to NewSecret can never change or wipe the key that the Secret, and every
// Ring or index built from it, holds. Elements are copied shallowly; maps
// and pointers are not copied.
type Secret[T any] struct {
	reveal func() T
}

// NewSecret wraps v (a copy of v, when v is a slice).
func NewSecret[T any](v T) Secret[T] {
	v = cloneSlice(v)
	return Secret[T]{reveal: func() T { return cloneSlice(v) }}
}

// Reveal returns the wrapped value (a fresh copy, when it is a slice). Call
// it only where the value is used, never to log or print it.
func (s Secret[T]) Reveal() T {
	if s.reveal == nil {
		var zero T
		return zero
	}
	return s.reveal()
}

// cloneSlice returns a copy of v if it is a non-nil slice, else v.
func cloneSlice[T any](v T) T {
	if b, ok := any(v).([]byte); ok {
		if b == nil {
			return v
		}
		return any(bytes.Clone(b)).(T)
	}
	rv := reflect.ValueOf(&v).Elem()
	if rv.Kind() != reflect.Slice || rv.IsNil() {
		return v
	}
	c := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
	reflect.Copy(c, rv)
	return c.Interface().(T)
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
