package dashboard

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Snapshot is the dashboard's JSON document (GET <mount>/api): the "now"
// view over Config.RateWindow, and the history of each row for the charts.
// Numbers without data are null. Rates are per second.
type Snapshot struct {
	Time            time.Time `json:"time"`
	IntervalSeconds float64   `json:"interval_seconds"`
	WindowSeconds   float64   `json:"window_seconds"`
	Samples         int       `json:"samples"`
	Series          int       `json:"series"`
	DroppedSeries   int       `json:"dropped_series"`
	CollectErrors   int       `json:"collect_errors"`
	LastError       string    `json:"last_error,omitempty"`
	// Times are the sample times of every History array (Unix ms).
	Times []int64 `json:"times"`

	Health     []HealthCheck `json:"health"`
	Alerts     []Alert       `json:"alerts"`
	Breakers   []Breaker     `json:"breakers"`
	Retries    []Retry       `json:"retries"`
	RateLimits []RateLimit   `json:"rate_limits"`
	Routes     []Route       `json:"routes"`
	Caches     []Cache       `json:"caches"`
	Runtime    Runtime       `json:"runtime"`
	Forecasts  []Prediction  `json:"forecasts"`

	Idempotency Idempotency `json:"idempotency"`
	Audit       Audit       `json:"audit"`
	Backups     []Backup    `json:"backups"`
	DBPools     []DBPool    `json:"db_pools"`
	Bottlenecks Bottlenecks `json:"bottlenecks"`
	// Saturations forecast when each bulkhead, rate limiter, database pool
	// and disk of Config.DiskPaths reaches its limit; see [Saturation].
	Saturations []Saturation `json:"saturations"`
}

// HealthCheck is a metrics/health check's status (keel.health.check.status).
type HealthCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Since is the first sample of the run of samples, up to now, in which
	// the check had this status; the oldest sample of the ring when it had
	// it throughout (then it may have had it for longer).
	Since time.Time `json:"since"`
}

// Alert is a firing metrics/alert rule (keel.alert.firing = 1).
type Alert struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
}

// Breaker is one breaker (keel.breaker.name).
type Breaker struct {
	Name                string `json:"name"`
	State               string `json:"state"`
	Transitions         Number `json:"transitions"`
	WindowTransitions   Number `json:"window_transitions"`
	CallsPerSecond      Number `json:"calls_per_second"`
	FailureRatio        Number `json:"failure_ratio"`
	RejectionsPerSecond Number `json:"rejections_per_second"`
	// SlowCallRatio is the share of the window's calls slower than the
	// breaker's SlowCallDuration (keel.breaker.slow_calls / calls); null
	// when the breaker does not time calls (no SlowCallRate) or had none.
	SlowCallRatio Number `json:"slow_call_ratio"`
	// CallRateGrowth is the trend of the call rate over the ring.
	CallRateGrowth Growth `json:"call_rate_growth"`
	// OpenHistory is, per sample, 0 closed, 0.5 half-open, 1 open or
	// forced-open, null unknown or disabled.
	OpenHistory History `json:"open_history"`
}

// Retry is one retry policy (keel.retry.name).
type Retry struct {
	Name             string `json:"name"`
	CallsPerSecond   Number `json:"calls_per_second"`
	RetriesPerSecond Number `json:"retries_per_second"`
	// Amplification is (calls+retries)/calls: the load the dependency sees
	// per call.
	Amplification   Number  `json:"amplification"`
	GaveUp          Number  `json:"window_gave_up"`
	BudgetExhausted Number  `json:"window_budget_exhausted"`
	RetriesHistory  History `json:"retries_history"`
	// BudgetTokens is what the policy's retry budget holds now
	// (keel.retry.budget.tokens) and BudgetThreshold the level it must stay
	// above for a retry to run; BudgetRemaining is their difference, the
	// failed attempts the budget still pays for (0 when exhausted).
	// BudgetExhausted is true while tokens <= threshold. All null/false for
	// a policy without a budget.
	BudgetTokens      Number `json:"budget_tokens"`
	BudgetThreshold   Number `json:"budget_threshold"`
	BudgetRemaining   Number `json:"budget_remaining"`
	BudgetIsExhausted bool   `json:"budget_exhausted"`
}

