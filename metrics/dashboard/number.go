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

// Valid reports whether n holds a finite value.
func (n Number) Valid() bool { f := float64(n); return !math.IsNaN(f) && !math.IsInf(f, 0) }

var nan = math.NaN()
