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

// Observer sees the events a Logger persists (audit/detect's Detector is
// one). Observe is called from the Logger's writer goroutine, one event at a
// time, and must return promptly: a slow Observe delays every later write.
type Observer interface {
	Observe(e Event)
}

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
	// MaxFieldSize caps, in bytes, every free-text field of an event — the
	// actor's id, type, IP and user agent, the action, the resource's type
	// and id, the reason, tenant, request and trace ids, and every string key
	// and value of Before, After and Metadata at any depth (maps, []any,
	// []string) — so that a request cannot make the log store what its
	// client chose to send. A longer value keeps its first bytes (cut on a
	// UTF-8 boundary) and ends with "…[truncated: N bytes]", N its whole
	// size (a key's marker also holds 8 bytes of its SHA-256 in hex, so that
	// two long keys stay two). Default 2 KiB; at least 96.
	MaxFieldSize int
	// MaxEventSize bounds an event's encoding once its fields are capped;
	// Log refuses a larger one with ErrInvalidEvent (fail closed: the
	// caller learns it was not audited). Default 32 KiB; at most 16 MiB less
	// 1 KiB, the line size readers accept.
	MaxEventSize int
	// Witnesses[i], when set, witnesses the log of Sinks[i]: every
	// checkpoint written to that sink is published to it once durable, and
	// New refuses (*RollbackError) to continue a log that is behind its
	// witness — one that ends before the witnessed checkpoint, holds another
	// record there, or is another log. Sinks[i] must then also be a Source
	// (FileSink and the SQL sink are). A witness that cannot be read fails
	// New. Checkpoints are published from a goroutine of their own, so a
	// slow or hung witness delays no caller of Log; one that fails is
	// logged, counted (keel.audit.witness.errors) and retried at each new
	// checkpoint and after a backoff (1 s doubling to a minute), while
	// events are still written. Shorter than Sinks, or nil entries: no
	// witness for those sinks.
	Witnesses []Witness
	// AcceptRollback lets New continue the one log whose witness holds
	// exactly this log id and seq, although the log is behind it: the
	// operator's documented acceptance of a loss (docs/AUDIT-VERIFY.md). The
	// Logger writes a rollback record naming the witnessed head and Reason,
	// signs it with a checkpoint and moves the witness there. It must name
	// the witnessed log id, seq and hash; after the acceptance the log
	// passes through that seq again with another hash, so leaving it set
	// accepts no later loss.
	AcceptRollback *AcceptRollback
	// Observer, when set, sees every event once the sinks Config.SinkPolicy
	// requires have persisted it, in log order, with its sensitive fields
	// already masked or HMAC'd (a detect.Detector runs anomaly rules over
	// them). It is called from the writer goroutine: it must not block. The
	// Logger does not close it.
	Observer Observer
	// Logger receives the writer's own problems (a failing sink, a gap).
	// Nil: no logs.
	Logger *slog.Logger
	// MeterProvider and TracerProvider: nil means the otel globals.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// validate checks c and fills in the defaults, once: a nil Logger becomes
// one that discards, so no later code tests for nil.
func (c *Config) validate() error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(c.Sinks) == 0 {
		return fmt.Errorf("audit: Config.Sinks must name at least one sink")
	}
	for i, s := range c.Sinks {
		if s == nil {
			return fmt.Errorf("audit: Config.Sinks[%d] is nil", i)
		}
	}
	if len(c.Witnesses) > len(c.Sinks) {
		return fmt.Errorf("audit: Config.Witnesses has %d entries for %d sinks: Witnesses[i] witnesses Sinks[i]", len(c.Witnesses), len(c.Sinks))
	}
	for i, w := range c.Witnesses {
		if w == nil {
			continue
		}
		if _, ok := c.Sinks[i].(Source); !ok {
			return fmt.Errorf("audit: Config.Witnesses[%d] needs Config.Sinks[%d] to be a Source, so that New can read the witnessed record back", i, i)
		}
	}
	if a := c.AcceptRollback; a != nil {
		if !isLowerHex(a.LogID, 32) || a.WitnessedSeq == 0 || !isLowerHex(a.WitnessedHash, 64) {
			return fmt.Errorf("audit: Config.AcceptRollback must name the witnessed log id (32 hex digits), seq and hash (64 hex digits) that New's refusal named")
		}
		if a.Reason == "" {
			return fmt.Errorf("audit: Config.AcceptRollback.Reason is empty: say who accepted the loss and why; it is recorded in the log")
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
	if c.MaxFieldSize == 0 {
		c.MaxFieldSize = DefaultMaxFieldSize
	}
	if c.MaxFieldSize < minFieldSize {
		return fmt.Errorf("audit: Config.MaxFieldSize must be at least %d bytes, got %d", minFieldSize, c.MaxFieldSize)
	}
	if c.MaxEventSize == 0 {
		c.MaxEventSize = DefaultMaxEventSize
	}
	if c.MaxEventSize < c.MaxFieldSize || c.MaxEventSize > maxEventSize {
		return fmt.Errorf("audit: Config.MaxEventSize must be between Config.MaxFieldSize (%d) and %d bytes, got %d", c.MaxFieldSize, maxEventSize, c.MaxEventSize)
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