// RateLimit is one limiter or bulkhead (keel.ratelimit.name).
type RateLimit struct {
	Name             string  `json:"name"`
	AllowedPerSecond Number  `json:"allowed_per_second"`
	LimitedPerSecond Number  `json:"limited_per_second"`
	InFlight         Number  `json:"in_flight"`
	Queued           Number  `json:"queued"`
	LimitedHistory   History `json:"limited_history"`
	// MaxInFlight is a bulkhead's limit (keel.ratelimit.max_in_flight), or
	// the limit an adaptive limiter has settled on
	// (keel.ratelimit.adaptive.limit); RateLimitPerSecond a limiter's
	// (keel.ratelimit.rate); null for the other kinds.
	MaxInFlight        Number `json:"max_in_flight"`
	RateLimitPerSecond Number `json:"rate_limit_per_second"`
	// RedisFailuresPerSecond counts redislimit decisions made without Redis
	// (keel.ratelimit.redis.failures); RedisDegradedRatio is the share of
	// the window a FailLocal redislimit spent deciding in process
	// (keel.ratelimit.redis.degraded.duration). Null for local limiters.
	RedisFailuresPerSecond Number `json:"redis_failures_per_second"`
	RedisDegradedRatio     Number `json:"redis_degraded_ratio"`
}

// Route is one HTTP route (http.server.request.duration by method and
// http.route). Quantiles are in seconds, estimated from the histogram's
// buckets over the window.
type Route struct {
	Method            string  `json:"method"`
	Route             string  `json:"route"`
	RequestsPerSecond Number  `json:"requests_per_second"`
	ErrorRatio        Number  `json:"error_ratio"`
	P50               Number  `json:"p50"`
	P95               Number  `json:"p95"`
	P99               Number  `json:"p99"`
	RateHistory       History `json:"rate_history"`
	// RateGrowth is the trend of the request rate over the ring (requests
	// per second, per second); LatencyGrowth of the mean latency (seconds
	// per second), per sample from the histogram's sum and count.
	RateGrowth    Growth `json:"rate_growth"`
	LatencyGrowth Growth `json:"latency_growth"`
}

// Cache is one cache (keel.cache.name).
type Cache struct {
	Name               string `json:"name"`
	HitRatio           Number `json:"hit_ratio"`
	Entries            Number `json:"entries"`
	EvictionsPerSecond Number `json:"evictions_per_second"`
	// LoadP99 and LoadMeanSeconds are the loader's latency over the window
	// (keel.cache.load.duration), in seconds.
	LoadP99         Number `json:"load_p99"`
	LoadMeanSeconds Number `json:"load_mean_seconds"`
	// RedisDegraded is keel.cache.redis.degraded: 1 while a rediscache's
	// Redis is failing and the local tier serves alone, null without Redis.
	RedisDegraded Number `json:"redis_degraded"`
}

// Runtime is the Go runtime (contrib runtime instrumentation).
type Runtime struct {
	Goroutines        Number  `json:"goroutines"`
	MemoryUsedBytes   Number  `json:"memory_used_bytes"`
	GCGoalBytes       Number  `json:"gc_goal_bytes"`
	GoroutinesHistory History `json:"goroutines_history"`
	MemoryHistory     History `json:"memory_used_history"`
	// AllocatedBytesPerSecond is the heap allocation rate (go.memory.allocated),
	// what drives the garbage collector.
	AllocatedBytesPerSecond Number `json:"allocated_bytes_per_second"`
	// CPUCores is the process' CPU time per second (process.cpu.time, user
	// and system): 1 is one core busy.
	CPUCores   Number  `json:"cpu_cores"`
	CPUHistory History `json:"cpu_cores_history"`
}

