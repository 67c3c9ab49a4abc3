package backup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
)

func TestParseSchedule(t *testing.T) {
	from := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	cases := []struct {
		spec string
		want time.Time
	}{
		{"30 2 * * *", time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)},
		{"@daily", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)},
		{"@every 6h", from.Add(6 * time.Hour)},
		{"90m", from.Add(90 * time.Minute)},
	}
	for _, tc := range cases {
		s, err := backup.ParseSchedule(tc.spec, nil)
		require.NoError(t, err, tc.spec)
		assert.Equal(t, tc.want, s.Next(from).UTC(), tc.spec)
	}
	for _, bad := range []string{"", "every day", "61 * * * *", "10ms"} {
		_, err := backup.ParseSchedule(bad, nil)
		assert.Error(t, err, bad)
	}
}

func TestSchedulerRunsOnScheduleWithoutOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, err := backup.ParseSchedule("@hourly", nil)
		require.NoError(t, err)
		var mu sync.Mutex
		var starts []time.Time
		running := 0
		s, err := backup.NewScheduler(backup.SchedulerConfig{
			Schedule: sched,
			Job: func(ctx context.Context) error {
				mu.Lock()
				running++
				require.Equal(t, 1, running, "runs must not overlap")
				starts = append(starts, time.Now())
				mu.Unlock()
				// A run that outlasts the next due time: 90 minutes.
				time.Sleep(90 * time.Minute)
				mu.Lock()
				running--
				mu.Unlock()
				return nil
			},
		})
		require.NoError(t, err)
		t0 := time.Now() // 2000-01-01 00:00 UTC in the bubble
		time.Sleep(5*time.Hour + time.Minute)
		require.NoError(t, s.Close())
		mu.Lock()
		defer mu.Unlock()
		// 01:00 runs until 02:30; 02:00 is missed and skipped; next 03:00, and so on.
		want := []time.Time{t0.Add(time.Hour), t0.Add(3 * time.Hour), t0.Add(5 * time.Hour)}
		assert.Equal(t, want, starts)
	})
}

func TestSchedulerTimeoutAndCloseCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		results := make(chan error, 10)
		s, err := backup.NewScheduler(backup.SchedulerConfig{
			Schedule: mustSchedule(t, "1h"),
			Timeout:  10 * time.Minute,
			Job: func(ctx context.Context) error {
				<-ctx.Done() // a hung dump
				return ctx.Err()
			},
			OnResult: func(_ time.Time, err error) { results <- err },
		})
		require.NoError(t, err)
		time.Sleep(time.Hour + 11*time.Minute)
		synctest.Wait()
		require.Len(t, results, 1)
		assert.ErrorIs(t, <-results, context.DeadlineExceeded)
		require.NoError(t, s.Close())
	})
}

func mustSchedule(t *testing.T, spec string) backup.Schedule {
	s, err := backup.ParseSchedule(spec, nil)
	require.NoError(t, err)
	return s
}

type fakeLock struct{ held atomic.Bool }

func (l *fakeLock) TryLock(context.Context) (func() error, error) {
	if l.held.Load() {
		return nil, backup.ErrLocked
	}
	return func() error { return nil }, nil
}

func TestSchedulerSkipsWhenLockHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int32
		results := make(chan error, 10)
		lock := &fakeLock{}
		lock.held.Store(true)
		s, err := backup.NewScheduler(backup.SchedulerConfig{
			Schedule: mustSchedule(t, "1h"), Lock: lock,
			Job:      func(context.Context) error { ran.Add(1); return nil },
			OnResult: func(_ time.Time, err error) { results <- err },
		})
		require.NoError(t, err)
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		assert.ErrorIs(t, <-results, backup.ErrLocked)
		assert.Equal(t, int32(0), ran.Load())
		lock.held.Store(false)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.NoError(t, <-results)
		assert.Equal(t, int32(1), ran.Load())
		require.NoError(t, s.Close())
	})
}

func TestNewSchedulerValidates(t *testing.T) {
	_, err := backup.NewScheduler(backup.SchedulerConfig{})
	require.ErrorContains(t, err, "SchedulerConfig.Schedule")
	_, err = backup.NewScheduler(backup.SchedulerConfig{Schedule: mustSchedule(t, "1h")})
	require.ErrorContains(t, err, "SchedulerConfig.Job")
}

const lockHelperEnv = "KEEL_BACKUP_LOCK_HELPER"

// lockHelper runs in a child process: it takes the lock, says so, and
// waits to be killed.
func lockHelper() {
	_, err := backup.FileLock{Path: os.Getenv(lockHelperEnv)}.TryLock(context.Background())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Hour)
}

func TestFileLockIsReleasedWhenTheHolderCrashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 6)
	_, err = out.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "locked", string(buf))

	_, err = backup.FileLock{Path: path}.TryLock(context.Background())
	require.ErrorIs(t, err, backup.ErrLocked, "held by the live child")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL)) // a crash: no unlock runs
	var ee *exec.ExitError
	require.True(t, errors.As(cmd.Wait(), &ee))

	unlock, err := backup.FileLock{Path: path}.TryLock(context.Background())
	require.NoError(t, err, "a crashed holder must not keep the lock")
	_, err = backup.FileLock{Path: path}.TryLock(context.Background())
	require.ErrorIs(t, err, backup.ErrLocked, "and it excludes others again")
	require.NoError(t, unlock())
}
