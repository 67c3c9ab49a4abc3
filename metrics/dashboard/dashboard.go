package dashboard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Dashboard samples a MeterProvider's metrics into an in-memory ring and
// serves them as a page and a JSON document. Create it with [New], attach
// [Dashboard.Reader] to the MeterProvider, mount it, and Close it.
type Dashboard struct {
	cfg    settings
	reader *sdkmetric.ManualReader

	mu         sync.Mutex
	hist       *history
	lastErr    string
	collectErr int
	// version counts the samples that changed what a snapshot shows (data
	// or an error): the API document is rebuilt only when it moves.
	version uint64

	api apiCache

	// rm is reused from sample to sample (the SDK refills its slices); only
	// the sampling goroutine touches it.
	rm metricdata.ResourceMetrics

	stop chan struct{}
	done chan struct{}
	once sync.Once

	exported metric.Registration // the forecast gauges' callback
	disks    []disk              // Config.DiskPaths
}

// New validates cfg and starts sampling every cfg.Interval. The reader it
// samples is [Dashboard.Reader]: until it is registered with a
// MeterProvider, samples are skipped.
func New(cfg Config) (*Dashboard, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	d := &Dashboard{
		cfg:    s,
		reader: sdkmetric.NewManualReader(),
		hist:   newHistory(s),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if d.disks, err = newDisks(cfg.DiskPaths); err != nil {
		return nil, err
	}
	if d.exported, err = d.exportForecasts(cfg.MeterProvider); err != nil {
		return nil, fmt.Errorf("dashboard: creating the forecast gauge: %w", err)
	}
	go d.run()
	return d, nil
}

// Reader is the metric reader the dashboard collects. Register it with the
// MeterProvider, through metrics.Config.Readers or [Dashboard.Option]. It
// must be registered with exactly one provider.
func (d *Dashboard) Reader() sdkmetric.Reader { return d.reader }

// Option registers [Dashboard.Reader] with a MeterProvider built directly
// with sdkmetric.NewMeterProvider.
func (d *Dashboard) Option() sdkmetric.Option { return sdkmetric.WithReader(d.reader) }

// Close stops sampling; the handler goes on serving the history taken so
// far. It does not shut the reader down (the MeterProvider owns it). Close
// is safe to call more than once.
func (d *Dashboard) Close() error {
	d.once.Do(func() {
		close(d.stop)
		if d.exported != nil {
			_ = otelglobal.Unregister(d.exported)
		}
	})
	<-d.done
	return nil
}

func (d *Dashboard) run() {
	defer close(d.done)
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			d.sample(context.Background(), now)
			d.api.refreshIfWatched(d, now)
		}
	}
}

// sample collects the reader once and appends the result to the ring.
func (d *Dashboard) sample(ctx context.Context, now time.Time) {
	rm := &d.rm
	err := d.reader.Collect(ctx, rm)
	d.mu.Lock()
	defer d.mu.Unlock()
	if errors.Is(err, sdkmetric.ErrReaderNotRegistered) {
		return // not attached yet: nothing to show, nothing wrong
	}
	if err != nil {
		d.collectErr++
		d.lastErr = err.Error()
		d.version++
		if len(rm.ScopeMetrics) == 0 {
			return
		}
	}
	d.version++
	h := d.hist
	h.begin(now)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			record(h, sm.Scope.Name, m)
		}
	}
	recordDisks(h, d.disks)
	h.end()
}

func record(h *history, scope string, m metricdata.Metrics) {
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		kind := kindOfSum(data.IsMonotonic)
		for _, p := range data.DataPoints {
			if sr := h.lookup(seriesKey{scope, m.Name, p.Attributes.Equivalent()}, m.Unit, kind, p.Attributes); sr != nil {
				h.observeScalar(sr, float64(p.Value))
			}
		}
	case metricdata.Sum[float64]:
		kind := kindOfSum(data.IsMonotonic)
		for _, p := range data.DataPoints {
			if sr := h.lookup(seriesKey{scope, m.Name, p.Attributes.Equivalent()}, m.Unit, kind, p.Attributes); sr != nil {
				h.observeScalar(sr, p.Value)
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range data.DataPoints {
			if sr := h.lookup(seriesKey{scope, m.Name, p.Attributes.Equivalent()}, m.Unit, KindGauge, p.Attributes); sr != nil {
				h.observeScalar(sr, float64(p.Value))
			}
		}
	case metricdata.Gauge[float64]:
		for _, p := range data.DataPoints {
			if sr := h.lookup(seriesKey{scope, m.Name, p.Attributes.Equivalent()}, m.Unit, KindGauge, p.Attributes); sr != nil {
				h.observeScalar(sr, p.Value)
			}
		}
	case metricdata.Histogram[int64]:
		for _, p := range data.DataPoints {
			if sr := h.lookup(seriesKey{scope, m.Name, p.Attributes.Equivalent()}, m.Unit, KindHistogram, p.Attributes); sr != nil {
				h.observeHistogram(sr, p.Count, float64(p.Sum), p.Bounds, p.BucketCounts)
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range data.DataPoints {
			if sr := h.lookup(seriesKey{scope, m.Name, p.Attributes.Equivalent()}, m.Unit, KindHistogram, p.Attributes); sr != nil {
				h.observeHistogram(sr, p.Count, p.Sum, p.Bounds, p.BucketCounts)
			}
		}
	}
	// Exponential histograms and summaries are not shown (Keel emits none).
}

func kindOfSum(monotonic bool) Kind {
	if monotonic {
		return KindCounter
	}
	return KindGauge
}

// MemoryBound is the most bytes the ring's sample arrays can hold with this
// configuration (see the package documentation for the formula); series
// names and attributes come on top, at most MaxAttributes values of
// MaxValueLen bytes per series.
func (d *Dashboard) MemoryBound() int { return d.cfg.memoryBound() }