// Prediction is a [Forecast] applied to one series.
type Prediction struct {
	Metric      string            `json:"metric"`
	Attributes  map[string]string `json:"attributes"`
	Threshold   float64           `json:"threshold"`
	Current     Number            `json:"current"`
	Slope       Number            `json:"slope_per_second"`
	SlopeStdErr Number            `json:"slope_stderr"`
	// SecondsToThreshold is null when the trend does not reach it.
	SecondsToThreshold Number `json:"seconds_to_threshold"`
	// SlopeLow and SlopeHigh are the 95 % band on the slope; the earliest
	// and latest times to threshold follow from them (null: not reached at
	// that end of the band, or no band). The fit is robust (Theil–Sen, see
	// [FitRobust]); SlopeStdErr is derived from the band.
	SlopeLow                   Number `json:"slope_low_per_second"`
	SlopeHigh                  Number `json:"slope_high_per_second"`
	EarliestSecondsToThreshold Number `json:"earliest_seconds_to_threshold"`
	LatestSecondsToThreshold   Number `json:"latest_seconds_to_threshold"`
}

// Snapshot returns the current view.
func (d *Dashboard) Snapshot() Snapshot {
	s, _ := d.snapshot()
	return s
}

// snapshot returns the current view and the version of the state it was
// computed from (see Dashboard.version).
func (d *Dashboard) snapshot() (Snapshot, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hist
	v := d.newViewer()
	s := Snapshot{
		IntervalSeconds: d.cfg.Interval.Seconds(),
		WindowSeconds:   d.cfg.RateWindow.Seconds(),
		Samples:         len(v.slots),
		Series:          len(h.series),
		DroppedSeries:   h.dropped,
		CollectErrors:   d.collectErr,
		LastError:       d.lastErr,
		Times:           make([]int64, len(v.slots)),
	}
	for i, sl := range v.slots {
		s.Times[i] = h.times[sl].UnixMilli()
	}
	if len(v.slots) > 0 {
		s.Time = h.times[v.slots[len(v.slots)-1]]
	}
	s.Health, s.Alerts = v.health(), v.alerts()
	s.Breakers, s.Retries, s.RateLimits = v.breakers(), v.retries(), v.rateLimits()
	s.Routes, s.Caches, s.Runtime = v.routes(), v.caches(), v.runtime()
	s.Forecasts = v.forecasts(d.cfg.Forecasts)
	s.Idempotency, s.Audit, s.Backups, s.DBPools = v.idempotency(), v.audit(), v.backups(), v.dbPools()
	s.Bottlenecks = v.bottlenecks()
	s.Saturations = v.saturations()
	return s, d.version
}

// newViewer indexes the history for the views; d.mu is held.
func (d *Dashboard) newViewer() viewer {
	h := d.hist
	v := viewer{h: h, slots: h.slots(), window: d.cfg.windowSamples, byName: make(map[string][]*series), fit: new(fitter)}
	for _, sr := range h.order {
		v.byName[sr.name] = append(v.byName[sr.name], sr)
	}
	v.ts = make([]time.Time, len(v.slots))
	for i, sl := range v.slots {
		v.ts[i] = h.times[sl]
	}
	return v
}

// viewer derives the views from the history; it runs under Dashboard.mu.
type viewer struct {
	h      *history
	slots  []int // oldest first
	window int
	byName map[string][]*series // in first-seen order
	fit    *fitter              // scratch for the trends
	ts     []time.Time          // the held samples' times, oldest first
}

func (v viewer) named(name string) []*series { return v.byName[name] }

// both is the series of two metrics, a's first.
func (v viewer) both(a, b string) []*series {
	return append(slices.Clip(v.byName[a]), v.byName[b]...)
}

func (v viewer) latest(sr *series) float64 {
	if len(v.slots) == 0 {
		return nan
	}
	return sr.values[v.slots[len(v.slots)-1]]
}

// delta is a counter's increase over the window and the seconds it spans;
// ok is false without two points. A reset counts from zero.
func (v viewer) delta(sr *series) (inc, secs float64, ok bool) { return v.deltaOf(sr.values) }

// deltaOf is delta for any cumulative array of a series (values, or a
// histogram's sums).
func (v viewer) deltaOf(values []float64) (inc, secs float64, ok bool) {
	n := len(v.slots)
	if n < 2 || values == nil {
		return 0, 0, false
	}
	last := v.slots[n-1]
	now := values[last]
	if math.IsNaN(now) {
		return 0, 0, false
	}
	first := v.slots[max(0, n-1-v.window)]
	old := values[first]
	if math.IsNaN(old) {
		// Absent at the window's start: the SDK reports a cumulative series
		// only once it has counted something, so it stood at zero then.
		// (Taking the first sample it appears in instead would lose what it
		// counted before that sample, and measure it over a shorter span
		// than the other series it is summed with.)
		old = 0
	}
	inc = now - old
	if inc < 0 { // a reset: count from zero
		inc = now
	}
	return inc, v.h.times[last].Sub(v.h.times[first]).Seconds(), true
}

