package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/keel-go/keel/audit"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Finding is what an anomaly rule reports.
type Finding struct {
	Rule    string    `json:"rule"`
	ActorID string    `json:"actor_id,omitempty"`
	Time    time.Time `json:"time"`
	// Count is how many events the rule counted (in its window).
	Count  int    `json:"count"`
	Detail string `json:"detail"`
	// Event is the event that triggered the finding. Its sensitive fields
	// are already masked or HMAC'd when it comes from a Logger.
	Event audit.Event `json:"-"`
}

// Rule examines events one at a time. A Detector calls its rules from one
// goroutine at a time, so a Rule need not be safe for concurrent use. Rules
// judge by the event's Time, not the clock, so replaying a log gives the
// same findings.
type Rule interface {
	Name() string
	Observe(e audit.Event) (Finding, bool)
}

// Notifier receives findings. Notify is called from the Detector's delivery
// goroutine, one finding at a time.
type Notifier interface {
	Notify(ctx context.Context, f Finding) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, f Finding) error

// Notify calls fn.
func (fn NotifierFunc) Notify(ctx context.Context, f Finding) error { return fn(ctx, f) }

// SlogNotifier logs each finding at level Warn. It never fails; a nil
// Logger logs nothing.
type SlogNotifier struct {
	Logger *slog.Logger
}

// Notify logs f.
func (n SlogNotifier) Notify(ctx context.Context, f Finding) error {
	if n.Logger == nil {
		return nil
	}
	n.Logger.WarnContext(ctx, "audit: anomaly", "rule", f.Rule, "actor", f.ActorID, "count", f.Count,
		"detail", f.Detail, "time", f.Time)
	return nil
}

// scope is the instrumentation scope of the package's meter.
const scope = "github.com/keel-go/keel/audit/detect"

// Config configures a Detector.
type Config struct {
	// Rules to run over every observed event. Required.
	Rules []Rule
	// Notifiers receive every finding, in order. Required.
	Notifiers []Notifier
	// QueueSize bounds findings waiting for delivery. When it is full a
	// finding is not delivered: it is counted in keel.audit.findings.dropped
	// and logged. Default 1024.
	QueueSize int
	// NotifyTimeout bounds one Notify call. Default 30 seconds.
	NotifyTimeout time.Duration
	// Logger receives delivery failures. Nil: no logs (New sets a
	// discarding one).
	Logger *slog.Logger
	// MeterProvider: nil means the otel global.
	MeterProvider metric.MeterProvider
}

// Detector runs anomaly rules over a live stream of events (give it to
// audit.Config.Observer, or call Observe yourself) and delivers findings to
// notifiers from its own goroutine, so a slow webhook never slows logging.
type Detector struct {
	cfg      Config
	mu       sync.Mutex // serialises the rules
	findings chan Finding
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	found, lost, notifyErrors metric.Int64Counter
}

// New validates cfg and starts the delivery goroutine; Close stops it.
func New(cfg Config) (*Detector, error) {
	if len(cfg.Rules) == 0 {
		return nil, errors.New("detect: Config.Rules must name at least one rule")
	}
	if len(cfg.Notifiers) == 0 {
		return nil, errors.New("detect: Config.Notifiers must name at least one notifier")
	}
	for i, r := range cfg.Rules {
		if r == nil {
			return nil, fmt.Errorf("detect: Config.Rules[%d] is nil", i)
		}
		if v, ok := r.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return nil, fmt.Errorf("detect: Config.Rules[%d]: %w", i, err)
			}
		}
	}
	for i, n := range cfg.Notifiers {
		if n == nil {
			return nil, fmt.Errorf("detect: Config.Notifiers[%d] is nil", i)
		}
	}
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("detect: Config.QueueSize must not be negative, got %d", cfg.QueueSize)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1024
	}
	if cfg.NotifyTimeout < 0 {
		return nil, fmt.Errorf("detect: Config.NotifyTimeout must not be negative, got %s", cfg.NotifyTimeout)
	}
	if cfg.NotifyTimeout == 0 {
		cfg.NotifyTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	d := &Detector{cfg: cfg, findings: make(chan Finding, cfg.QueueSize), stop: make(chan struct{}), done: make(chan struct{})}
	var err error
	if d.found, err = m.Int64Counter("keel.audit.findings", metric.WithUnit("{finding}"),
		metric.WithDescription("Anomalies found, by rule.")); err != nil {
		return nil, err
	}
	if d.lost, err = m.Int64Counter("keel.audit.findings.dropped", metric.WithUnit("{finding}"),
		metric.WithDescription("Findings not delivered because the delivery queue was full.")); err != nil {
		return nil, err
	}
	if d.notifyErrors, err = m.Int64Counter("keel.audit.notify.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Notifier calls that failed.")); err != nil {
		return nil, err
	}
	go d.deliver()
	return d, nil
}

// Observe runs every rule over e and queues what they find. It never blocks
// on delivery. It is audit.Observer's method: a Logger calls it with each
// event once persisted.
func (d *Detector) Observe(e audit.Event) {
	d.mu.Lock()
	var found []Finding
	for _, r := range d.cfg.Rules {
		if f, ok := r.Observe(e); ok {
			if f.Rule == "" {
				f.Rule = r.Name()
			}
			found = append(found, f)
		}
	}
	d.mu.Unlock()
	ctx := context.Background()
	for _, f := range found {
		attrs := metric.WithAttributes(attribute.String("keel.audit.rule", f.Rule))
		d.found.Add(ctx, 1, attrs)
		select {
		case d.findings <- f:
		default:
			d.lost.Add(ctx, 1, attrs)
			d.cfg.Logger.Error("audit: finding not delivered: queue full", "rule", f.Rule, "actor", f.ActorID)
		}
	}
}

func (d *Detector) deliver() {
	defer close(d.done)
	for {
		select {
		case f := <-d.findings:
			d.notify(f)
		case <-d.stop:
			for {
				select {
				case f := <-d.findings:
					d.notify(f)
				default:
					return
				}
			}
		}
	}
}

func (d *Detector) notify(f Finding) {
	for _, n := range d.cfg.Notifiers {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.NotifyTimeout)
		err := n.Notify(ctx, f)
		cancel()
		if err != nil {
			d.notifyErrors.Add(context.Background(), 1, metric.WithAttributes(attribute.String("keel.audit.rule", f.Rule)))
			d.cfg.Logger.Error("audit: notifier failed", "rule", f.Rule, "err", err)
		}
	}
}

// Close delivers the findings already queued and stops the goroutine.
func (d *Detector) Close() error {
	d.once.Do(func() { close(d.stop) })
	<-d.done
	return nil
}
