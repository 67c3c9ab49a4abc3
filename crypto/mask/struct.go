package mask

import (
	"fmt"
	"reflect"
)

// maxDepth bounds the recursion of Struct, so that a cyclic structure
// (a pointer back to a parent) returns an error instead of overflowing the
// stack.
const maxDepth = 64

// Struct returns a masked deep copy of v: every string field tagged
// `mask:"<rule>"` (email, phone, card, national_id, name, ip, text, redact)
// is replaced by the rule's output, in nested structs, pointers, slices,
// arrays, maps and interfaces too. v itself is never modified: every
// pointer, slice and map on the way is copied.
//
// A tag on a []string, map[...]string or *string applies to each string in
// it. "redact" on a field of any other type sets it to its zero value; any
// other rule on a non-string field, an unknown rule name, a tag on an
// unexported field, or a cycle deeper than 64 levels is an error naming the
// field, and the returned copy is then the zero value (fail closed).
func Struct[T any](v T) (T, error) {
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	if err := copyMasked(dst, src, nil, "", src.Type().String(), 0); err != nil {
		var zero T
		return zero, err
	}
	return dst.Interface().(T), nil
}

func copyMasked(dst, src reflect.Value, rule Rule, ruleName, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("mask: %s: deeper than %d levels (a cycle?)", path, maxDepth)
	}
	switch src.Kind() {
	case reflect.String:
		if rule != nil {
			dst.SetString(rule(src.String()))
		} else {
			dst.Set(src)
		}
	case reflect.Pointer:
		if src.IsNil() {
			return nil
		}
		p := reflect.New(src.Type().Elem())
		if err := copyMasked(p.Elem(), src.Elem(), rule, ruleName, path, depth+1); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return nil
		}
		inner := src.Elem()
		tmp := reflect.New(inner.Type()).Elem()
		if err := copyMasked(tmp, inner, rule, ruleName, path, depth+1); err != nil {
			return err
		}
		dst.Set(tmp)
	case reflect.Struct:
		dst.Set(src) // unexported fields are copied as they are
		t := src.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag, tagged := f.Tag.Lookup("mask")
			fpath := path + "." + f.Name
			if !f.IsExported() {
				if tagged {
					return fmt.Errorf("mask: %s: the mask tag is on an unexported field, which cannot be masked", fpath)
				}
				continue
			}
			r, name := rule, ruleName
			if tagged {
				var ok bool
				if r, ok = rules[tag]; !ok {
					return fmt.Errorf("mask: %s: unknown rule %q in tag", fpath, tag)
				}
				name = tag
			}
			if err := copyMasked(dst.Field(i), src.Field(i), r, name, fpath, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return nil
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			if err := copyMasked(s.Index(i), src.Index(i), rule, ruleName, path, depth+1); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			if err := copyMasked(dst.Index(i), src.Index(i), rule, ruleName, path, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if src.IsNil() {
			return nil
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			tmp := reflect.New(src.Type().Elem()).Elem()
			if err := copyMasked(tmp, it.Value(), rule, ruleName, path, depth+1); err != nil {
				return err
			}
			m.SetMapIndex(it.Key(), tmp)
		}
		dst.Set(m)
	default:
		switch {
		case rule == nil:
			dst.Set(src)
		case ruleName == "redact":
			dst.SetZero()
		default:
			return fmt.Errorf("mask: %s: rule %q applies to strings, not %s", path, ruleName, src.Type())
		}
	}
	return nil
}