// sumDelta adds up the window increase of the series that match.
func (v viewer) sumDelta(ss []*series, match func(*series) bool) (inc, secs float64, ok bool) {
	for _, sr := range ss {
		if match != nil && !match(sr) {
			continue
		}
		if d, s, k := v.delta(sr); k {
			inc += d
			secs = max(secs, s)
			ok = true
		}
	}
	return inc, secs, ok
}

func rate(inc, secs float64, ok bool) Number {
	if !ok || secs <= 0 {
		return Number(nan)
	}
	return Number(inc / secs)
}

func ratio(num, den float64) Number {
	if den == 0 {
		return Number(nan)
	}
	return Number(num / den)
}

// rateHistory is, per sample, the summed increase per second since the
// previous sample of the series.
func (v viewer) rateHistory(ss []*series) History {
	return v.rateHistoryInto(make(History, len(v.slots)), ss)
}

// rateHistoryInto is rateHistory written into out (len(v.slots) long), for
// a history that is only fitted, not kept.
func (v viewer) rateHistoryInto(out History, ss []*series) History {
	for i := range v.slots {
		out[i] = Number(nan)
		if i == 0 {
			continue
		}
		dt := v.h.times[v.slots[i]].Sub(v.h.times[v.slots[i-1]]).Seconds()
		sum, seen := 0.0, false
		for _, sr := range ss {
			a, b := sr.values[v.slots[i-1]], sr.values[v.slots[i]]
			if math.IsNaN(b) {
				continue
			}
			if math.IsNaN(a) { // not reported yet: it stood at zero
				a = 0
			}
			d := b - a
			if d < 0 {
				d = b
			}
			sum += d
			seen = true
		}
		if seen && dt > 0 {
			out[i] = Number(sum / dt)
		}
	}
	return out
}

func (v viewer) valueHistory(ss []*series) History {
	out := make(History, len(v.slots))
	for i, sl := range v.slots {
		sum, seen := 0.0, false
		for _, sr := range ss {
			if x := sr.values[sl]; !math.IsNaN(x) {
				sum += x
				seen = true
			}
		}
		out[i] = Number(nan)
		if seen {
			out[i] = Number(sum)
		}
	}
	return out
}

func (v viewer) sumLatest(ss []*series) Number {
	sum, seen := 0.0, false
	for _, sr := range ss {
		if x := v.latest(sr); !math.IsNaN(x) {
			sum += x
			seen = true
		}
	}
	if !seen {
		return Number(nan)
	}
	return Number(sum)
}

// groupBy splits series by one attribute's value, sorted by it.
func groupBy(ss []*series, key string) ([]string, map[string][]*series) {
	groups := map[string][]*series{}
	var names []string
	for _, sr := range ss {
		k := sr.attrs[key]
		if _, ok := groups[k]; !ok {
			names = append(names, k)
		}
		groups[k] = append(groups[k], sr)
	}
	slices.Sort(names)
	return names, groups
}

