package dashboard

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Idempotency is the idempotency middleware's outcomes over the window
// (keel.idempotency.begins and .ends); counts are per window.
type Idempotency struct {
	BeginsPerSecond Number `json:"begins_per_second"`
	// Replays are requests answered with a stored response.
	Replays Number `json:"replays"`
	// Conflicts are requests refused because the same key was in progress
	// (409); Mismatches reused a key with another request (422).
	Conflicts  Number `json:"conflicts"`
	Mismatches Number `json:"mismatches"`
	// LeaseLost are requests that outlived their lease.
	LeaseLost Number `json:"lease_lost"`
	Errors    Number `json:"errors"`
}

// Audit is the audit log's writer (keel.audit.*).
type Audit struct {
	EventsPerSecond Number `json:"events_per_second"`
	QueueLength     Number `json:"queue_length"`
	// BatchSizeMean is the mean events per write over the window: the
	// group-commit factor.
	BatchSizeMean Number `json:"batch_size_mean"`
	Dropped       Number `json:"window_dropped"`
	SinkErrors    Number `json:"window_sink_errors"`
	// Checkpoints is the newest durable checkpoint of each log.
	Checkpoints []Checkpoint `json:"checkpoints"`
}

// Checkpoint is keel.audit.checkpoint.seq of one log.
type Checkpoint struct {
	LogID string `json:"log_id"`
	Seq   Number `json:"seq"`
	// Since is when the ring first saw this sequence number: the time of
	// the checkpoint, to within one Interval, unless it is the ring's
	// oldest sample.
	Since time.Time `json:"since"`
}

// Backup is one backup driver (keel.backup.*).
type Backup struct {
	Driver string `json:"driver"`
	// LastSuccessAgeSeconds is how long ago this process made its last
	// successful backup (keel.backup.last_success); null when it made none.
	LastSuccessAgeSeconds Number `json:"last_success_age_seconds"`
	// LastVerify is the result of the newest verify seen in the ring:
	// "success", "failure", or "" when none ran in it.
	LastVerify     string `json:"last_verify"`
	WindowFailures Number `json:"window_failures"`
}

// DBPool is one database/sql pool (metrics/sqlmetrics).
type DBPool struct {
	Name           string `json:"name"`
	Used           Number `json:"used"`
	Idle           Number `json:"idle"`
	Max            Number `json:"max"`
	WaitsPerSecond Number `json:"waits_per_second"`
	// WaitSecondsPerSecond is the time callers spent waiting for a
	// connection per second.
	WaitSecondsPerSecond Number `json:"wait_seconds_per_second"`
}

// runStart is the index in v.slots where the run of samples holding want,
// up to the latest, began.
func (v viewer) runStart(values []float64, want float64) int {
	i := len(v.slots) - 1
	for i > 0 && values[v.slots[i-1]] == want {
		i--
	}
	return i
}

func (v viewer) windowCount(ss []*series, match func(*series) bool) Number {
	inc, _, ok := v.sumDelta(ss, match)
	if !ok {
		return Number(nan)
	}
	return Number(inc)
}

func (v viewer) idempotency() Idempotency {
	begins, ends := v.named("keel.idempotency.begins"), v.named("keel.idempotency.ends")
	out := Idempotency{BeginsPerSecond: rate(v.sumDelta(begins, nil))}
	result := func(r string) func(*series) bool { return attrIs("keel.idempotency.result", r) }
	count := func(ss []*series, r string) Number {
		if len(ss) == 0 {
			return Number(nan)
		}
		inc, _, _ := v.sumDelta(ss, result(r))
		return Number(inc)
	}
	out.Replays, out.Conflicts, out.Mismatches = count(begins, "replay"), count(begins, "conflict"), count(begins, "mismatch")
	out.LeaseLost = count(ends, "lease_lost")
	out.Errors = Number(nan)
	if len(begins)+len(ends) > 0 {
		b, _, _ := v.sumDelta(begins, result("error"))
		e, _, _ := v.sumDelta(ends, result("error"))
		out.Errors = Number(b + e)
	}
	return out
}

