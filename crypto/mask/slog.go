package mask

import (
	"context"
	"log/slog"
	"reflect"
)

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr function that masks
// attributes by key with m's rules. The standard handlers call it for every
// non-group attribute, inside groups too, after resolving LogValuers.
// Values of a map[string]any are masked by their keys; structs (and pointers
// to structs) with mask tags are replaced by their masked copy. A struct
// that cannot be masked (a bad tag) is logged as "[REDACTED]". The standard
// handlers never pass a group itself to ReplaceAttr, so a group under a
// sensitive key has its members masked by their own keys; Handler redacts
// such a group whole.
func (m *Masker) ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	return m.attr(a)
}

func (m *Masker) attr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if r := m.RuleFor(a.Key); r != nil {
		if a.Value.Kind() == slog.KindString {
			a.Value = slog.StringValue(r(a.Value.String()))
		} else {
			a.Value = slog.StringValue(Redacted)
		}
		return a
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		attrs := a.Value.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			masked[i] = m.attr(g)
		}
		a.Value = slog.GroupValue(masked...)
	case slog.KindAny:
		a.Value = m.anyValue(a.Value.Any())
	}
	return a
}

func (m *Masker) anyValue(v any) slog.Value {
	switch x := v.(type) {
	case map[string]any, map[string]string, []any, []map[string]any:
		return slog.AnyValue(m.nested(x))
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct || !hasMaskTags(rv.Type(), 0) {
		return slog.AnyValue(v)
	}
	masked, err := Struct(v)
	if err != nil {
		return slog.StringValue(Redacted)
	}
	return slog.AnyValue(masked)
}

// hasMaskTags reports whether a struct type has a mask tag at any depth
// (through nested structs, pointers, slices and maps), so that untagged
// values are logged without a copy.
func hasMaskTags(t reflect.Type, depth int) bool {
	if depth > 8 {
		return true // deep or recursive: let Struct decide
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasMaskTags(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if _, ok := f.Tag.Lookup("mask"); ok {
				return true
			}
			if f.IsExported() && hasMaskTags(f.Type, depth+1) {
				return true
			}
		}
	}
	return false
}

// Handler wraps next so that every record's attributes, those added with
// With and WithAttrs, and those inside groups, are masked by m before next
// sees them. The message is masked only with Config.Messages (through Text):
// put data in attributes.
func (m *Masker) Handler(next slog.Handler) slog.Handler {
	return &handler{next: next, m: m}
}

type handler struct {
	next slog.Handler
	m    *Masker
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	if h.m.messages {
		msg = Text(msg)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.m.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.m.attr(a)
	}
	return &handler{next: h.next.WithAttrs(masked), m: h.m}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), m: h.m}
}