// union is names (the keys of one groupBy) with the keys of other that
// are not among them, sorted: the rows of a primitive that reported only
// some of its instruments so far.
func union(names []string, other map[string][]*series) []string {
	for n := range other {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func attrIs(key, value string) func(*series) bool {
	return func(sr *series) bool { return sr.attrs[key] == value }
}

func (v viewer) health() []HealthCheck {
	out := []HealthCheck{}
	for _, sr := range v.named("keel.health.check.status") {
		if v.latest(sr) == 1 {
			out = append(out, HealthCheck{Name: sr.attrs["keel.health.check"], Status: sr.attrs["keel.health.status"],
				Since: v.h.times[v.slots[v.runStart(sr.values, 1)]]})
		}
	}
	slices.SortFunc(out, func(a, b HealthCheck) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (v viewer) alerts() []Alert {
	out := []Alert{}
	for _, sr := range v.named("keel.alert.firing") {
		if v.latest(sr) == 1 {
			out = append(out, Alert{Rule: sr.attrs["keel.alert.rule"], Severity: sr.attrs["keel.alert.severity"]})
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return cmp.Compare(a.Rule, b.Rule) })
	return out
}

var openness = map[string]float64{"closed": 0, "half-open": 0.5, "open": 1, "forced-open": 1}

func (v viewer) breakers() []Breaker {
	const key = "keel.breaker.name"
	names, states := groupBy(v.named("keel.breaker.state"), key)
	_, calls := groupBy(v.named("keel.breaker.calls"), key)
	_, rejections := groupBy(v.named("keel.breaker.rejections"), key)
	_, transitions := groupBy(v.named("keel.breaker.transitions"), key)
	_, slow := groupBy(v.named("keel.breaker.slow_calls"), key)
	names = union(names, calls)
	out := []Breaker{}
	for _, name := range names {
		b := Breaker{Name: name, State: "unknown", OpenHistory: make(History, len(v.slots))}
		for i := range b.OpenHistory {
			b.OpenHistory[i] = Number(nan)
		}
		for _, sr := range states[name] {
			st := sr.attrs["keel.breaker.state"]
			if v.latest(sr) == 1 {
				b.State = st
			}
			if o, ok := openness[st]; ok {
				for i, sl := range v.slots {
					if sr.values[sl] == 1 {
						b.OpenHistory[i] = Number(o)
					}
				}
			}
		}
		b.Transitions = v.sumLatest(transitions[name])
		b.WindowTransitions = Number(nan)
		if inc, _, ok := v.sumDelta(transitions[name], nil); ok {
			b.WindowTransitions = Number(inc)
		}
		b.CallsPerSecond = rate(v.sumDelta(calls[name], nil))
		fail, _, _ := v.sumDelta(calls[name], attrIs("keel.breaker.outcome", "failure"))
		succ, _, _ := v.sumDelta(calls[name], attrIs("keel.breaker.outcome", "success"))
		b.FailureRatio = ratio(fail, fail+succ)
		b.RejectionsPerSecond = rate(v.sumDelta(rejections[name], nil))
		b.SlowCallRatio = Number(nan)
		if slowCalls, _, ok := v.sumDelta(slow[name], nil); ok {
			b.SlowCallRatio = ratio(slowCalls, fail+succ)
		}
		b.CallRateGrowth = v.growth(v.rateHistoryInto(v.scratch(), calls[name]))
		out = append(out, b)
	}
	return out
}

func (v viewer) retries() []Retry {
	const key = "keel.retry.name"
	names, calls := groupBy(v.named("keel.retry.calls"), key)
	_, retries := groupBy(v.named("keel.retry.retries"), key)
	_, tokens := groupBy(v.named("keel.retry.budget.tokens"), key)
	_, thresholds := groupBy(v.named("keel.retry.budget.threshold"), key)
	names = union(names, tokens)
	out := []Retry{}
	for _, name := range names {
		r := Retry{Name: name}
		c, cs, cok := v.sumDelta(calls[name], nil)
		rt, rs, rok := v.sumDelta(retries[name], nil)
		r.CallsPerSecond, r.RetriesPerSecond = rate(c, cs, cok), rate(rt, rs, rok)
		r.Amplification = ratio(c+rt, c)
		// Outcomes the policy never had have no series: zero once the
		// policy itself has reported.
		gave, _, _ := v.sumDelta(calls[name], func(sr *series) bool { return sr.attrs["keel.retry.outcome"] != "success" })
		be, _, _ := v.sumDelta(calls[name], attrIs("keel.retry.outcome", "budget_exhausted"))
		r.GaveUp, r.BudgetExhausted = Number(nan), Number(nan)
		if cok {
			r.GaveUp, r.BudgetExhausted = Number(gave), Number(be)
		}
		r.RetriesHistory = v.rateHistory(retries[name])
		r.BudgetTokens, r.BudgetThreshold, r.BudgetRemaining = v.sumLatest(tokens[name]), v.sumLatest(thresholds[name]), Number(nan)
		if r.BudgetTokens.Valid() && r.BudgetThreshold.Valid() {
			r.BudgetRemaining = Number(max(0, float64(r.BudgetTokens-r.BudgetThreshold)))
			r.BudgetIsExhausted = r.BudgetTokens <= r.BudgetThreshold
		}
		out = append(out, r)
	}
	return out
}

func (v viewer) rateLimits() []RateLimit {
	const key = "keel.ratelimit.name"
	// An adaptive limiter (ratelimit/adaptive) reports under its own
	// instrument names; a limiter name belongs to one kind, so the two
	// families are shown in the same rows.
	names, decisions := groupBy(v.both("keel.ratelimit.decisions", "keel.ratelimit.adaptive.decisions"), key)
	_, inFlight := groupBy(v.both("keel.ratelimit.in_flight", "keel.ratelimit.adaptive.in_flight"), key)
	_, queued := groupBy(v.named("keel.ratelimit.queued"), key)
	_, redisFailures := groupBy(v.named("keel.ratelimit.redis.failures"), key)
	_, redisDegraded := groupBy(v.named("keel.ratelimit.redis.degraded.duration"), key)
	_, maxInFlight := groupBy(v.both("keel.ratelimit.max_in_flight", "keel.ratelimit.adaptive.limit"), key)
	_, limitRate := groupBy(v.named("keel.ratelimit.rate"), key)
	names = union(names, inFlight)
	out := []RateLimit{}
	for _, name := range names {
		limited := filter(decisions[name], attrIs("keel.ratelimit.decision", "limited"))
		out = append(out, RateLimit{
			Name:             name,
			AllowedPerSecond: rate(v.sumDelta(decisions[name], attrIs("keel.ratelimit.decision", "allowed"))),
			LimitedPerSecond: rate(v.sumDelta(limited, nil)),
			InFlight:         v.sumLatest(inFlight[name]),
			Queued:           v.sumLatest(queued[name]),
			LimitedHistory:   v.rateHistory(limited),

			MaxInFlight:        v.sumLatest(maxInFlight[name]),
			RateLimitPerSecond: v.sumLatest(limitRate[name]),

			RedisFailuresPerSecond: rate(v.sumDelta(redisFailures[name], nil)),
			RedisDegradedRatio:     rate(v.sumDelta(redisDegraded[name], nil)),
		})
	}
	return out
}

func filter(ss []*series, keep func(*series) bool) []*series {
	var out []*series
	for _, sr := range ss {
		if keep(sr) {
			out = append(out, sr)
		}
	}
	return out
}

func (v viewer) routes() []Route {
	type rk struct{ method, route string }
	groups := map[rk][]*series{}
	var keys []rk
	for _, sr := range v.named("http.server.request.duration") {
		k := rk{sr.attrs["http.request.method"], sr.attrs["http.route"]}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], sr)
	}
	slices.SortFunc(keys, func(a, b rk) int { return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.method, b.method)) })
	out := []Route{}
	for _, k := range keys {
		ss := groups[k]
		inc, secs, ok := v.sumDelta(ss, nil)
		errs, _, _ := v.sumDelta(ss, isError)
		r := Route{Method: k.method, Route: k.route, RequestsPerSecond: rate(inc, secs, ok), RateHistory: v.rateHistory(ss)}
		r.RateGrowth, r.LatencyGrowth = v.growth(r.RateHistory), v.growth(v.meanLatencyHistory(v.scratch(), ss))
		r.ErrorRatio = Number(nan)
		if ok {
			r.ErrorRatio = ratio(errs, inc)
		}
		r.P50, r.P95, r.P99 = Number(nan), Number(nan), Number(nan)
		if bounds, counts, ok := v.mergedBuckets(ss); ok {
			r.P50, r.P95, r.P99 = Number(quantile(0.50, bounds, counts)), Number(quantile(0.95, bounds, counts)), Number(quantile(0.99, bounds, counts))
		}
		out = append(out, r)
	}
	return out
}

