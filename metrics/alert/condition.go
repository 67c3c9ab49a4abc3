package alert

import (
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// DefaultMetric is the histogram ErrorRatio and LatencyQuantile read when
// their Metric is empty: the one metrics.Middleware records.
const DefaultMetric = "http.server.request.duration"

// DefaultWindow is the window of ErrorRatio and LatencyQuantile when theirs
// is zero.
const DefaultWindow = 5 * time.Minute

// Condition is what a rule tests. The implementations are [ErrorRatio],
// [LatencyQuantile] and [Threshold].
type Condition interface {
	// normalize validates the condition and fills defaults.
	normalize() (Condition, error)
	// newState creates the per-rule evaluation state.
	newState() conditionState
	// threshold is the value the condition compares against.
	threshold() float64
	// promQL is the condition as a Prometheus expression.
	promQL() (string, error)
}

// conditionState evaluates a condition over successive collections.
type conditionState interface {
	// observe returns the condition's current value and whether it holds;
	// ok is false when there is no data (no series, or no traffic in the
	// window), which never fires.
	observe(rm *metricdata.ResourceMetrics, now time.Time) (value float64, holds, ok bool)
}

// Match restricts a condition to data points whose attributes have these
// values (compared as strings: "503" matches the integer 503).
type Match map[string]string

func (m Match) matches(set attribute.Set) bool {
	for k, want := range m {
		v, ok := set.Value(attribute.Key(k))
		if !ok || v.String() != want {
			return false
		}
	}
	return true
}

// ErrorRatio holds when, over Window, the share of requests that failed
// exceeds Above. A request failed when its data point carries a non-empty
// error.type attribute, which the HTTP semantic conventions (and
// metrics.Middleware) set for every 5xx response and for requests that
// ended in an error before a status was sent.
type ErrorRatio struct {
	// Metric is a histogram of requests; zero means DefaultMetric.
	Metric string
	// Unit is Metric's unit, needed for its Prometheus name; zero means "s".
	Unit string
	// Window defaults to DefaultWindow.
	Window time.Duration
	// Above is the ratio in (0, 1) that, when exceeded, makes the
	// condition hold (0.05 for 5 %).
	Above float64
	// MinRequests is the number of requests in the window below which the
	// condition does not hold, so that 1 failure in 3 requests at night does
	// not page. Zero means 1.
	MinRequests uint64
	// Match restricts the requests considered (a route, a method).
	Match Match
}

func (c ErrorRatio) normalize() (Condition, error) {
	if c.Metric == "" {
		c.Metric = DefaultMetric
	}
	if c.Unit == "" {
		c.Unit = "s"
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Window < 0 {
		return nil, fmt.Errorf("ErrorRatio.Window must be > 0, got %v", c.Window)
	}
	if !(c.Above > 0 && c.Above < 1) {
		return nil, fmt.Errorf("ErrorRatio.Above must be in (0,1), got %v", c.Above)
	}
	if c.MinRequests == 0 {
		c.MinRequests = 1
	}
	return c, nil
}

func (c ErrorRatio) threshold() float64 { return c.Above }

func (c ErrorRatio) newState() conditionState { return &errorRatioState{cond: c} }

type errorRatioState struct {
	cond ErrorRatio
	hist history
}

func (s *errorRatioState) observe(rm *metricdata.ResourceMetrics, now time.Time) (float64, bool, bool) {
	var errs, total uint64
	start, found := time.Time{}, false
	forEachHistogramPoint(rm, s.cond.Metric, func(attrs attribute.Set, count uint64, _ []float64, _ []uint64, st time.Time) {
		if !s.cond.Match.matches(attrs) {
			return
		}
		if v, ok := attrs.Value("error.type"); ok && v.String() != "" {
			errs += count
		}
		total += count
		if !found || st.Before(start) {
			start = st
		}
		found = true
	})
	if !found {
		return math.NaN(), false, false
	}
	delta, ok := s.hist.windowDelta(sample{at: now, start: start, values: []float64{float64(errs), float64(total)}}, s.cond.Window)
	if !ok || delta[1] < float64(s.cond.MinRequests) || delta[1] == 0 {
		return math.NaN(), false, false
	}
	ratio := delta[0] / delta[1]
	return ratio, ratio > s.cond.Above, true
}

// LatencyQuantile holds when the Quantile of a histogram over Window,
// estimated from its buckets as Prometheus' histogram_quantile does,
// exceeds Above.
type LatencyQuantile struct {
	// Metric is the histogram; zero means DefaultMetric.
	Metric string
	// Unit is Metric's unit (and Above's); zero means "s".
	Unit string
	// Quantile in (0,1); zero means 0.99.
	Quantile float64
	// Window defaults to DefaultWindow.
	Window time.Duration
	// Above is the latency, in Unit, that the quantile must exceed.
	Above float64
	// Match restricts the series considered.
	Match Match
}

func (c LatencyQuantile) normalize() (Condition, error) {
	if c.Metric == "" {
		c.Metric = DefaultMetric
	}
	if c.Unit == "" {
		c.Unit = "s"
	}
	if c.Quantile == 0 {
		c.Quantile = 0.99
	}
	if !(c.Quantile > 0 && c.Quantile < 1) {
		return nil, fmt.Errorf("LatencyQuantile.Quantile must be in (0,1), got %v", c.Quantile)
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Window < 0 {
		return nil, fmt.Errorf("LatencyQuantile.Window must be > 0, got %v", c.Window)
	}
	if !(c.Above > 0) || !finite(c.Above) {
		return nil, fmt.Errorf("LatencyQuantile.Above must be a positive number, got %v", c.Above)
	}
	return c, nil
}

func (c LatencyQuantile) threshold() float64 { return c.Above }

func (c LatencyQuantile) newState() conditionState { return &latencyState{cond: c} }

type latencyState struct {
	cond   LatencyQuantile
	bounds []float64
	hist   history
}

func (s *latencyState) observe(rm *metricdata.ResourceMetrics, now time.Time) (float64, bool, bool) {
	var counts []float64
	var bounds []float64
	start, found := time.Time{}, false
	forEachHistogramPoint(rm, s.cond.Metric, func(attrs attribute.Set, _ uint64, b []float64, bc []uint64, st time.Time) {
		if !s.cond.Match.matches(attrs) {
			return
		}
		if bounds == nil {
			bounds = b
			counts = make([]float64, len(bc))
		} else if !equalBounds(bounds, b) {
			// Series with other boundaries (a view changed them) cannot be
			// merged bucket by bucket; the first series' layout wins.
			return
		}
		for i, n := range bc {
			counts[i] += float64(n)
		}
		if !found || st.Before(start) {
			start = st
		}
		found = true
	})
	if !found {
		return math.NaN(), false, false
	}
	if !equalBounds(s.bounds, bounds) {
		// A new layout makes earlier samples incomparable.
		s.bounds = append([]float64(nil), bounds...)
		s.hist = history{}
	}
	delta, ok := s.hist.windowDelta(sample{at: now, start: start, values: counts}, s.cond.Window)
	if !ok {
		return math.NaN(), false, false
	}
	q := bucketQuantile(s.cond.Quantile, bounds, delta)
	if math.IsNaN(q) {
		return q, false, false
	}
	return q, q > s.cond.Above, true
}

func equalBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// bucketQuantile estimates the q-quantile from per-bucket counts (the last
// bucket is +Inf) by linear interpolation inside the bucket that holds the
// rank, as Prometheus' histogram_quantile does: a rank in the +Inf bucket
// gives the highest finite bound, and the first bucket starts at 0.
func bucketQuantile(q float64, bounds, counts []float64) float64 {
	var total float64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(counts) != len(bounds)+1 {
		return math.NaN()
	}
	rank := q * total
	var cum float64
	for i, c := range counts {
		if cum+c < rank || c == 0 {
			cum += c
			continue
		}
		if i == len(bounds) { // +Inf bucket
			if len(bounds) == 0 {
				return math.NaN()
			}
			return bounds[len(bounds)-1]
		}
		lower := 0.0
		if i > 0 {
			lower = bounds[i-1]
		} else if bounds[0] <= 0 {
			return bounds[0]
		}
		return lower + (bounds[i]-lower)*((rank-cum)/c)
	}
	return bounds[len(bounds)-1]
}

// Comparison is how a [Threshold] compares.
type Comparison int

const (
	// Above holds when the largest matching value exceeds the threshold.
	Above Comparison = iota
	// Below holds when the smallest matching value is under the threshold.
	Below
)

// Threshold holds when a gauge (or an up-down counter, or a counter's
// cumulative value) crosses Value: a breaker open, a backup too old, a
// queue too long. With several matching series, Above compares the largest
// value and Below the smallest.
type Threshold struct {
	// Metric is required.
	Metric string
	// Unit is Metric's unit, needed for its Prometheus name ("s", "By",
	// "{item}" …). Zero means none.
	Unit string
	// Op is Above (default) or Below.
	Op Comparison
	// Value is the threshold.
	Value float64
	// Match restricts the series considered.
	Match Match
}

func (c Threshold) normalize() (Condition, error) {
	if c.Metric == "" {
		return nil, errors.New("Threshold.Metric must not be empty")
	}
	if c.Op != Above && c.Op != Below {
		return nil, fmt.Errorf("Threshold.Op must be Above or Below, got %d", int(c.Op))
	}
	if !finite(c.Value) {
		return nil, fmt.Errorf("Threshold.Value must be finite, got %v", c.Value)
	}
	return c, nil
}

func (c Threshold) threshold() float64 { return c.Value }

func (c Threshold) newState() conditionState { return thresholdState{c} }

type thresholdState struct{ cond Threshold }

func (s thresholdState) observe(rm *metricdata.ResourceMetrics, _ time.Time) (float64, bool, bool) {
	value, found := 0.0, false
	forEachValue(rm, s.cond.Metric, func(attrs attribute.Set, v float64) {
		if !s.cond.Match.matches(attrs) {
			return
		}
		if !found || (s.cond.Op == Above && v > value) || (s.cond.Op == Below && v < value) {
			value = v
		}
		found = true
	})
	if !found {
		return math.NaN(), false, false
	}
	if s.cond.Op == Below {
		return value, value < s.cond.Value, true
	}
	return value, value > s.cond.Value, true
}
