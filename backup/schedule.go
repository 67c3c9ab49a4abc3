package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule computes run times.
type Schedule interface {
	// Next returns the first run time strictly after t.
	Next(t time.Time) time.Time
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule accepts a five-field cron expression ("30 2 * * *"), a
// descriptor ("@daily", "@hourly", "@every 6h"), or a Go duration ("6h")
// meaning every that long. Cron times are in loc (UTC when nil).
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if loc == nil {
		loc = time.UTC
	}
	if d, err := time.ParseDuration(spec); err == nil {
		if d < time.Second {
			return nil, fmt.Errorf("backup: schedule interval %s is shorter than 1s", d)
		}
		return every(d), nil
	}
	s, err := cronParser.Parse("CRON_TZ=" + loc.String() + " " + spec)
	if err != nil {
		return nil, fmt.Errorf("backup: schedule %q: %w", spec, err)
	}
	return s, nil
}

type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// Locker keeps runs from overlapping across processes.
type Locker interface {
	// TryLock takes the lock or fails at once with an error matching
	// ErrLocked. The returned function releases it. A holder that dies
	// must not hold it forever.
	TryLock(ctx context.Context) (unlock func() error, err error)
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Schedule says when to run. Required.
	Schedule Schedule
	// Job is the work, usually a Repository's Create followed by Prune. Required.
	Job func(ctx context.Context) error
	// Lock, if set, is taken around each run; a run that finds it held is
	// skipped. In-process runs never overlap regardless: a run still going
	// when the next is due delays it, and missed times are skipped, not
	// queued.
	Lock Locker
	// Timeout bounds each run; 0 means none.
	Timeout time.Duration
	// Logger receives one line per run; nil means no logs.
	Logger *slog.Logger
	// OnResult, if set, is called after each run or skip (for tests and
	// alerting hooks).
	OnResult func(start time.Time, err error)
}

// Scheduler runs a job on a schedule in its own goroutine until Close.
type Scheduler struct {
	cfg    SchedulerConfig
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// NewScheduler validates cfg and starts the scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Schedule == nil {
		return nil, errors.New("backup: SchedulerConfig.Schedule is required")
	}
	if cfg.Job == nil {
		return nil, errors.New("backup: SchedulerConfig.Job is required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("backup: SchedulerConfig.Timeout must not be negative, got %s", cfg.Timeout)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{cfg: cfg, log: log, cancel: cancel, done: make(chan struct{})}
	go s.loop(ctx)
	return s, nil
}

// Close stops the scheduler, cancelling a run in progress, and waits for it.
func (s *Scheduler) Close() error {
	s.once.Do(s.cancel)
	<-s.done
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	for {
		now := time.Now()
		next := s.cfg.Schedule.Next(now)
		if next.IsZero() {
			s.log.Warn("backup schedule has no further run time")
			return
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.runOnce(ctx)
	}
}

func (s *Scheduler) runOnce(ctx context.Context) {
	start := time.Now()
	err := s.run(ctx)
	switch {
	case errors.Is(err, ErrLocked):
		s.log.Info("backup run skipped: lock held elsewhere")
	case err != nil:
		s.log.Error("backup run failed", "error", err, "duration", time.Since(start))
	default:
		s.log.Info("backup run done", "duration", time.Since(start))
	}
	if s.cfg.OnResult != nil {
		s.cfg.OnResult(start, err)
	}
}

func (s *Scheduler) run(ctx context.Context) (err error) {
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	if s.cfg.Lock != nil {
		unlock, err := s.cfg.Lock.TryLock(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, unlock()) }()
	}
	return s.cfg.Job(ctx)
}
