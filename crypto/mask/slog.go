package mask

import (
	"context"
	"encoding/json"
	"log/slog"
)

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr function that masks
// attributes by key with m's rules. The standard handlers call it for every
// non-group attribute, inside groups too, after resolving LogValuers.
// Values of other kinds are masked as Value masks them: structs by their
// tags and field names, maps (http.Header, url.Values, map[string]T) by key,
// slices and pointers through, JSON in []byte and json.RawMessage by key. A
// value that cannot be masked is logged as "[REDACTED]". The standard
// handlers never pass a group itself to ReplaceAttr, so a group under a
// sensitive key has its members masked by their own keys; Handler redacts
// such a group whole.
func (m *Masker) ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	return (&walker{keys: m, share: true}).attr(a)
}

// attr masks one attribute: by its key, then, for a group, each member, and
// for any other value, by reflection.
func (w *walker) attr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
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
			w.revealed = append(w.revealed, RevealedField{Path: a.Key, Class: class})
		}
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		attrs := a.Value.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			masked[i] = w.attr(g)
		}
		a.Value = slog.GroupValue(masked...)
	case slog.KindAny:
		v, err := w.value(a.Value.Any(), a.Key)
		if err != nil {
			a.Value = slog.StringValue(Redacted)
		} else {
			a.Value = bytesValue(v)
		}
	}
	return a
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
// sees them (see ReplaceAttr for what is masked and how). The message is
// masked only with Config.Messages (through Text): put data in attributes.
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
}

func (h *handler) walker() *walker {
	return &walker{keys: h.m, share: true, reveal: h.reveal}
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	if h.m.messages {
		msg = Text(msg)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	w := h.walker()
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(w.attr(a))
		return true
	})
	h.report(ctx, w)
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	w := h.walker()
	for i, a := range attrs {
		masked[i] = w.attr(a)
	}
	h.report(context.Background(), w)
	c := *h
	c.next = h.next.WithAttrs(masked)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// report hands what w showed in clear to the audit hook.
func (h *handler) report(ctx context.Context, w *walker) {
	if h.audit != nil && len(w.revealed) > 0 {
		h.audit(ctx, newRevealed(h.role, w.revealed))
	}
}
