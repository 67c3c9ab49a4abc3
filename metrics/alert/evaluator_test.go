package alert_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/metrics/alert"
)

// recorder is a Notifier that keeps what it receives.
type recorder struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (r *recorder) Notify(_ context.Context, a alert.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

func (r *recorder) got() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Alert(nil), r.alerts...)
}

// synthetic is an SDK meter provider with a ManualReader, and the HTTP
// duration histogram metrics.Middleware records, for feeding rules.
type synthetic struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
	duration metric.Float64Histogram
}

func newSynthetic(t *testing.T) *synthetic {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h, err := mp.Meter("test").Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	require.NoError(t, err)
	return &synthetic{reader: reader, provider: mp, duration: h}
}

// requests records n requests of the given status and duration.
func (s *synthetic) requests(n int, status int, seconds float64) {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("http.route", "/orders"),
		attribute.Int("http.response.status_code", status),
	}
	if status >= 500 {
		attrs = append(attrs, attribute.String("error.type", "500"))
	}
	opt := metric.WithAttributes(attrs...)
	for range n {
		s.duration.Record(context.Background(), seconds, opt)
	}
}

func newEvaluator(t *testing.T, cfg alert.Config) *alert.Evaluator {
	t.Helper()
	e, err := alert.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

func TestErrorRatioFiresAfterForThenResolves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		syn := newSynthetic(t)
		rec := &recorder{}
		e := newEvaluator(t, alert.Config{
			Source: syn.reader, Interval: 30 * time.Second, Notifiers: []alert.Notifier{rec}, MeterProvider: syn.provider,
			Rules: []alert.Rule{{Name: "HighErrorRatio", Severity: alert.SeverityCritical, For: 2 * time.Minute,
				Summary: "More than 5% of requests fail", Condition: alert.ErrorRatio{Above: 0.05}}},
		})

		// Traffic arrives 1 s after each evaluation: 10 errors in 110.
		time.Sleep(time.Second)
		for range 12 {
			syn.requests(100, 200, 0.02)
			syn.requests(10, 503, 0.02)
			time.Sleep(30 * time.Second)
			synctest.Wait()
		}
		got := rec.got()
		require.Len(t, got, 1)
		fired := got[0]
		assert.Equal(t, alert.StateFiring, fired.State)
		assert.Equal(t, "HighErrorRatio", fired.Rule)
		assert.Equal(t, alert.SeverityCritical, fired.Severity)
		assert.Equal(t, 30*time.Second, fired.ActiveSince.Sub(start), "pending from the first evaluation with data")
		assert.Equal(t, 2*time.Minute+30*time.Second, fired.FiredAt.Sub(start), "fired once For elapsed")
		assert.InDelta(t, 10.0/110, fired.Value, 1e-9)
		assert.Equal(t, 0.05, fired.Threshold)
		assert.Equal(t, []alert.Alert{fired}, e.Alerts())
		assert.EqualValues(t, 1, firing(t, syn.reader, "HighErrorRatio"))

		// Clean traffic: the errors leave the 5 min window and it resolves.
		stop := time.Now()
		for range 12 {
			syn.requests(110, 200, 0.02)
			time.Sleep(30 * time.Second)
			synctest.Wait()
		}
		got = rec.got()
		require.Len(t, got, 2)
		resolved := got[1]
		assert.Equal(t, alert.StateResolved, resolved.State)
		assert.Equal(t, fired.FiredAt, resolved.FiredAt)
		after := resolved.ResolvedAt.Sub(stop)
		assert.True(t, after >= 2*time.Minute && after <= 4*time.Minute, "resolved %v after the errors stopped", after)
		assert.Less(t, resolved.Value, 0.05)
		assert.Empty(t, e.Alerts())
		assert.EqualValues(t, 0, firing(t, syn.reader, "HighErrorRatio"))
	})
}

// firing reads keel.alert.firing for a rule.
func firing(t *testing.T, reader *sdkmetric.ManualReader, rule string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "keel.alert.firing" {
				continue
			}
			for _, p := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				if v, _ := p.Attributes.Value("keel.alert.rule"); v.AsString() == rule {
					return p.Value
				}
			}
		}
	}
	t.Fatalf("no keel.alert.firing for %s", rule)
	return -1
}

func TestFlappingConditionNeverFires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		rec := &recorder{}
		newEvaluator(t, alert.Config{
			Source: syn.reader, Interval: 30 * time.Second, Notifiers: []alert.Notifier{rec},
			Rules: []alert.Rule{{Name: "QueueLong", For: time.Minute,
				Condition: alert.Threshold{Metric: "queue.length", Value: 100}}},
		})
		gauge, err := syn.provider.Meter("test").Int64Gauge("queue.length")
		require.NoError(t, err)
		time.Sleep(time.Second)
		for i := range 20 {
			v := int64(50)
			if i%2 == 0 {
				v = 500 // above for 30 s, then below: never a full minute
			}
			gauge.Record(context.Background(), v)
			time.Sleep(30 * time.Second)
			synctest.Wait()
		}
		assert.Empty(t, rec.got())
	})
}

