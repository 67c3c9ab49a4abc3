package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SQLPinger is what [SQLPing] needs: *sql.DB and *sql.Conn have it.
type SQLPinger interface {
	PingContext(ctx context.Context) error
}

// SQLPing checks a database/sql pool by pinging it (which opens a
// connection if the pool has none idle).
func SQLPing(db SQLPinger) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("health: database ping: %w", err)
		}
		return nil
	}
}

// Pinger is anything with Ping(ctx) error. A go-redis client's Ping returns
// a command, so adapt it with a func:
//
//	health.Ping(health.PingFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() }))
//
// which keeps go-redis out of this package's dependencies.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc adapts a function to [Pinger].
type PingFunc func(ctx context.Context) error

// Ping calls f.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// Ping checks a dependency (Redis, a message broker …) by pinging it.
func Ping(p Pinger) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("health: ping: %w", err)
		}
		return nil
	}
}

// LastSuccessWithin checks that something recurring last succeeded within
// maxAge: the nightly backup, a sync job, a certificate renewal. last
// returns the time of the latest success (zero if none yet); it is read on
// every run, so feed it from wherever the job records its outcome.
func LastSuccessWithin(last func() time.Time, maxAge time.Duration) func(ctx context.Context) error {
	return func(context.Context) error {
		t := last()
		if t.IsZero() {
			return errors.New("health: no success recorded")
		}
		if age := time.Since(t); age > maxAge {
			return fmt.Errorf("health: last success %v ago, older than %v", age.Round(time.Second), maxAge)
		}
		return nil
	}
}

// DiskSpace checks the free space of the file system holding path: fail
// below failBelow bytes, warn below warnBelow (0 disables the warning).
// Free space is what an unprivileged process may use.
func DiskSpace(path string, failBelow, warnBelow uint64) func(ctx context.Context) error {
	return func(context.Context) error {
		free, err := freeBytes(path)
		if err != nil {
			return fmt.Errorf("health: disk space of %s: %w", path, err)
		}
		switch {
		case free < failBelow:
			return fmt.Errorf("health: disk %s has %s free, below %s", path, bytesIEC(free), bytesIEC(failBelow))
		case free < warnBelow:
			return Warn(fmt.Errorf("health: disk %s has %s free, below %s", path, bytesIEC(free), bytesIEC(warnBelow)))
		}
		return nil
	}
}

func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
