package mask

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
)

// PolicyConfig configures a Policy: who sees which classes of data in
// clear.
type PolicyConfig struct {
	// Reveal maps a role (or an access level, named as a role: "level-2")
	// to the reveal classes it sees in clear. A field is in a class when
	// its tag names it (`mask:"email,reveal=pii"`), a map key or log
	// attribute when its Masker's Config.Classes (or the defaults) do. A
	// role not listed, no role, and any field without a class see
	// everything masked.
	Reveal map[string][]string
	// Masker supplies the key-name rules and classes for maps, struct
	// field names and log attributes. Nil means Default().
	Masker *Masker
	// Audit, if set, is called once per View, Map or log record that
	// showed anything in clear, with the role and the fields shown: an
	// audit trail of who saw which personal data. A log record reports the
	// attributes added with slog.Logger.With as well as its own, since it
	// shows them. It runs synchronously on the caller's goroutine and must
	// not block; its context is the caller's (the record's, for logs).
	Audit func(ctx context.Context, r Revealed)
}

// Revealed reports what was shown in clear to a role.
type Revealed struct {
	Role string
	// Fields are the fields shown in clear, each once, sorted by path.
	Fields []RevealedField
}

// RevealedField is one field shown in clear: its path (the Go type and
// field names for structs, "key" or "map.key" for maps, "group.key" for log
// attributes) and its reveal class. The value itself is never reported, nor
// any map key that could be data: a map key in a path is "[key]" unless it
// is a key name the Masker knows ("map.[key].email"). A value reached
// through several pointers is masked once and reported under the first
// path it was reached by.
type RevealedField struct {
	Path  string
	Class string
}

func newRevealed(role string, fields []RevealedField) Revealed {
	fields = slices.Clone(fields)
	slices.SortFunc(fields, func(a, b RevealedField) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Class, b.Class)
	})
	return Revealed{Role: role, Fields: slices.Compact(fields)}
}

// Policy masks data according to who reads it: each role sees the classes
// of data it may see in clear and everything else masked, the same way for
// structs (View), maps (Map) and log records (Handler). It is immutable and
// safe for concurrent use.
type Policy struct {
	reveal map[string]map[string]bool
	masker *Masker
	audit  func(context.Context, Revealed)
}

// NewPolicy validates cfg and returns a Policy. Errors name the field.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	p := &Policy{reveal: map[string]map[string]bool{}, masker: cfg.Masker, audit: cfg.Audit}
	if p.masker == nil {
		p.masker = Default()
	}
	for role, classes := range cfg.Reveal {
		if role == "" {
			return nil, fmt.Errorf("mask: PolicyConfig.Reveal has an empty role")
		}
		set := map[string]bool{}
		for _, c := range classes {
			if !validClass(c) {
				return nil, fmt.Errorf("mask: PolicyConfig.Reveal[%q]: class %q must be letters, digits, '-' and '_'", role, c)
			}
			set[c] = true
		}
		p.reveal[role] = set
	}
	return p, nil
}

type roleKey struct{}

// WithRole returns a context carrying the role of whoever will read what is
// masked with it (the authenticated caller of a request), for View and Map.
func WithRole(ctx context.Context, role string) context.Context {
	return context.WithValue(ctx, roleKey{}, role)
}

// RoleFrom returns the role WithRole put in ctx, or "".
func RoleFrom(ctx context.Context) string {
	r, _ := ctx.Value(roleKey{}).(string)
	return r
}

// Reveals reports whether role sees class in clear.
func (p *Policy) Reveals(role, class string) bool { return p.reveal[role][class] }

// walker masks for role; bounded for results that are written out
// expanded (maps), not for typed copies (View).
func (p *Policy) walker(role string, bounded bool) *walker {
	return &walker{keys: p.masker, reveal: p.reveal[role], bounded: bounded}
}

func (p *Policy) report(ctx context.Context, role string, w *walker) {
	if p.audit != nil && len(w.revealed) > 0 {
		p.audit(ctx, newRevealed(role, w.revealed))
	}
}

// View returns a masked deep copy of v for the role in ctx (WithRole):
// fields whose reveal class the role may see stay in clear, every other
// masked field is masked as Struct and the Policy's Masker mask it (tags,
// field names, map keys, JSON in bytes). Anything shown in clear is
// reported to PolicyConfig.Audit. It fails closed like Struct: on an error
// naming the field, the zero value.
func View[T any](ctx context.Context, p *Policy, v T) (T, error) {
	if p == nil {
		var zero T
		return zero, errNilPolicy
	}
	role := RoleFrom(ctx)
	w := p.walker(role, false)
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	if _, err := w.walk(dst, src, ruleCtx{}, src.Type().String(), 0); err != nil {
		var zero T
		return zero, err
	}
	p.report(ctx, role, w)
	return dst.Interface().(T), nil
}

// Map returns a masked deep copy of a map (decoded JSON) for the role in
// ctx, as Masker.Map does but showing in clear the keys whose class the
// role may see.
func (p *Policy) Map(ctx context.Context, in map[string]any) map[string]any {
	if p == nil {
		return map[string]any{"map": Redacted} // fail closed, as on an error
	}
	if in == nil {
		return nil
	}
	role := RoleFrom(ctx)
	w := p.walker(role, true)
	out, err := w.value(in, "map")
	if err != nil {
		return map[string]any{"map": Redacted}
	}
	p.report(ctx, role, w)
	return out.(map[string]any)
}

// Handler wraps next like Masker.Handler, for a log read by role: the
// classes role may see stay in clear, and each record that shows any (in
// its own attributes or in those added with Logger.With, which every record
// shows) is reported to PolicyConfig.Audit with the record's context. A
// group opened with Logger.WithGroup under a key of a class role may see is
// shown, its members masked by their own keys, and reported with each
// record that logs into it; under any other sensitive key, every attribute
// in it is redacted. Use it for a
// log with a known audience (a support tool's log the support role reads);
// general logs should use the Masker's own Handler, which shows nothing.
func (p *Policy) Handler(next slog.Handler, role string) slog.Handler {
	return &handler{next: next, m: p.masker, role: role, reveal: p.reveal[role], audit: p.audit}
}