func TestLatencyQuantileFires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		rec := &recorder{}
		newEvaluator(t, alert.Config{
			Source: syn.reader, Interval: 15 * time.Second, Notifiers: []alert.Notifier{rec},
			Rules: []alert.Rule{{Name: "SlowRequests", Severity: alert.SeverityWarning,
				Condition: alert.LatencyQuantile{Quantile: 0.99, Above: 5}}},
		})
		time.Sleep(time.Second)
		syn.requests(1000, 200, 0.02)
		time.Sleep(15 * time.Second)
		synctest.Wait()
		assert.Empty(t, rec.got(), "p99 of fast traffic is far below 5 s")

		syn.requests(100, 200, 6) // 100 of 1100 in (5, 7.5]: p99 is there
		time.Sleep(15 * time.Second)
		synctest.Wait()
		got := rec.got()
		require.Len(t, got, 1)
		assert.Equal(t, alert.StateFiring, got[0].State)
		// rank 0.99*1100 = 1089 lies 89/100 into the (5, 7.5] bucket.
		assert.InDelta(t, 5+2.5*89.0/100, got[0].Value, 1e-9)
	})
}

func TestThresholdWithMatchAndBelow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		rec := &recorder{}
		newEvaluator(t, alert.Config{
			Source: syn.reader, Interval: 10 * time.Second, Notifiers: []alert.Notifier{rec},
			Rules: []alert.Rule{
				{Name: "PaymentsBreakerOpen", Severity: alert.SeverityCritical,
					Condition: alert.Threshold{Metric: "keel.breaker.state", Value: 0.5,
						Match: alert.Match{"keel.breaker.name": "payments", "keel.breaker.state": "open"}}},
				{Name: "FewWorkers", Condition: alert.Threshold{Metric: "workers", Op: alert.Below, Value: 2}},
			},
		})
		state, err := syn.provider.Meter("test").Int64Gauge("keel.breaker.state")
		require.NoError(t, err)
		workers, err := syn.provider.Meter("test").Int64UpDownCounter("workers")
		require.NoError(t, err)
		open := func(name string, v int64) {
			state.Record(context.Background(), v, metric.WithAttributes(
				attribute.String("keel.breaker.name", name), attribute.String("keel.breaker.state", "open")))
		}
		time.Sleep(time.Second)
		open("search", 1) // another breaker: not matched
		open("payments", 0)
		workers.Add(context.Background(), 4)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Empty(t, rec.got())

		open("payments", 1)
		workers.Add(context.Background(), -3)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := rec.got()
		require.Len(t, got, 2)
		assert.Equal(t, "PaymentsBreakerOpen", got[0].Rule)
		assert.Equal(t, 1.0, got[0].Value)
		assert.Equal(t, "FewWorkers", got[1].Rule)
		assert.Equal(t, 1.0, got[1].Value)
	})
}

func TestRepeatInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		rec := &recorder{}
		newEvaluator(t, alert.Config{
			Source: syn.reader, Interval: time.Minute, RepeatInterval: 5 * time.Minute, Notifiers: []alert.Notifier{rec},
			Rules: []alert.Rule{{Name: "Big", Condition: alert.Threshold{Metric: "size", Value: 1}}},
		})
		g, err := syn.provider.Meter("test").Float64Gauge("size")
		require.NoError(t, err)
		g.Record(context.Background(), 2)
		time.Sleep(11*time.Minute + time.Second)
		synctest.Wait()
		got := rec.got()
		require.Len(t, got, 3, "fired at 0, repeated at 5 and 10 min")
		for _, a := range got {
			assert.Equal(t, alert.StateFiring, a.State)
		}
	})
}

// failingSource fails every collection.
type failingSource struct{}

func (failingSource) Collect(context.Context, *metricdata.ResourceMetrics) error {
	return assert.AnError
}

func TestCollectionFailureIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		newEvaluator(t, alert.Config{Source: failingSource{}, MeterProvider: syn.provider,
			Rules: []alert.Rule{{Name: "X", Condition: alert.Threshold{Metric: "x", Value: 1}}}})
		time.Sleep(alert.DefaultInterval)
		synctest.Wait()
		var rm metricdata.ResourceMetrics
		require.NoError(t, syn.reader.Collect(context.Background(), &rm))
		var failures int64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if sm.Scope.Name == alert.ScopeName {
					assert.NotEmpty(t, m.Description, m.Name)
					assert.NotEmpty(t, m.Unit, m.Name)
				}
				if m.Name == "keel.alert.evaluations" {
					for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
						if v, _ := p.Attributes.Value("keel.alert.outcome"); v.AsString() == "failure" {
							failures = p.Value
						}
					}
				}
			}
		}
		assert.EqualValues(t, 2, failures, "at start and after one interval")
	})
}

