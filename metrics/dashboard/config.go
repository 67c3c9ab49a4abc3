package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults used for the zero fields of [Config].
const (
	DefaultInterval   = 5 * time.Second
	DefaultHistory    = time.Hour
	DefaultRateWindow = time.Minute
	DefaultMaxSeries  = 500
	// MaxBuckets is the most explicit bucket bounds kept per histogram
	// series; a histogram with more is recorded without its buckets (count
	// and sum only), so that no series can grow past the documented bound.
	MaxBuckets = 64
	// MaxAttributes is the most attributes kept per series; more are cut.
	MaxAttributes = 16
	// MaxValueLen is the most bytes kept of an attribute value; longer
	// values are cut at that length.
	MaxValueLen = 200
)

// Config configures [New].
type Config struct {
	// Interval is how often the dashboard collects the reader. Default 5 s;
	// at least 100 ms.
	Interval time.Duration
	// History is how much time the ring keeps. Default one hour. The ring
	// holds History/Interval samples (at most 100 000).
	History time.Duration
	// RateWindow is the span over which rates, ratios and quantiles of the
	// "now" view are computed. Default one minute; at least one Interval.
	RateWindow time.Duration
	// MaxSeries caps the number of distinct series (metric and attribute
	// set) kept. Series first seen once the cap is reached are not kept and
	// are counted in Snapshot.DroppedSeries. Default 500.
	MaxSeries int

	// Forecasts asks for a linear trend and a time to threshold of every
	// series of the named gauges (or up-down counters). The times are also
	// exported as the gauge keel.dashboard.forecast.seconds_to_threshold.
	Forecasts []Forecast
	// MeterProvider exports the forecasts. Nil means the otel global.
	MeterProvider metric.MeterProvider

	// DiskPaths are directories (the audit log's, the backups') whose file
	// system's fill is forecast (Snapshot.Saturations, resource "disk"):
	// every Interval the dashboard reads the file system's size and the
	// bytes used (statfs; Linux and macOS). New refuses a path it cannot
	// read.
	DiskPaths []string

	// Authorize decides whether a request may see the dashboard; false
	// answers 403. Either Authorize or Public is required.
	Authorize func(r *http.Request) bool
	// Public serves the dashboard to anyone who can reach it. Set it only
	// behind a network boundary you trust.
	Public bool
}

// Forecast names a gauge whose series are fitted with a straight line over
// the history, and the value whose crossing is predicted.
type Forecast struct {
	// Metric is the OpenTelemetry metric name, e.g. "go.memory.used".
	Metric string
	// Threshold is the value whose crossing is predicted.
	Threshold float64
}

const maxPoints = 100_000

// settings is Config with defaults applied and derived sizes.
type settings struct {
	Config
	points        int // samples in the ring
	windowSamples int // samples in RateWindow
}

func (c Config) resolve() (settings, error) {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.RateWindow == 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	switch {
	case c.Interval < 100*time.Millisecond:
		return settings{}, fmt.Errorf("dashboard: Config.Interval %v is below 100ms", c.Interval)
	case c.History < c.Interval:
		return settings{}, fmt.Errorf("dashboard: Config.History %v is shorter than Config.Interval %v", c.History, c.Interval)
	case c.History/c.Interval > maxPoints:
		return settings{}, fmt.Errorf("dashboard: Config.History/Config.Interval is %d samples, more than %d", c.History/c.Interval, maxPoints)
	case c.RateWindow < c.Interval:
		return settings{}, fmt.Errorf("dashboard: Config.RateWindow %v is shorter than Config.Interval %v", c.RateWindow, c.Interval)
	case c.RateWindow > c.History:
		return settings{}, fmt.Errorf("dashboard: Config.RateWindow %v is longer than Config.History %v", c.RateWindow, c.History)
	case c.MaxSeries < 0:
		return settings{}, fmt.Errorf("dashboard: Config.MaxSeries %d is negative", c.MaxSeries)
	case c.Authorize == nil && !c.Public:
		return settings{}, errors.New("dashboard: set Config.Authorize, or Config.Public to serve the dashboard to anyone")
	}
	for i, f := range c.Forecasts {
		if f.Metric == "" {
			return settings{}, fmt.Errorf("dashboard: Config.Forecasts[%d].Metric is empty", i)
		}
	}
	return settings{
		Config:        c,
		points:        int(c.History / c.Interval),
		windowSamples: max(1, int(c.RateWindow/c.Interval)),
	}, nil
}

// memoryBound is the most bytes the ring's sample arrays can hold: see the
// package documentation.
func (s settings) memoryBound() int {
	return s.points*8 + s.MaxSeries*seriesBound(s.points, s.windowSamples)
}

// seriesBound is the most bytes of samples one series can hold: a histogram
// series keeps five float64 per point (count, sum, p50, p95, p99) and a
// window of bucket snapshots; a scalar one a single float64 per point.
func seriesBound(points, window int) int {
	return 5*points*8 + window*(MaxBuckets+1)*8
}

// watchWindow is how long after an API request the sampler keeps building
// the API document ahead of the next one: three intervals, or the rate
// window if longer, so that a client polling at any period up to that finds
// it ready.
func (s settings) watchWindow() time.Duration {
	return max(3*s.Interval, s.RateWindow)
}