// mergedBuckets adds up the window's bucket counts of series sharing the
// first series' bounds.
func (v viewer) mergedBuckets(ss []*series) ([]float64, []uint64, bool) {
	var bounds []float64
	var sum []uint64
	for _, sr := range ss {
		counts, ok := v.h.windowBuckets(sr)
		if !ok {
			continue
		}
		if sum == nil {
			bounds, sum = sr.bounds, make([]uint64, len(counts))
		}
		if !slices.Equal(bounds, sr.bounds) {
			continue
		}
		for i, c := range counts {
			sum[i] += c
		}
	}
	return bounds, sum, sum != nil
}

func (v viewer) caches() []Cache {
	const key = "keel.cache.name"
	names, requests := groupBy(v.named("keel.cache.requests"), key)
	_, entries := groupBy(v.named("keel.cache.entries"), key)
	_, evictions := groupBy(v.named("keel.cache.evictions"), key)
	_, loads := groupBy(v.named("keel.cache.load.duration"), key)
	_, degraded := groupBy(v.named("keel.cache.redis.degraded"), key)
	out := []Cache{}
	for _, name := range names {
		hits, _, hok := v.sumDelta(requests[name], attrIs("keel.cache.result", "hit"))
		all, _, _ := v.sumDelta(requests[name], nil)
		c := Cache{Name: name, HitRatio: Number(nan), Entries: v.sumLatest(entries[name]),
			EvictionsPerSecond: rate(v.sumDelta(evictions[name], nil)), RedisDegraded: v.sumLatest(degraded[name])}
		if hok {
			c.HitRatio = ratio(hits, all)
		}
		lc := v.costOf(loads[name])
		c.LoadP99, c.LoadMeanSeconds = lc.P99, lc.MeanSeconds
		out = append(out, c)
	}
	return out
}

