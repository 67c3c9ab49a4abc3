package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// maxDepth bounds the recursion of the walk, so that a cyclic structure
// (a pointer back to a parent) returns an error instead of overflowing the
// stack.
const maxDepth = 64

// maxJSONBytes bounds the []byte and json.RawMessage values whose JSON is
// parsed to be masked by key name; larger ones are redacted whole.
const maxJSONBytes = 1 << 20

// maxSharedExpansion bounds, for masked values that are written out (logs,
// Masker.Value and Map), how many values reaching already-copied pointers,
// maps and slices again may add: a writer expands each shared value once per
// path, so a chain of n nodes whose two children are one node would be
// written 2^n times. Beyond it the value is redacted whole.
const maxSharedExpansion = 1 << 16

// keyPlaceholder stands for a map key in paths (audit records, errors): a
// key can be personal data ("ann@example.com"). Only key names the Masker
// knows ("email") are shown.
const keyPlaceholder = "[key]"

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	jsonNumberType = reflect.TypeFor[json.Number]()
)

// ruleCtx is the masking that applies to a value: the rule of a tag (and
// the value's reveal class), the rule of the key it is stored under, or
// none.
type ruleCtx struct {
	rule  Rule
	name  string // the tag's rule name, for errors; "" for a key rule
	class string // reveal class, "" for none (never revealed)
	keyed bool   // from a key name: a value the rule cannot mask is redacted whole
	// id names where the rule comes from (with keyed: the tag, or the
	// normalised key, or "*" for a key that contains a sensitive part), so
	// that copies made under one rule are reused under the same rule only.
	// Rules are functions, which cannot be compared.
	id string
}

// walker makes masked copies of values by reflection: through pointers,
// interfaces, structs (embedded ones too), slices, arrays and maps, applying
// mask tags and, with a Masker, key-name rules to map keys and struct field
// names, and masking the JSON inside []byte and json.RawMessage values. It
// fails closed: what it cannot mask in a copy is an error, which the callers
// turn into "[REDACTED]" or a zero value.
type walker struct {
	keys     *Masker         // nil: mask tags only (Struct)
	reveal   map[string]bool // classes shown in clear (a Policy's role); nil: none
	share    bool            // values that no rule can change are shared, not copied (logs)
	bounded  bool            // the result is written out expanded: bound what sharing adds (maxSharedExpansion)
	revealed []RevealedField // what was shown in clear

	// Pointers, maps and slices already copied, by address, type and rule:
	// a value reached again is not walked again, its copy is reused (and
	// one still being copied is a cycle). This keeps the walk linear in the
	// distinct values however much they are shared.
	first    copyKey // the first remembered, kept apart: most values have at most one
	firstVal copied
	copies   map[copyKey]copied // the others
	visits   int                // values walked
	// expanded counts the values a writer of the result would see: each
	// visit, and for each reuse of a copy, the values it stands for.
	expanded uint64
}

// copyKey identifies a pointer, map or slice under a rule.
type copyKey struct {
	ptr   uintptr
	n     int // a slice's length
	typ   reflect.Type
	rule  string // ruleCtx.id
	keyed bool   // ruleCtx.keyed: a tag and a key of the same name are different rules
	probe bool   // computed only whether masking changes it
}

type copied struct {
	v       reflect.Value // the copy; invalid while in progress or for a probe
	done    bool
	changed bool
	size    uint64 // values the copy stands for, expanded
}

// value returns a masked copy of v (v itself if nothing can change it and
// the walker shares).
func (w *walker) value(v any, path string) (any, error) {
	if v == nil {
		return nil, nil
	}
	src := reflect.ValueOf(v)
	if w.share && w.inert(src.Type()) {
		return v, nil
	}
	dst := reflect.New(src.Type()).Elem()
	if _, err := w.walk(dst, src, ruleCtx{}, path, 0); err != nil {
		return nil, err
	}
	return dst.Interface(), nil
}

// shared returns the key under which a copy of src (a pointer, map or
// slice) made under rc can be reused, and false for values not worth
// remembering: nil or empty ones, and those whose elements hold no
// references. Such a value is a leaf: reaching it again costs its own size
// once per parent, and its parents, which hold references, are remembered;
// nor can it be part of a cycle.
func shared(dst, src reflect.Value, rc ruleCtx) (copyKey, bool) {
	t := src.Type()
	k := copyKey{typ: t, rule: rc.id, keyed: rc.keyed, probe: !dst.IsValid()}
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() || !hasReferences(t.Elem()) {
			return k, false
		}
	case reflect.Map:
		if src.IsNil() || !hasReferences(t.Key()) && !hasReferences(t.Elem()) {
			return k, false
		}
	case reflect.Slice:
		if src.Len() == 0 || !hasReferences(t.Elem()) {
			return k, false
		}
		k.n = src.Len()
	default:
		return k, false
	}
	k.ptr = uintptr(src.UnsafePointer())
	return k, true
}

