package mask

import "reflect"

// Struct returns a masked deep copy of v: every string field tagged
// `mask:"<rule>"` (email, phone, card, national_id, name, ip, text, redact)
// is replaced by the rule's output, in nested structs, pointers, slices,
// arrays, maps and interfaces too, and in the promoted fields of embedded
// structs, exported or not. v itself is never modified: every pointer, slice
// and map on the way is copied. A tag may name a reveal class after the
// rule (`mask:"email,reveal=pii"`), which View uses; Struct masks such
// fields like any other.
//
// A tag on a []string or *string applies to each string in it, and a tag
// on a struct to the strings inside it that have no tag of their own. A tag
// on a map applies to its values and its keys: keys cannot be masked in a
// copy (two could mask alike and merge), so a key the rule would change is
// an error, and keys it leaves as they are ("support" under text) are
// copied; "redact" sets a map to nil, keys and all. "redact" on a field of
// any other type (a number, a bool) sets it to its zero value.
//
// Struct fails closed: any other rule on a non-string field (json.Number
// included), an unknown rule name, a tag on an unexported field, an
// unexported field (or an embedded pointer to an unexported type) that
// holds tagged data, which reflection cannot write into a copy, a tagged
// map key the rule would change, a cycle, or more than 64 levels is an
// error naming the field (a map key is named "[key]"), and the returned
// copy is then the zero value. A pointer, map or slice reached more than
// once is copied once, and the copy shares it likewise.
//
// Struct applies tags only; a Masker (Masker.Value, Masker.Handler) also
// masks by key name: map keys, struct field names, and the JSON inside
// []byte and json.RawMessage values.
func Struct[T any](v T) (T, error) {
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	w := &walker{}
	if _, err := w.walk(dst, src, ruleCtx{}, src.Type().String(), 0); err != nil {
		var zero T
		return zero, err
	}
	return dst.Interface().(T), nil
}
