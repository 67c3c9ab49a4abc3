package audit

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Mode says when Log returns.
type Mode int

const (
	// Durable (the default): Log returns once the event is persisted (for
	// the file sink: written and fsync'd). Concurrent calls share one fsync
	// (group commit).
	Durable Mode = iota
	// Buffered: Log returns once the event is in the bounded queue; the
	// writer persists it shortly after and fsyncs every SyncInterval, at
	// checkpoints and at Close.
	Buffered
)

// FullPolicy says what Log does when the queue is full, or (in buffered
// mode) while a sink is failing.
type FullPolicy int

const (
	// Block (the default) waits for room, or for ctx to end.
	Block FullPolicy = iota
	// Fail returns ErrQueueFull (or ErrSink while a sink is failing) at once:
	// fail closed, so the API can refuse a request it could not audit.
	Fail
	// Drop discards the event and returns nil; the writer then records a
	// gap record with the count of dropped events, signed by a checkpoint.
	Drop
)

// SinkPolicy says how many sinks must persist a batch for it to succeed.
type SinkPolicy int

const (
	// AllSinks (the default): every sink must succeed.
	AllSinks SinkPolicy = iota
	// AnySink: one sink succeeding is enough. A sink that missed events
	// records a gap record with their count once it works again.
	AnySink
)

// Defaults of Config fields.
const (
	DefaultQueueSize          = 8192
	DefaultMaxBatch           = 1024
	DefaultCheckpointEvery    = 10000
	DefaultCheckpointInterval = time.Minute
	DefaultSyncInterval       = time.Second
)

// Config configures a Logger. The zero value of every field but Sinks and
// SigningKey means the documented default.
type Config struct {
	// Sinks receive every record, each with its own hash chain. Required.
	Sinks []Sink
	// SinkPolicy: AllSinks (default) or AnySink.
	SinkPolicy SinkPolicy
	// Mode: Durable (default) or Buffered.
	Mode Mode
	// OnFull: Block (default), Fail or Drop.
	OnFull FullPolicy
	// QueueSize bounds the events waiting for the writer. Default 8192.
	QueueSize int
	// MaxBatch bounds the events written (and fsync'd) together. Default 1024.
	MaxBatch int
	// SigningKey signs checkpoints (Ed25519). Required: without it the log
	// would be evidence of nothing. Its public key verifies the log.
	SigningKey ed25519.PrivateKey
	// CheckpointEvery writes a checkpoint after this many records. Default 10000.
	CheckpointEvery int
	// CheckpointInterval writes a checkpoint this long after the last one if
	// records were written since. Default one minute.
	CheckpointInterval time.Duration
	// SyncInterval is how often buffered mode fsyncs. Default one second.
	SyncInterval time.Duration
	// Sensitive names the fields of Before, After and Metadata that are
	// masked or replaced by an HMAC.
	Sensitive []SensitiveField
	// HMACKey keys the HMAC treatment; at least 32 bytes when a field uses it.
	HMACKey []byte
	// Detector, when set, sees every persisted event (anomaly rules). The
	// Logger does not close it.
	Detector *Detector
	// Logger receives the writer's own problems (a failing sink, a gap).
	// Nil: no logs.
	Logger *slog.Logger
	// MeterProvider and TracerProvider: nil means the otel globals.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

func (c *Config) validate() error {
	if len(c.Sinks) == 0 {
		return fmt.Errorf("audit: Config.Sinks must name at least one sink")
	}
	for i, s := range c.Sinks {
		if s == nil {
			return fmt.Errorf("audit: Config.Sinks[%d] is nil", i)
		}
	}
	if len(c.SigningKey) != ed25519.PrivateKeySize {
		return fmt.Errorf("audit: Config.SigningKey must be an Ed25519 private key of %d bytes, got %d", ed25519.PrivateKeySize, len(c.SigningKey))
	}
	if c.SinkPolicy != AllSinks && c.SinkPolicy != AnySink {
		return fmt.Errorf("audit: Config.SinkPolicy must be AllSinks or AnySink, got %d", c.SinkPolicy)
	}
	if c.Mode != Durable && c.Mode != Buffered {
		return fmt.Errorf("audit: Config.Mode must be Durable or Buffered, got %d", c.Mode)
	}
	if c.OnFull != Block && c.OnFull != Fail && c.OnFull != Drop {
		return fmt.Errorf("audit: Config.OnFull must be Block, Fail or Drop, got %d", c.OnFull)
	}
	for _, f := range []struct {
		name string
		v    int
		def  int
		p    *int
	}{{"QueueSize", c.QueueSize, DefaultQueueSize, &c.QueueSize}, {"MaxBatch", c.MaxBatch, DefaultMaxBatch, &c.MaxBatch}, {"CheckpointEvery", c.CheckpointEvery, DefaultCheckpointEvery, &c.CheckpointEvery}} {
		if f.v < 0 {
			return fmt.Errorf("audit: Config.%s must not be negative, got %d", f.name, f.v)
		}
		if f.v == 0 {
			*f.p = f.def
		}
	}
	for _, f := range []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{{"CheckpointInterval", &c.CheckpointInterval, DefaultCheckpointInterval}, {"SyncInterval", &c.SyncInterval, DefaultSyncInterval}} {
		if *f.p < 0 {
			return fmt.Errorf("audit: Config.%s must not be negative, got %s", f.name, *f.p)
		}
		if *f.p == 0 {
			*f.p = f.def
		}
	}
	return nil
}

// LogValue describes the configuration without its keys, which print as
// [REDACTED].
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("sinks", len(c.Sinks)), slog.Int("mode", int(c.Mode)), slog.Int("on_full", int(c.OnFull)),
		slog.Int("sink_policy", int(c.SinkPolicy)), slog.Int("queue_size", c.QueueSize),
		slog.String("signing_key", redacted), slog.String("hmac_key", redacted))
}

// Format prints the configuration for every fmt verb without its keys.
func (c Config) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "audit.Config{Sinks:%d Mode:%d OnFull:%d SinkPolicy:%d QueueSize:%d SigningKey:%s HMACKey:%s}",
		len(c.Sinks), c.Mode, c.OnFull, c.SinkPolicy, c.QueueSize, redacted, redacted)
}

const redacted = "[REDACTED]"
