package backup

import (
	"fmt"
	"slices"
	"time"
)

// Policy says which backups to keep, with restic's semantics: Last keeps
// the n newest; Hourly, Daily, Weekly, Monthly and Yearly each keep the
// newest backup of each of the n most recent hours, days, ISO weeks,
// months and years that have a backup. A backup kept by any rule is kept.
// If a calendar rule finds fewer periods than it may keep, the oldest
// backup is kept too, as restic does, to keep the history as long as the
// policy allows. -1 means unlimited. Periods are taken in Location (UTC
// when nil).
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Location                                     *time.Location
}

// Empty reports whether the policy keeps nothing by rule.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0
}

func (p Policy) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Last", p.Last}, {"Hourly", p.Hourly}, {"Daily", p.Daily}, {"Weekly", p.Weekly}, {"Monthly", p.Monthly}, {"Yearly", p.Yearly}} {
		if f.v < -1 {
			return fmt.Errorf("backup: Policy.%s must be -1 (unlimited) or more, got %d", f.name, f.v)
		}
	}
	if p.Empty() {
		return ErrNoPolicy
	}
	return nil
}

// Snapshot is what retention needs to know about a backup.
type Snapshot struct {
	ID       string
	Time     time.Time
	Verified bool
}

// Decision is the verdict on one snapshot.
type Decision struct {
	Snapshot
	Keep bool
	// Reasons name the rules that keep it ("last", "daily", "oldest
	// monthly", "newest verified").
	Reasons []string
}

type bucket struct {
	name  string
	count int
	key   func(time.Time) int
	last  int
	used  bool
}

// ApplyPolicy decides, for each snapshot, whether p keeps it. It returns
// the decisions newest first. It never removes the newest verified
// snapshot, or the newest snapshot if none is verified. It is a pure
// function of its arguments.
func ApplyPolicy(snaps []Snapshot, p Policy) ([]Decision, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	list := slices.Clone(snaps)
	slices.SortStableFunc(list, func(a, b Snapshot) int { return b.Time.Compare(a.Time) })

	seq := 0
	buckets := []*bucket{
		{name: "last", count: p.Last, key: func(time.Time) int { seq++; return seq }},
		{name: "hourly", count: p.Hourly, key: func(t time.Time) int {
			y, m, d := t.Date()
			return ((y*100+int(m))*100+d)*100 + t.Hour()
		}},
		{name: "daily", count: p.Daily, key: func(t time.Time) int { y, m, d := t.Date(); return (y*100+int(m))*100 + d }},
		{name: "weekly", count: p.Weekly, key: func(t time.Time) int { y, w := t.ISOWeek(); return y*100 + w }},
		{name: "monthly", count: p.Monthly, key: func(t time.Time) int { y, m, _ := t.Date(); return y*100 + int(m) }},
		{name: "yearly", count: p.Yearly, key: func(t time.Time) int { return t.Year() }},
	}
	out := make([]Decision, len(list))
	for i, s := range list {
		d := Decision{Snapshot: s}
		t := s.Time.In(loc)
		for _, b := range buckets {
			if b.count == 0 {
				continue
			}
			k := b.key(t)
			if !b.used || k != b.last {
				b.used, b.last = true, k
				d.Keep = true
				d.Reasons = append(d.Reasons, b.name)
				if b.count > 0 {
					b.count--
				}
			} else if i == len(list)-1 && b.count > 0 && b.name != "last" {
				// Not enough periods to fill the rule: keep the oldest.
				d.Keep = true
				d.Reasons = append(d.Reasons, "oldest "+b.name)
				b.count--
			}
		}
		out[i] = d
	}
	protect := -1
	for i, d := range out {
		if d.Verified {
			protect = i
			break
		}
	}
	if protect < 0 && len(out) > 0 {
		protect = 0
	}
	if protect >= 0 && !out[protect].Keep {
		out[protect].Keep = true
		out[protect].Reasons = append(out[protect].Reasons, "newest verified")
	}
	return out, nil
}

// PruneResult lists what Prune kept and removed (or would remove).
type PruneResult struct {
	Decisions []Decision
	// Removed are the ids deleted; empty on a dry run.
	Removed []string
	// Skipped are backups whose manifest is not trusted: never pruned,
	// they need an operator's look.
	Skipped []Entry
}
