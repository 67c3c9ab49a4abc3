package dashboard

import (
	"math"
	"strconv"
)

// Number is a float64 that encodes to JSON as null when it is not a finite
// number (no data, or a ratio of nothing), instead of failing the encoding.
type Number float64

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// History is a time series aligned with Snapshot.Times. It encodes in one
// buffer, as an array of numbers and nulls.
type History []Number

// MarshalJSON implements json.Marshaler.
func (h History) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2+len(h)*8)
	b = append(b, '[')
	for i, n := range h {
		if i > 0 {
			b = append(b, ',')
		}
		if f := float64(n); math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// Valid reports whether n holds a finite value.
func (n Number) Valid() bool { f := float64(n); return !math.IsNaN(f) && !math.IsInf(f, 0) }

var nan = math.NaN()