// walk copies src into dst, masking on the way, and reports whether masking
// hid anything of src. A zero dst means probe: compute only whether
// masking would change src, for values that cannot be written (unexported
// fields), which reflection can read but not copy. dst, when valid, is
// either settable or an embedded struct whose exported fields are (the
// enclosing struct was copied whole before).
func (w *walker) walk(dst, src reflect.Value, rc ruleCtx, path string, depth int) (bool, error) {
	if depth > maxDepth {
		return false, fmt.Errorf("mask: %s: deeper than %d levels", path, maxDepth)
	}
	if rc.rule != nil && rc.class != "" && w.reveal[rc.class] {
		if !src.IsZero() {
			w.revealed = append(w.revealed, RevealedField{Path: path, Class: rc.class})
		}
		rc = ruleCtx{} // shown in clear; rules inside (tags, keys) still apply
	}
	if rc.rule == nil && w.inert(src.Type()) {
		if !dst.IsValid() {
			return false, nil
		}
		if w.share || !hasReferences(src.Type()) {
			if dst.CanSet() {
				dst.Set(src)
			}
			return false, nil
		}
		// A deep copy is promised: walk the pointers, slices and maps.
	}
	key, isShared := shared(dst, src, rc)
	if !isShared {
		return w.walkValue(dst, src, rc, path, depth)
	}
	if c, ok := w.copy(key); ok {
		if !c.done {
			return false, fmt.Errorf("mask: %s: a cycle (a value that holds itself) cannot be masked", path)
		}
		w.expanded = satAdd(w.expanded, c.size)
		if w.bounded && w.expanded-uint64(w.visits) > maxSharedExpansion {
			return false, fmt.Errorf("mask: %s: shared values would expand to more than %d more values", path, maxSharedExpansion)
		}
		if dst.IsValid() && c.v.IsValid() {
			dst.Set(c.v)
		}
		return c.changed, nil
	}
	w.remember(key, copied{}) // in progress: reaching it again is a cycle
	before := w.expanded
	changed, err := w.walkValue(dst, src, rc, path, depth)
	if err != nil {
		return false, err
	}
	c := copied{done: true, changed: changed, size: w.expanded - before}
	if dst.IsValid() {
		c.v = dst
	}
	w.remember(key, c)
	return changed, nil
}

func (w *walker) copy(k copyKey) (copied, bool) {
	if w.first.typ != nil && w.first == k {
		return w.firstVal, true
	}
	c, ok := w.copies[k]
	return c, ok
}

