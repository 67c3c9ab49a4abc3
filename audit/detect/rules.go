package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/keel-go/keel/audit"
)

// defaultMaxActors bounds the actors a rule remembers.
const defaultMaxActors = 100_000

// actorKey identifies the actor of e for the rules: its id, or its IP when
// it has none.
func actorKey(e *audit.Event) string {
	if e.Actor.ID != "" {
		return e.Actor.ID
	}
	if e.Actor.IP != "" {
		return "ip:" + e.Actor.IP
	}
	return ""
}

// window counts weighted events per actor over a sliding time window.
type window struct {
	entries map[string][]windowEntry
}

type windowEntry struct {
	t time.Time
	n int64
}

// add records n at t for key and returns the total within (t-size, t].
func (w *window) add(key string, t time.Time, n int64, size time.Duration, maxKeys int) int64 {
	if w.entries == nil {
		w.entries = map[string][]windowEntry{}
	}
	es := w.entries[key]
	cut := 0
	for cut < len(es) && !es[cut].t.After(t.Add(-size)) {
		cut++
	}
	es = append(es[cut:], windowEntry{t, n})
	if _, known := w.entries[key]; !known && len(w.entries) >= maxKeys {
		w.evict(t, size, maxKeys)
	}
	w.entries[key] = es
	var total int64
	for _, e := range es {
		total += e.n
	}
	return total
}

// evict forgets actors with nothing in the window, or, if all are active,
// an arbitrary one: memory stays bounded under a flood of new actors.
func (w *window) evict(now time.Time, size time.Duration, maxKeys int) {
	for k, es := range w.entries {
		if len(es) == 0 || !es[len(es)-1].t.After(now.Add(-size)) {
			delete(w.entries, k)
		}
	}
	for k := range w.entries {
		if len(w.entries) < maxKeys {
			break
		}
		delete(w.entries, k)
	}
}

func (w *window) reset(key string) { delete(w.entries, key) }

func inList(v string, list []string) bool { return len(list) == 0 || slices.Contains(list, v) }

// BruteForce finds an actor with Failures failed or denied events within
// Window (a password-guessing or token-probing pattern). After a finding the
// actor's count starts again.
type BruteForce struct {
	// Failures that trigger a finding. Default 5.
	Failures int
	// Window the failures must fall in. Default 5 minutes.
	Window time.Duration
	// Actions that count; empty: every action.
	Actions []string
	// MaxActors bounds the actors remembered. Default 100000.
	MaxActors int

	w window
}

// Name is "brute_force".
func (r *BruteForce) Name() string { return "brute_force" }

func (r *BruteForce) validate() error {
	if r.Failures < 0 || r.Window < 0 || r.MaxActors < 0 {
		return fmt.Errorf("BruteForce: Failures, Window and MaxActors must not be negative")
	}
	return nil
}

// Observe counts e if it failed or was denied.
func (r *BruteForce) Observe(e audit.Event) (Finding, bool) {
	key := actorKey(&e)
	if key == "" || (e.Outcome != audit.Failure && e.Outcome != audit.Denied) || !inList(e.Action, r.Actions) {
		return Finding{}, false
	}
	limit, size := orDefault(r.Failures, 5), orDefaultDuration(r.Window, 5*time.Minute)
	n := r.w.add(key, e.Time, 1, size, orDefault(r.MaxActors, defaultMaxActors))
	if n < int64(limit) {
		return Finding{}, false
	}
	r.w.reset(key)
	return Finding{Rule: r.Name(), ActorID: key, Time: e.Time, Count: int(n), Event: e,
		Detail: fmt.Sprintf("%d failed or denied actions within %s", n, size)}, true
}

// BulkRead finds an actor reading or exporting more than Threshold records
// within Window.
type BulkRead struct {
	// Actions that count, e.g. "customer.read", "customer.export". Required.
	Actions []string
	// Threshold above which a finding is made. Default 100.
	Threshold int
	// Window the reads must fall in. Default one minute.
	Window time.Duration
	// CountField names a numeric Metadata field holding how many records
	// one event read (an export of 10000 rows is one event); events without
	// it count as one.
	CountField string
	// MaxActors bounds the actors remembered. Default 100000.
	MaxActors int

	w window
}

// Name is "bulk_read".
func (r *BulkRead) Name() string { return "bulk_read" }

func (r *BulkRead) validate() error {
	if len(r.Actions) == 0 {
		return fmt.Errorf("BulkRead.Actions must name the read or export actions")
	}
	if r.Threshold < 0 || r.Window < 0 || r.MaxActors < 0 {
		return fmt.Errorf("BulkRead: Threshold, Window and MaxActors must not be negative")
	}
	return nil
}

