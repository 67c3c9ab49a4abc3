package dashboard

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// TopN is how many entries each ranking of [Bottlenecks] keeps.
const TopN = 10

// Bottlenecks ranks where the service spends its time over the window, from
// the duration histograms: routes (http.server.request.duration), the
// dependencies it calls over HTTP (http.client.request.duration by
// server.address) and its SQL statements (db.client.operation.duration by
// db.query.summary, from metrics/sqlmetrics). Each list keeps the TopN worst
// entries that had traffic in the window.
type Bottlenecks struct {
	// RoutesByTotalTime is ordered by BusySeconds (rate × mean latency):
	// the routes that occupy the service most.
	RoutesByTotalTime []Cost `json:"routes_by_total_time"`
	// RoutesByP99 is ordered by P99: the routes whose slowest requests are
	// slowest.
	RoutesByP99 []Cost `json:"routes_by_p99"`
	// SlowestDependencies is ordered by P99.
	SlowestDependencies []Cost `json:"slowest_dependencies"`
	// SlowQueries is ordered by BusySeconds; SlowInWindow counts the
	// operations over sqlmetrics' SlowQueryThreshold.
	SlowQueries []Cost `json:"slow_queries"`
}

// Cost is the time one route, dependency or statement took over the window.
// Latencies are in seconds.
type Cost struct {
	// Name is "METHOD route" for a route, the server address for a
	// dependency, "system: query summary" for a statement.
	Name        string `json:"name"`
	PerSecond   Number `json:"per_second"`
	ErrorRatio  Number `json:"error_ratio"`
	MeanSeconds Number `json:"mean_seconds"`
	P99         Number `json:"p99"`
	// BusySeconds is the seconds spent per second of wall time (rate ×
	// mean latency): by Little's law, how many are in progress on average.
	BusySeconds Number `json:"busy_seconds_per_second"`
	// SlowInWindow is for statements only (null elsewhere).
	SlowInWindow Number `json:"slow_in_window"`
}

// costOf sums the window's count, sum and buckets of histogram series.
func (v viewer) costOf(ss []*series) Cost {
	c := Cost{SlowInWindow: Number(nan), PerSecond: Number(nan), ErrorRatio: Number(nan), MeanSeconds: Number(nan), P99: Number(nan), BusySeconds: Number(nan)}
	count, secs, ok := v.sumDelta(ss, nil)
	if !ok || secs <= 0 {
		return c
	}
	var total float64
	for _, sr := range ss {
		if inc, _, k := v.deltaOf(sr.sums); k {
			total += inc
		}
	}
	errs, _, _ := v.sumDelta(ss, isError)
	c.PerSecond, c.ErrorRatio = Number(count/secs), ratio(errs, count)
	c.MeanSeconds, c.BusySeconds = ratio(total, count), Number(total/secs)
	if bounds, counts, ok := v.mergedBuckets(ss); ok {
		c.P99 = Number(quantile(0.99, bounds, counts))
	}
	return c
}

// isError is an HTTP or database series that failed: it carries error.type,
// or an HTTP 5xx status.
func isError(sr *series) bool {
	if _, e := sr.attrs["error.type"]; e {
		return true
	}
	code, _ := strconv.Atoi(sr.attrs["http.response.status_code"])
	return code >= 500
}

// groupByName groups series under a name built from their attributes, in
// name order.
func groupByName(ss []*series, name func(*series) string) ([]string, map[string][]*series) {
	groups := map[string][]*series{}
	var names []string
	for _, sr := range ss {
		k := name(sr)
		if _, ok := groups[k]; !ok {
			names = append(names, k)
		}
		groups[k] = append(groups[k], sr)
	}
	slices.Sort(names)
	return names, groups
}

func (v viewer) costs(metric string, name func(*series) string) []Cost {
	names, groups := groupByName(v.named(metric), name)
	out := make([]Cost, 0, len(names))
	for _, n := range names {
		c := v.costOf(groups[n])
		if !c.PerSecond.Valid() || c.PerSecond == 0 {
			continue // no traffic in the window: nothing to rank
		}
		c.Name = n
		out = append(out, c)
	}
	return out
}

// top sorts by the key, largest first (unknown last, then by name), and
// keeps TopN.
func top(cs []Cost, key func(Cost) Number) []Cost {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b Cost) int {
		ka, kb := float64(key(a)), float64(key(b))
		switch na, nb := math.IsNaN(ka), math.IsNaN(kb); {
		case na && !nb:
			return 1
		case nb && !na:
			return -1
		case !na && ka != kb:
			return cmp.Compare(kb, ka)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return cs[:min(len(cs), TopN)]
}

func (v viewer) bottlenecks() Bottlenecks {
	busy := func(c Cost) Number { return c.BusySeconds }
	p99 := func(c Cost) Number { return c.P99 }
	routes := v.costs("http.server.request.duration", func(sr *series) string {
		return sr.attrs["http.request.method"] + " " + sr.attrs["http.route"]
	})
	deps := v.costs("http.client.request.duration", func(sr *series) string {
		if port := sr.attrs["server.port"]; port != "" {
			return sr.attrs["server.address"] + ":" + port
		}
		return sr.attrs["server.address"]
	})
	queryName := func(sr *series) string {
		return sr.attrs["db.system.name"] + ": " + sr.attrs["db.query.summary"]
	}
	queries := v.costs("db.client.operation.duration", queryName)
	_, slow := groupByName(v.named("keel.sqlmetrics.slow_queries"), queryName)
	for i := range queries {
		queries[i].SlowInWindow = Number(0)
		if inc, _, ok := v.sumDelta(slow[queries[i].Name], nil); ok {
			queries[i].SlowInWindow = Number(inc)
		}
	}
	return Bottlenecks{
		RoutesByTotalTime:   top(routes, busy),
		RoutesByP99:         top(routes, p99),
		SlowestDependencies: top(deps, p99),
		SlowQueries:         top(queries, busy),
	}
}