func (v viewer) audit() Audit {
	out := Audit{
		EventsPerSecond: rate(v.sumDelta(v.named("keel.audit.events"), nil)),
		QueueLength:     v.sumLatest(v.named("keel.audit.queue.length")),
		BatchSizeMean:   v.costOf(v.named("keel.audit.batch.size")).MeanSeconds, // the mean of the histogram, in events
		Dropped:         v.windowCount(v.named("keel.audit.dropped"), nil),
		SinkErrors:      v.windowCount(v.named("keel.audit.sink.errors"), nil),
		Checkpoints:     []Checkpoint{},
	}
	for _, sr := range v.named("keel.audit.checkpoint.seq") {
		seq := v.latest(sr)
		if math.IsNaN(seq) {
			continue
		}
		out.Checkpoints = append(out.Checkpoints, Checkpoint{LogID: sr.attrs["keel.audit.log.id"], Seq: Number(seq),
			Since: v.h.times[v.slots[v.runStart(sr.values, seq)]]})
	}
	slices.SortFunc(out.Checkpoints, func(a, b Checkpoint) int { return cmp.Compare(a.LogID, b.LogID) })
	return out
}

func (v viewer) backups() []Backup {
	const key = "keel.backup.driver"
	lastNames, last := groupBy(v.named("keel.backup.last_success"), key)
	opNames, ops := groupBy(v.named("keel.backup.operations"), key)
	names := slices.Compact(slices.Sorted(slices.Values(append(lastNames, opNames...))))
	out := []Backup{}
	for _, name := range names {
		if name == "" {
			continue // prune has no driver
		}
		b := Backup{Driver: name, LastSuccessAgeSeconds: Number(nan), WindowFailures: v.windowCount(ops[name], attrIs("keel.backup.result", "failure"))}
		if t := v.sumLatest(last[name]); t.Valid() && len(v.slots) > 0 {
			now := v.h.times[v.slots[len(v.slots)-1]]
			b.LastSuccessAgeSeconds = Number(now.Sub(time.Unix(0, int64(float64(t)*1e9))).Seconds())
		}
		b.LastVerify = v.lastVerify(ops[name])
		out = append(out, b)
	}
	return out
}

// lastVerify is the result whose verify counter moved most recently.
func (v viewer) lastVerify(ss []*series) string {
	best, result := -1, ""
	for _, sr := range ss {
		if sr.attrs["keel.backup.operation"] != "verify" {
			continue
		}
		for i := len(v.slots) - 1; i > best; i-- {
			now, before := sr.values[v.slots[i]], 0.0
			if i > 0 && !math.IsNaN(sr.values[v.slots[i-1]]) {
				before = sr.values[v.slots[i-1]]
			}
			if !math.IsNaN(now) && now != before && (i > 0 || now > 0) {
				best, result = i, sr.attrs["keel.backup.result"]
				break
			}
		}
	}
	return result
}

func (v viewer) dbPools() []DBPool {
	const key = "db.client.connection.pool.name"
	names, conns := groupBy(v.named("db.client.connection.count"), key)
	_, maxes := groupBy(v.named("db.client.connection.max"), key)
	_, waits := groupBy(v.named("keel.sqlmetrics.connection.waits"), key)
	_, waitTime := groupBy(v.named("keel.sqlmetrics.connection.wait_time"), key)
	out := []DBPool{}
	for _, name := range names {
		state := func(s string) Number {
			return v.sumLatest(filter(conns[name], attrIs("db.client.connection.state", s)))
		}
		out = append(out, DBPool{Name: name, Used: state("used"), Idle: state("idle"), Max: v.sumLatest(maxes[name]),
			WaitsPerSecond: rate(v.sumDelta(waits[name], nil)), WaitSecondsPerSecond: rate(v.sumDelta(waitTime[name], nil))})
	}
	return out
}