func TestNewValidates(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	ok := alert.Rule{Name: "Ok", Condition: alert.ErrorRatio{Above: 0.1}}
	for _, tc := range []struct {
		cfg  alert.Config
		want string
	}{
		{alert.Config{Rules: []alert.Rule{ok}}, "alert: Config.Source must not be nil"},
		{alert.Config{Source: reader}, "alert: Config.Rules must not be empty"},
		{alert.Config{Source: reader, Rules: []alert.Rule{ok}, Interval: -1}, "alert: Config.Interval must be >= 0, got -1ns"},
		{alert.Config{Source: reader, Rules: []alert.Rule{ok}, Notifiers: []alert.Notifier{nil}}, "alert: Config.Notifiers[0] must not be nil"},
		{alert.Config{Source: reader, Rules: []alert.Rule{ok, ok}}, "alert: two rules are named Ok"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "5xx", Condition: alert.ErrorRatio{Above: 0.1}}}},
			`alert: Rule.Name must match [A-Za-z_][A-Za-z0-9_]*, got "5xx"`},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", Severity: "page", Condition: alert.ErrorRatio{Above: 0.1}}}},
			`alert: Rule.Severity of A must be critical, warning or info, got "page"`},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", For: -time.Second, Condition: alert.ErrorRatio{Above: 0.1}}}},
			"alert: Rule.For of A must be >= 0, got -1s"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A"}}}, "alert: Rule.Condition of A must not be nil"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", Condition: alert.ErrorRatio{Above: 5}}}},
			"alert: Rule.Condition of A: ErrorRatio.Above must be in (0,1), got 5"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", Condition: alert.LatencyQuantile{Quantile: 1.5, Above: 1}}}},
			"alert: Rule.Condition of A: LatencyQuantile.Quantile must be in (0,1), got 1.5"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", Condition: alert.LatencyQuantile{}}}},
			"alert: Rule.Condition of A: LatencyQuantile.Above must be a positive number, got 0"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", Condition: alert.Threshold{}}}},
			"alert: Rule.Condition of A: Threshold.Metric must not be empty"},
		{alert.Config{Source: reader, Rules: []alert.Rule{{Name: "A", Condition: alert.Threshold{Metric: "m", Op: 9}}}},
			"alert: Rule.Condition of A: Threshold.Op must be Above or Below, got 9"},
	} {
		_, err := alert.New(tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
}

// TestDeltaReaderIsIgnored: windows need cumulative totals, so points from
// a delta-temporality reader are not data (the rule stays silent rather
// than computing nonsense).
func TestDeltaReaderIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(
			func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		h, err := mp.Meter("test").Int64Histogram("http.server.request.duration", metric.WithUnit("s"))
		require.NoError(t, err)
		rec := &recorder{}
		newEvaluator(t, alert.Config{Source: reader, Notifiers: []alert.Notifier{rec},
			Rules: []alert.Rule{{Name: "Errors", Condition: alert.ErrorRatio{Above: 0.01}}}})
		time.Sleep(time.Second)
		for range 5 {
			h.Record(context.Background(), 1, metric.WithAttributes(attribute.String("error.type", "500")))
			time.Sleep(alert.DefaultInterval)
			synctest.Wait()
		}
		assert.Empty(t, rec.got())
	})
}

func TestIntegerHistogramsCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		h, err := mp.Meter("test").Int64Histogram("rpc.server.duration", metric.WithUnit("ms"),
			metric.WithExplicitBucketBoundaries(10, 100, 1000))
		require.NoError(t, err)
		rec := &recorder{}
		newEvaluator(t, alert.Config{Source: reader, Notifiers: []alert.Notifier{rec},
			Rules: []alert.Rule{{Name: "SlowRPC", Condition: alert.LatencyQuantile{Metric: "rpc.server.duration", Unit: "ms", Quantile: 0.5, Above: 100}}}})
		time.Sleep(time.Second)
		for range 10 {
			h.Record(context.Background(), 500)
		}
		time.Sleep(alert.DefaultInterval)
		synctest.Wait()
		got := rec.got()
		require.Len(t, got, 1)
		assert.InDelta(t, 100+900*0.5, got[0].Value, 1e-9, "median inside the (100, 1000] bucket")
	})
}

// A nil Logger means no logs: the failure paths, which log, do not panic.
func TestNilLoggerOnTheFailurePaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		newEvaluator(t, alert.Config{Source: failingSource{}, MeterProvider: syn.provider,
			Rules: []alert.Rule{{Name: "X", Condition: alert.Threshold{Metric: "x", Value: 1}}}})
		synctest.Wait() // the first evaluation failed to collect, and logged nowhere

		notifier := &failingNotifier{}
		newEvaluator(t, alert.Config{Source: syn.reader, Interval: 10 * time.Second,
			Notifiers: []alert.Notifier{notifier},
			Rules:     []alert.Rule{{Name: "Busy", Condition: alert.Threshold{Metric: "busy", Value: 1}}}})
		busy, err := syn.provider.Meter("test").Int64Gauge("busy")
		require.NoError(t, err)
		busy.Record(context.Background(), 5)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, int64(1), notifier.calls.Load(), "the firing alert was sent, its failure logged nowhere")
	})
}