func (w *walker) remember(k copyKey, c copied) {
	switch {
	case w.first.typ == nil || w.first == k:
		w.first, w.firstVal = k, c
	default:
		if w.copies == nil {
			w.copies = map[copyKey]copied{}
		}
		w.copies[k] = c
	}
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// walkValue is walk for one value, once it is known not to be a copy to
// reuse.
func (w *walker) walkValue(dst, src reflect.Value, rc ruleCtx, path string, depth int) (bool, error) {
	w.visits++
	w.expanded++
	kind := src.Kind()
	if src.Type() == jsonNumberType {
		kind = reflect.Float64 // a number, though its kind is string
	}
	switch kind {
	case reflect.String:
		s := src.String()
		out := s
		if rc.rule != nil {
			out = rc.rule(s)
		}
		if dst.IsValid() {
			dst.SetString(out)
		}
		// "Changed" means masking hid something: an empty string reveals
		// nothing, whatever the rule writes in its place.
		return out != s && s != "", nil
	case reflect.Pointer:
		if src.IsNil() {
			return false, nil
		}
		var p, elem reflect.Value
		if dst.IsValid() {
			p = reflect.New(src.Type().Elem())
			elem = p.Elem()
		}
		changed, err := w.walk(elem, src.Elem(), rc, path, depth+1)
		if dst.IsValid() {
			dst.Set(p)
		}
		return changed, err
	case reflect.Interface:
		if src.IsNil() {
			return false, nil
		}
		inner := src.Elem()
		if rc.rule != nil && rc.keyed && (inner.Kind() != reflect.String || inner.Type() == jsonNumberType) {
			// A sensitive key holding a number or an object: redacted whole,
			// as a string (a json.Number cannot hold "[REDACTED]").
			if dst.IsValid() {
				if redacted := reflect.ValueOf(Redacted); redacted.Type().AssignableTo(dst.Type()) {
					dst.Set(redacted)
				} else {
					dst.SetZero()
				}
			}
			return true, nil
		}
		var tmp reflect.Value
		if dst.IsValid() {
			tmp = reflect.New(inner.Type()).Elem()
		}
		changed, err := w.walk(tmp, inner, rc, path, depth+1)
		if dst.IsValid() && err == nil {
			dst.Set(tmp)
		}
		return changed, err
	case reflect.Struct:
		return w.walkStruct(dst, src, rc, path, depth)
	case reflect.Slice:
		if src.IsNil() {
			if dst.IsValid() && dst.CanSet() {
				dst.SetZero()
			}
			return false, nil
		}
		if src.Type().Elem().Kind() == reflect.Uint8 {
			return w.walkBytes(dst, src, rc, path, depth)
		}
		var out reflect.Value
		if dst.IsValid() {
			out = reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		}
		changed := false
		for i := range src.Len() {
			var d reflect.Value
			if out.IsValid() {
				d = out.Index(i)
			}
			c, err := w.walk(d, src.Index(i), rc, path, depth+1)
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
		if dst.IsValid() {
			dst.Set(out)
		}
		return changed, nil
	case reflect.Array:
		changed := false
		for i := range src.Len() {
			var d reflect.Value
			if dst.IsValid() {
				d = dst.Index(i)
			}
			c, err := w.walk(d, src.Index(i), rc, path, depth+1)
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
		return changed, nil
	case reflect.Map:
		return w.walkMap(dst, src, rc, path, depth)
	}
	// Numbers, booleans, channels, functions.
	switch {
	case rc.rule == nil:
		if dst.IsValid() {
			dst.Set(src)
		}
		return false, nil
	case rc.keyed || rc.name == "redact":
		if dst.IsValid() {
			dst.SetZero()
		}
		return !src.IsZero(), nil
	}
	return false, fmt.Errorf("mask: %s: rule %q applies to strings, not %s", path, rc.name, src.Type())
}

func (w *walker) walkStruct(dst, src reflect.Value, rc ruleCtx, path string, depth int) (bool, error) {
	if rc.rule != nil && rc.keyed {
		// A sensitive key holding an object: nothing of it is shown.
		if dst.IsValid() && dst.CanSet() {
			dst.SetZero()
		}
		return !src.IsZero(), nil
	}
	if dst.IsValid() && dst.CanSet() {
		dst.Set(src) // unexported fields are copied as they are (checked below)
	}
	t := src.Type()
	changed := false
	for i := range t.NumField() {
		f := t.Field(i)
		fpath := path + "." + f.Name
		tag, tagged := f.Tag.Lookup("mask")
		frc := rc // a tag on a struct applies to the strings inside
		if tagged {
			var err error
			if frc, err = parseTag(tag); err != nil {
				return false, fmt.Errorf("mask: %s: %v", fpath, err)
			}
		} else if w.keys != nil && !f.Anonymous {
			if krc, _, ok := w.keys.ruleFor(fieldKey(f)); ok {
				frc = krc
			}
		}
		var d reflect.Value
		switch {
		case f.IsExported():
			if dst.IsValid() {
				d = dst.Field(i)
			}
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			// An embedded struct of an unexported type: its exported
			// fields are promoted (encoding/json shows them) and can be
			// set through it.
			if dst.IsValid() {
				d = dst.Field(i)
			}
		case tagged:
			return false, fmt.Errorf("mask: %s: the mask tag is on an unexported field, which cannot be masked", fpath)
		default:
			// Unexported (or an embedded pointer to an unexported type):
			// reflection cannot write it, so it is only probed, and data
			// that masking would change is an error, never passed through.
			c, err := w.walk(reflect.Value{}, src.Field(i), frc, fpath, depth+1)
			if err != nil {
				return false, err
			}
			if c {
				return false, fmt.Errorf("mask: %s: unexported field holds data that must be masked, which a copy cannot do; export the field or keep such data out of it", fpath)
			}
			continue
		}
		c, err := w.walk(d, src.Field(i), frc, fpath, depth+1)
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	return changed, nil
}

func (w *walker) walkMap(dst, src reflect.Value, rc ruleCtx, path string, depth int) (bool, error) {
	if src.IsNil() {
		if dst.IsValid() && dst.CanSet() {
			dst.SetZero()
		}
		return false, nil
	}
	if rc.rule != nil && (rc.keyed || rc.name == "redact") {
		// A sensitive key or redact holding a map: nothing of it is shown,
		// keys included.
		if dst.IsValid() && dst.CanSet() {
			dst.SetZero()
		}
		return src.Len() > 0, nil
	}
	t := src.Type()
	if k := t.Key().Kind(); k != reflect.String && !w.inert(t.Key()) {
		// Keys that are not strings (structs, interfaces holding them) are
		// not masked: they must hold nothing to mask.
		if c, err := w.probeKeys(src, path, depth); err != nil || c {
			if err == nil {
				err = fmt.Errorf("mask: %s: map keys of type %s hold data that must be masked; keys cannot be masked", path, t.Key())
			}
			return false, err
		}
	}
	var out reflect.Value
	if dst.IsValid() {
		out = reflect.MakeMapWithSize(t, src.Len())
	}
	changed := false
	it := src.MapRange()
	for it.Next() {
		vrc, seg := rc, keyPlaceholder
		if name, ok := keyName(it.Key()); ok {
			if rc.rule != nil && name != "" && rc.rule(name) != name {
				// A tag's rule applies to the keys too, and a key cannot
				// be masked in a copy: two keys could mask alike and merge.
				return false, fmt.Errorf("mask: %s: rule %q would change a map key, and map keys cannot be masked; key the map by data that is not personal, or tag it redact", path, rc.name)
			}
			if w.keys != nil {
				if krc, known, ok := w.keys.ruleFor(name); ok {
					vrc = krc
					if known {
						seg = name
					}
				}
			}
		}
		var d reflect.Value
		if out.IsValid() {
			d = reflect.New(t.Elem()).Elem()
		}
		c, err := w.walk(d, it.Value(), vrc, path+"."+seg, depth+1)
		if err != nil {
			return false, err
		}
		changed = changed || c
		if out.IsValid() {
			out.SetMapIndex(it.Key(), d)
		}
	}
	if dst.IsValid() {
		dst.Set(out)
	}
	return changed, nil
}

// keyName returns a map key's name: the key if it is a string (of any
// string type), or the string an interface key holds.
func keyName(k reflect.Value) (string, bool) {
	if k.Kind() == reflect.Interface {
		if k.IsNil() {
			return "", false
		}
		k = k.Elem()
	}
	if k.Kind() != reflect.String || k.Type() == jsonNumberType {
		return "", false
	}
	return k.String(), true
}

func (w *walker) probeKeys(src reflect.Value, path string, depth int) (bool, error) {
	it := src.MapRange()
	for it.Next() {
		c, err := w.walk(reflect.Value{}, it.Key(), ruleCtx{}, path, depth+1)
		if err != nil || c {
			return c, err
		}
	}
	return false, nil
}

// walkBytes masks a []byte (or json.RawMessage, or another byte slice type).
// Under a rule the bytes are masked as a string (as a JSON string for a
// RawMessage, so that it stays valid JSON). With key-name rules, JSON inside
// is parsed and masked by key, and anything else is redacted: bytes are
// opaque, and a token or password in them would reach the log as base64.
func (w *walker) walkBytes(dst, src reflect.Value, rc ruleCtx, path string, depth int) (bool, error) {
	b := src.Bytes()
	raw := src.Type() == rawMessageType
	var out []byte
	changed := false
	switch {
	case rc.rule != nil && raw:
		// A JSON string is masked as a string; any other JSON is redacted
		// whole. Either way the result is a JSON string.
		var s string
		if err := json.Unmarshal(b, &s); err == nil {
			out, _ = json.Marshal(rc.rule(s)) // a string always marshals
		} else {
			out = []byte(`"` + Redacted + `"`)
		}
		changed = !bytes.Equal(out, b)
	case rc.rule != nil:
		s := rc.rule(string(b))
		changed, out = s != string(b), []byte(s)
	case w.keys == nil || len(b) == 0:
		out = bytes.Clone(b)
	default:
		masked, c, err := w.maskJSON(b, path, depth)
		if err != nil {
			changed = true // not JSON, too large, or unmaskable inside: redacted whole
			out = []byte(Redacted)
			if raw {
				out = []byte(`"` + Redacted + `"`)
			}
			break
		}
		// Always the masked copy, never the original bytes: a member
		// repeated with an empty or null last copy decodes to a value that
		// hides nothing, while the bytes still hold the first copy.
		out = masked
		changed = c || !bytes.Equal(masked, b)
	}
	if dst.IsValid() {
		v := reflect.New(src.Type()).Elem()
		v.SetBytes(out)
		dst.Set(v)
	}
	return changed, nil
}

// maskJSON parses b as one JSON value, masks it by key name and marshals
// the masked copy. It reports whether masking hid anything; an error means
// b is not JSON, is too large, or holds something that cannot be masked.
func (w *walker) maskJSON(b []byte, path string, depth int) ([]byte, bool, error) {
	if len(b) > maxJSONBytes {
		return nil, false, fmt.Errorf("mask: %s: %d bytes of JSON, more than %d", path, len(b), maxJSONBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, fmt.Errorf("mask: %s: data after the JSON value", path)
	}
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	changed, err := w.walk(dst, src, ruleCtx{}, path, depth+1)
	if err != nil {
		return nil, false, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dst.Interface()); err != nil {
		return nil, false, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), changed, nil
}

// fieldKey is the key name of a struct field for key-name rules: its JSON
// name when it has one, else its Go name.
func fieldKey(f reflect.StructField) string {
	if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
		return name
	}
	return f.Name
}

// parseTag reads a mask tag: a rule name, optionally followed by
// ",reveal=<class>".
func parseTag(tag string) (ruleCtx, error) {
	name, opts, _ := strings.Cut(tag, ",")
	r, ok := rules[name]
	if !ok {
		return ruleCtx{}, fmt.Errorf("unknown rule %q in tag", name)
	}
	rc := ruleCtx{rule: r, name: name, id: tag}
	for opts != "" {
		var opt string
		opt, opts, _ = strings.Cut(opts, ",")
		k, v, ok := strings.Cut(opt, "=")
		if !ok || k != "reveal" || !validClass(v) {
			return ruleCtx{}, fmt.Errorf("tag option %q: want reveal=<class>, a class of letters, digits, '-' and '_'", opt)
		}
		if rc.class != "" {
			return ruleCtx{}, fmt.Errorf("tag %q has two reveal classes", tag)
		}
		rc.class = v
	}
	return rc, nil
}

func validClass(c string) bool {
	if c == "" || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// tagsInert remembers, per type, whether a mask tag can change its values
// (for Struct); each Masker keeps its own cache, since its key names decide
// too.
var tagsInert sync.Map // reflect.Type → bool

// inert reports whether no masking can change a value of type t: no mask
// tag at any depth and, with key-name rules, no map with string keys, no
// interface, no byte slice and no struct field whose name is a sensitive
// key. Such values are copied without a walk.
func (w *walker) inert(t reflect.Type) bool {
	cache := &tagsInert
	if w.keys != nil {
		cache = &w.keys.inert
	}
	if v, ok := cache.Load(t); ok {
		return v.(bool)
	}
	v := w.computeInert(t, map[reflect.Type]bool{})
	cache.Store(t, v)
	return v
}

func (w *walker) computeInert(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true // a recursive type: decided where it started
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Array:
		return w.computeInert(t.Elem(), seen)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return w.keys == nil
		}
		return w.computeInert(t.Elem(), seen)
	case reflect.Map:
		if w.keys != nil && (t.Key().Kind() == reflect.String || t.Key().Kind() == reflect.Interface) {
			return false
		}
		return w.computeInert(t.Key(), seen) && w.computeInert(t.Elem(), seen)
	case reflect.Interface:
		return false
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if _, ok := f.Tag.Lookup("mask"); ok {
				return false
			}
			if w.keys != nil && !f.Anonymous {
				if r, _ := w.keys.lookup(fieldKey(f)); r != nil {
					return false
				}
			}
			if !w.computeInert(f.Type, seen) {
				return false
			}
		}
	}
	return true
}

// hasReferences reports whether values of t can share memory with a copy
// (pointers, slices, maps, interfaces, channels, functions), so that a deep
// copy must walk them.
func hasReferences(t reflect.Type) bool {
	if v, ok := refsCache.Load(t); ok {
		return v.(bool)
	}
	v := hasRefs(t, map[reflect.Type]bool{})
	refsCache.Store(t, v)
	return v
}

var refsCache sync.Map // reflect.Type → bool

func hasRefs(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return hasRefs(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if hasRefs(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