// Observe counts e if it is a successful read.
func (r *BulkRead) Observe(e audit.Event) (Finding, bool) {
	key := actorKey(&e)
	if key == "" || e.Outcome != audit.Success || !slices.Contains(r.Actions, e.Action) {
		return Finding{}, false
	}
	n := int64(1)
	if r.CountField != "" {
		if v, ok := countOf(e.Metadata[r.CountField]); ok {
			n = v
		}
	}
	size := orDefaultDuration(r.Window, time.Minute)
	total := r.w.add(key, e.Time, n, size, orDefault(r.MaxActors, defaultMaxActors))
	if total <= int64(orDefault(r.Threshold, 100)) {
		return Finding{}, false
	}
	r.w.reset(key)
	return Finding{Rule: r.Name(), ActorID: key, Time: e.Time, Count: int(total), Event: e,
		Detail: fmt.Sprintf("%d records read within %s", total, size)}, true
}

func countOf(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), v >= 0
	case int64:
		return v, v >= 0
	case float64: // from JSON: a huge or NaN count is not a count
		return int64(v), v >= 0 && v < 1<<53
	case json.Number:
		n, err := v.Int64()
		return n, err == nil && n >= 0
	}
	return 0, false
}

// OutsideHours finds activity outside the allowed hours and weekdays.
type OutsideHours struct {
	// Start and End bound the allowed hours, [Start, End) in Location; with
	// Start > End the allowed span crosses midnight. Both zero: 8 to 19.
	Start, End int
	// Weekdays allowed. Default Monday to Friday.
	Weekdays []time.Weekday
	// Location of the hours. Default UTC.
	Location *time.Location
	// Actions that count; empty: every action.
	Actions []string
}

// Name is "outside_hours".
func (r *OutsideHours) Name() string { return "outside_hours" }

func (r *OutsideHours) validate() error {
	if r.Start < 0 || r.Start > 23 || r.End < 0 || r.End > 24 {
		return fmt.Errorf("OutsideHours.Start must be in [0,23] and End in [0,24], got %d and %d", r.Start, r.End)
	}
	return nil
}

// Observe reports e if it happened outside the allowed time.
func (r *OutsideHours) Observe(e audit.Event) (Finding, bool) {
	if !inList(e.Action, r.Actions) {
		return Finding{}, false
	}
	start, end := r.Start, r.End
	if start == 0 && end == 0 {
		start, end = 8, 19
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	days := r.Weekdays
	if len(days) == 0 {
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	t := e.Time.In(loc)
	h := t.Hour()
	inHours := (start <= end && h >= start && h < end) || (start > end && (h >= start || h < end))
	if inHours && slices.Contains(days, t.Weekday()) {
		return Finding{}, false
	}
	return Finding{Rule: r.Name(), ActorID: actorKey(&e), Time: e.Time, Count: 1, Event: e,
		Detail: fmt.Sprintf("%s at %s on %s is outside the allowed hours", e.Action, t.Format("15:04 MST"), t.Weekday())}, true
}

// NewIP finds an actor seen from an IP address it has not used before. The
// first address of an actor is learnt without a finding.
type NewIP struct {
	// MaxActors bounds the actors remembered. Default 100000.
	MaxActors int
	// MaxIPsPerActor bounds the addresses remembered per actor (the oldest
	// is forgotten). Default 32.
	MaxIPsPerActor int

	seen  map[string][]string
	order []string // actors in the order first seen, for eviction
}

// Name is "new_ip".
func (r *NewIP) Name() string { return "new_ip" }

func (r *NewIP) validate() error {
	if r.MaxActors < 0 || r.MaxIPsPerActor < 0 {
		return fmt.Errorf("NewIP: MaxActors and MaxIPsPerActor must not be negative")
	}
	return nil
}

// Observe learns e's IP for its actor and reports an address not seen before.
func (r *NewIP) Observe(e audit.Event) (Finding, bool) {
	if e.Actor.ID == "" || e.Actor.IP == "" {
		return Finding{}, false
	}
	if r.seen == nil {
		r.seen = map[string][]string{}
	}
	ips, known := r.seen[e.Actor.ID]
	if !known {
		if len(r.order) >= orDefault(r.MaxActors, defaultMaxActors) {
			delete(r.seen, r.order[0])
			r.order = r.order[1:]
		}
		r.order = append(r.order, e.Actor.ID)
		r.seen[e.Actor.ID] = []string{e.Actor.IP}
		return Finding{}, false
	}
	if slices.Contains(ips, e.Actor.IP) {
		return Finding{}, false
	}
	if len(ips) >= orDefault(r.MaxIPsPerActor, 32) {
		ips = ips[1:]
	}
	r.seen[e.Actor.ID] = append(ips, e.Actor.IP)
	return Finding{Rule: r.Name(), ActorID: e.Actor.ID, Time: e.Time, Count: 1, Event: e,
		Detail: fmt.Sprintf("first activity from %s", e.Actor.IP)}, true
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDefaultDuration(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
