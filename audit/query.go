package audit

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"
)

// Filter selects events. Empty fields match everything; Since and Until
// bound Event.Time to [Since, Until).
type Filter struct {
	ActorID      string
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      Outcome
	Tenant       string
	Since, Until time.Time
	// Limit stops after this many matches; 0 means no limit.
	Limit int
}

// Match reports whether r is an event that f selects.
func (f *Filter) Match(r *Record) bool {
	e := r.Event
	if r.Kind != KindEvent || e == nil {
		return false
	}
	return (f.ActorID == "" || e.Actor.ID == f.ActorID) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.ResourceType == "" || e.Resource.Type == f.ResourceType) &&
		(f.ResourceID == "" || e.Resource.ID == f.ResourceID) &&
		(f.Outcome == "" || e.Outcome == f.Outcome) &&
		(f.Tenant == "" || e.Tenant == f.Tenant) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// Querier is a Source that can run a Filter itself (the SQL sink, with its
// indexes); Query uses it when src implements it.
type Querier interface {
	Query(ctx context.Context, f Filter) iter.Seq2[*Record, error]
}

// Query streams the events of src that f selects, in log order, without
// loading the log into memory. Each record's hash is checked against its
// body (a line that fails stops the query with the error); the chain and
// signatures are Verify's job. Yielded records own their Line.
func Query(ctx context.Context, src Source, f Filter) iter.Seq2[*Record, error] {
	if q, ok := src.(Querier); ok {
		return q.Query(ctx, f)
	}
	return func(yield func(*Record, error) bool) {
		n := 0
		for line, err := range src.Lines(ctx) {
			if err != nil {
				yield(nil, err)
				return
			}
			if line.Torn {
				return // a write cut short was never acknowledged
			}
			r, err := DecodeLine(line.Bytes)
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", line.Where, err))
				return
			}
			if !f.Match(r) {
				continue
			}
			r.Line = slices.Clone(r.Line)
			if !yield(r, nil) {
				return
			}
			if n++; f.Limit > 0 && n >= f.Limit {
				return
			}
		}
	}
}