func (v viewer) runtime() Runtime {
	g, m := v.named("go.goroutine.count"), v.named("go.memory.used")
	return Runtime{
		Goroutines:        v.sumLatest(g),
		MemoryUsedBytes:   v.sumLatest(m),
		GCGoalBytes:       v.sumLatest(v.named("go.memory.gc.goal")),
		GoroutinesHistory: v.valueHistory(g),
		MemoryHistory:     v.valueHistory(m),

		AllocatedBytesPerSecond: rate(v.sumDelta(v.named("go.memory.allocated"), nil)),
		CPUCores:                rate(v.sumDelta(v.named("process.cpu.time"), nil)),
		CPUHistory:              v.rateHistory(v.named("process.cpu.time")),
	}
}

func (v viewer) forecasts(fs []Forecast) []Prediction {
	out := []Prediction{}
	values := make([]float64, len(v.slots))
	for _, f := range fs {
		for _, sr := range v.named(f.Metric) {
			if sr.kind != KindGauge {
				continue
			}
			for i, sl := range v.slots {
				values[i] = sr.values[sl]
			}
			p := Prediction{Metric: f.Metric, Attributes: sr.attrs, Threshold: f.Threshold}
			p.Current, p.Slope, p.SlopeStdErr, p.SlopeLow, p.SlopeHigh = Number(nan), Number(nan), Number(nan), Number(nan), Number(nan)
			p.SecondsToThreshold, p.EarliestSecondsToThreshold, p.LatestSecondsToThreshold = Number(nan), Number(nan), Number(nan)
			if tr, err := fitSeries(v.fit, v.ts, values); err == nil {
				p.Current, p.Slope, p.SlopeStdErr = Number(tr.Current), Number(tr.Slope), Number(tr.SlopeStdErr)
				p.SlopeLow, p.SlopeHigh = Number(tr.SlopeLow), Number(tr.SlopeHigh)
				p.SecondsToThreshold, p.EarliestSecondsToThreshold, p.LatestSecondsToThreshold = etas(tr, f.Threshold)
			}
			out = append(out, p)
		}
	}
	return out
}

// etas are the seconds until tr reaches threshold: at its slope, and at the
// two ends of its band (NaN where it does not).
func etas(tr Trend, threshold float64) (central, earliest, latest Number) {
	central, earliest, latest = Number(nan), Number(nan), Number(nan)
	if eta, ok := tr.TimeToThreshold(threshold); ok {
		central = Number(eta.Seconds())
	}
	soonest, last, sok, lok := tr.TimeToThresholdRange(threshold)
	if sok {
		earliest = Number(soonest.Seconds())
	}
	if lok {
		latest = Number(last.Seconds())
	}
	return central, earliest, latest
}
