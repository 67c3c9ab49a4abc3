package dashboard

import (
	"cmp"
	"math"
	"slices"
)

// Resources a [Saturation] is forecast for.
const (
	// ResourceBulkhead: a ratelimit.Bulkhead's calls in flight
	// (keel.ratelimit.in_flight) against its MaxInFlight
	// (keel.ratelimit.max_in_flight).
	ResourceBulkhead = "bulkhead"
	// ResourceRateLimit: a ratelimit.Limiter's allowed decisions per second
	// (keel.ratelimit.decisions) against its Limit/Period
	// (keel.ratelimit.rate).
	ResourceRateLimit = "rate_limit"
	// ResourceDBPool: a database/sql pool's connections in use
	// (db.client.connection.count, state used) against its maximum
	// (db.client.connection.max; a pool without a maximum is not shown).
	ResourceDBPool = "db_pool"
	// ResourceDisk: the bytes used on the file system holding a path of
	// Config.DiskPaths against its size.
	ResourceDisk = "disk"
)

// Saturation forecasts when a resource reaches its limit at the growth of
// its use over the ring, fitted robustly ([FitRobust]). Numbers are in the
// resource's unit: calls, decisions per second, connections or bytes.
type Saturation struct {
	// Resource is one of the Resource constants; Name the bulkhead's or
	// limiter's keel.ratelimit.name, the pool's name, or the disk's path.
	Resource string `json:"resource"`
	Name     string `json:"name"`
	// Used is the latest value observed, Limit the latest limit, and
	// UsedRatio their ratio.
	Used      Number `json:"used"`
	Limit     Number `json:"limit"`
	UsedRatio Number `json:"used_ratio"`
	// Growth is the fitted trend of the use.
	Growth Growth `json:"growth"`
	// SecondsToSaturation is when the fitted line reaches Limit (0: it is
	// there), Earliest and Latest the same at the ends of the growth's 95 %
	// band; null when the line (or that end of the band) is flat or
	// falling.
	SecondsToSaturation         Number `json:"seconds_to_saturation"`
	EarliestSecondsToSaturation Number `json:"earliest_seconds_to_saturation"`
	LatestSecondsToSaturation   Number `json:"latest_seconds_to_saturation"`
}

// Names of the series the dashboard records itself for Config.DiskPaths.
const (
	diskUsedMetric = "keel.dashboard.disk.used"
	diskSizeMetric = "keel.dashboard.disk.size"
	diskPathAttr   = "keel.dashboard.path"
)

// saturations are the forecasts of every bulkhead, limiter, pool and disk,
// ordered by resource then name.
func (v viewer) saturations() []Saturation {
	out := []Saturation{}
	const rl = "keel.ratelimit.name"
	inFlightNames, inFlight := groupBy(v.named("keel.ratelimit.in_flight"), rl)
	_, maxInFlight := groupBy(v.named("keel.ratelimit.max_in_flight"), rl)
	for _, name := range inFlightNames {
		if limit, ok := maxInFlight[name]; ok {
			out = append(out, v.saturation(ResourceBulkhead, name, v.valueHistory(inFlight[name]), v.sumLatest(limit)))
		}
	}
	rateNames, rates := groupBy(v.named("keel.ratelimit.rate"), rl)
	_, decisions := groupBy(v.named("keel.ratelimit.decisions"), rl)
	for _, name := range rateNames {
		allowed := filter(decisions[name], attrIs("keel.ratelimit.decision", "allowed"))
		out = append(out, v.saturation(ResourceRateLimit, name, v.rateHistory(allowed), v.sumLatest(rates[name])))
	}
	const pool = "db.client.connection.pool.name"
	poolNames, conns := groupBy(v.named("db.client.connection.count"), pool)
	_, maxes := groupBy(v.named("db.client.connection.max"), pool)
	for _, name := range poolNames {
		if limit, ok := maxes[name]; ok {
			used := filter(conns[name], attrIs("db.client.connection.state", "used"))
			out = append(out, v.saturation(ResourceDBPool, name, v.valueHistory(used), v.sumLatest(limit)))
		}
	}
	diskNames, used := groupBy(v.named(diskUsedMetric), diskPathAttr)
	_, sizes := groupBy(v.named(diskSizeMetric), diskPathAttr)
	for _, name := range diskNames {
		out = append(out, v.saturation(ResourceDisk, name, v.valueHistory(used[name]), v.sumLatest(sizes[name])))
	}
	slices.SortStableFunc(out, func(a, b Saturation) int {
		return cmp.Or(cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// saturation fits use and forecasts when it reaches limit.
func (v viewer) saturation(resource, name string, use History, limit Number) Saturation {
	s := Saturation{Resource: resource, Name: name, Used: Number(nan), Limit: limit, UsedRatio: Number(nan),
		SecondsToSaturation: Number(nan), EarliestSecondsToSaturation: Number(nan), LatestSecondsToSaturation: Number(nan)}
	for i := len(use) - 1; i >= 0; i-- { // the latest value observed
		if use[i].Valid() {
			s.Used = use[i]
			break
		}
	}
	if s.Used.Valid() && limit.Valid() && limit > 0 {
		s.UsedRatio = s.Used / limit
	}
	s.Growth = v.growth(use)
	if !limit.Valid() || !s.Growth.PerSecond.Valid() {
		return s
	}
	tr := Trend{Slope: float64(s.Growth.PerSecond), SlopeLow: float64(s.Growth.Low), SlopeHigh: float64(s.Growth.High),
		Current: float64(s.Growth.Current)}
	if tr.Current >= float64(limit) || float64(s.Used) >= float64(limit) {
		// Saturated now: the fit's line may lag a step it has not caught up with.
		s.SecondsToSaturation, s.EarliestSecondsToSaturation, s.LatestSecondsToSaturation = 0, 0, 0
		return s
	}
	s.SecondsToSaturation, s.EarliestSecondsToSaturation, s.LatestSecondsToSaturation = etas(tr, float64(limit))
	if math.IsNaN(tr.SlopeLow) {
		s.EarliestSecondsToSaturation, s.LatestSecondsToSaturation = Number(nan), Number(nan)
	}
	return s
}
