package mask

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
)

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr function that masks
// attributes by key with m's rules. The standard handlers call it for every
// non-group attribute, inside groups too, after resolving LogValuers.
// Values of other kinds are masked as Value masks them: structs by their
// tags and field names, maps (http.Header, url.Values, map[string]T,
// map[any]T) by key, slices and pointers through, JSON in []byte and
// json.RawMessage by key. A value that cannot be masked is logged as
// "[REDACTED]". The standard handlers never pass a group itself to
// ReplaceAttr, only its members with the names of the groups they are in
// (slog.Group or Logger.WithGroup): a member of a group whose name is a
// sensitive key is "[REDACTED]", whatever its own key.
func (m *Masker) ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	for _, g := range groups {
		if r, _ := m.lookup(g); r != nil {
			return slog.String(a.Key, Redacted)
		}
	}
	return (&walker{keys: m, share: true, bounded: true}).attr(strings.Join(groups, "."), a)
}

// attr masks one attribute: by its key, then, for a group, each member, and
// for any other value, by reflection. prefix is the path of the groups it is
// in, for audit records.
func (w *walker) attr(prefix string, a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	path := joinPath(prefix, a.Key)
	if r, class := w.keys.lookup(a.Key); r != nil {
		if class == "" || !w.reveal[class] {
			if a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(r(a.Value.String()))
			} else {
				a.Value = slog.StringValue(Redacted)
			}
			return a
		}
		if a.Value.Kind() != slog.KindString || a.Value.String() != "" {
			w.revealed = append(w.revealed, RevealedField{Path: path, Class: class})
		}
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		attrs := a.Value.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			masked[i] = w.attr(path, g)
		}
		a.Value = slog.GroupValue(masked...)
	case slog.KindAny:
		v, err := w.value(a.Value.Any(), path)
		if err != nil {
			a.Value = slog.StringValue(Redacted)
		} else {
			a.Value = bytesValue(v)
		}
	}
	return a
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// redactAttr redacts an attribute logged into a group that is redacted
// whole: its value is "[REDACTED]" (the members of an inline group, whose
// key is empty, each).
func redactAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Key == "" && a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			masked[i] = redactAttr(g)
		}
		a.Value = slog.GroupValue(masked...)
		return a
	}
	if a.Equal(slog.Attr{}) {
		return a // slog drops empty attributes
	}
	return slog.String(a.Key, Redacted)
}

// bytesValue logs a masked byte slice readably: as the JSON it holds, or as
// "[REDACTED]" (rather than the base64 that handlers write for []byte).
func bytesValue(v any) slog.Value {
	b, ok := v.([]byte)
	switch {
	case !ok:
		return slog.AnyValue(v)
	case string(b) == Redacted:
		return slog.StringValue(Redacted)
	case json.Valid(b):
		return slog.AnyValue(json.RawMessage(b))
	}
	return slog.AnyValue(v)
}

// Handler wraps next so that every record's attributes, those added with
// With and WithAttrs, and those inside groups, are masked by m before next
// sees them (see ReplaceAttr for what is masked and how). A group under a
// sensitive key is "[REDACTED]" whole when logged with slog.Group; with
// Logger.WithGroup, every attribute logged into it is "[REDACTED]". The
// message is masked only with Config.Messages (through Text): put data in
// attributes.
func (m *Masker) Handler(next slog.Handler) slog.Handler {
	return &handler{next: next, m: m}
}

type handler struct {
	next slog.Handler
	m    *Masker
	// For a Policy's handler: the classes its readers see in clear, and
	// where to report them.
	role   string
	reveal map[string]bool
	audit  func(context.Context, Revealed)

	prefix string // the groups opened with WithGroup, for audit paths
	// sealed: inside a group (WithGroup) whose name is a sensitive key the
	// readers may not see; every attribute in it is redacted.
	sealed bool
	// group is the outermost sensitive group (WithGroup) the readers may
	// see, reported with each record that logs into it.
	group *RevealedField
	// with is what the attributes added with With show in clear, reported
	// with every record (they are shown with every record).
	with []RevealedField
}

func (h *handler) walker() *walker {
	return &walker{keys: h.m, share: true, bounded: true, reveal: h.reveal}
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// mask masks attributes logged at the handler's place.
func (h *handler) mask(w *walker, a slog.Attr) slog.Attr {
	if h.sealed {
		return redactAttr(a)
	}
	return w.attr(h.prefix, a)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	if h.m.messages {
		msg = Text(msg)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	w := h.walker()
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.mask(w, a))
		return true
	})
	if h.audit != nil {
		fields := append(slices.Clip(h.with), w.revealed...)
		if h.group != nil && r.NumAttrs() > 0 {
			fields = append(fields, *h.group)
		}
		if len(fields) > 0 {
			h.audit(ctx, newRevealed(h.role, fields))
		}
	}
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	masked := make([]slog.Attr, len(attrs))
	w := h.walker()
	for i, a := range attrs {
		masked[i] = h.mask(w, a)
	}
	c := *h
	c.next = h.next.WithAttrs(masked)
	c.with = append(slices.Clip(h.with), w.revealed...)
	if h.group != nil {
		c.with = append(c.with, *h.group)
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.prefix = joinPath(h.prefix, name)
	if r, class := h.m.lookup(name); r != nil && !h.sealed {
		if class == "" || !h.reveal[class] {
			c.sealed = true
		} else if h.group == nil {
			c.group = &RevealedField{Path: c.prefix, Class: class}
		}
	}
	return &c
}
