package backup_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
)

// busyLock is held by "another process" for the first busy tries.
type busyLock struct {
	mu    sync.Mutex
	busy  int
	tries int
}

func (l *busyLock) TryLock(context.Context) (func() error, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tries++
	if l.tries <= l.busy {
		return nil, backup.ErrLocked
	}
	return func() error { return nil }, nil
}

func TestIndexUpdateWaitsForAnotherWritersLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key, err := backup.GenerateSigningKey()
		require.NoError(t, err)
		lock := &busyLock{busy: 3}
		repo, err := backup.New(backup.Config{Storage: newMemStorage(), SigningKey: key, Lock: lock})
		require.NoError(t, err)
		defer func() { _ = repo.Close() }()
		ctx := context.Background()

		start := time.Now()
		res, err := repo.Init(ctx, backup.InitOptions{})
		require.NoError(t, err)
		assert.True(t, res.Created)
		assert.Equal(t, 4, lock.tries)
		assert.Equal(t, (10+20+40)*time.Millisecond, time.Since(start), "polls back off: 10, 20, 40 ms")

		// A holder that never lets go is reported after two minutes.
		lock.busy, lock.tries = 1<<30, 0
		start = time.Now()
		_, err = repo.Forget(ctx, "20260101T000000Z-00000000")
		require.ErrorIs(t, err, backup.ErrLocked)
		waited := time.Since(start)
		assert.GreaterOrEqual(t, waited, 2*time.Minute)
		assert.Less(t, waited, 2*time.Minute+500*time.Millisecond, "polls are at most 500 ms apart")

		// Cancellation ends the wait at once.
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		start = time.Now()
		_, err = repo.Forget(cctx, "20260101T000000Z-00000000")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))
	})
}

// The plan reaches the operator after every check and before any write,
// with the backup's age and last verification; refusing it writes nothing.
func TestRestorePlanComesBeforeTheFirstWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key, err := backup.GenerateSigningKey()
		require.NoError(t, err)
		src := &memSource{data: []byte("1,widget\n")}
		repo, err := backup.New(backup.Config{Storage: newMemStorage(), Source: src, SigningKey: key,
			Unencrypted: true, Compression: backup.NoCompression})
		require.NoError(t, err)
		defer func() { _ = repo.Close() }()
		ctx := context.Background()
		m, err := repo.Create(ctx)
		require.NoError(t, err)
		time.Sleep(10 * time.Minute)
		v, err := repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyFull})
		require.NoError(t, err)
		time.Sleep(80 * time.Minute)

		target := &memTarget{}
		var plan *backup.RestorePlan
		_, err = repo.Restore(ctx, "latest", target, backup.RestoreOptions{Confirm: func(_ context.Context, p *backup.RestorePlan) error {
			plan = p
			return errors.New("operator said no")
		}})
		require.ErrorContains(t, err, "operator said no")
		assert.False(t, target.restored, "nothing is written when the plan is refused")
		require.NotNil(t, plan)
		assert.Equal(t, m.ID, plan.Manifest.ID)
		assert.Equal(t, m.Repository, plan.Repository)
		assert.Equal(t, 90*time.Minute, plan.Age)
		require.NotNil(t, plan.Verification)
		assert.Equal(t, backup.VerifyFull, plan.Verification.Level)
		assert.Equal(t, v.VerifiedAt, plan.Verification.VerifiedAt)
		assert.Equal(t, backup.IdentityOf(src).String(), plan.Source)
		assert.Equal(t, plan.Source, plan.Target)
		assert.True(t, plan.Checked)
		assert.True(t, plan.TargetEmpty)
		assert.Equal(t, uint64(2), plan.Seq, "seq 1 is the empty index of the new repository")
		assert.Empty(t, plan.Overridden)
		assert.Empty(t, plan.Warnings)

		// PlanRestore checks the same without reading the object or writing.
		plan, err = repo.PlanRestore(ctx, m.ID, &memTarget{data: []byte("live")}, backup.RestoreOptions{Force: true})
		require.NoError(t, err)
		assert.False(t, plan.Checked)
		assert.False(t, plan.TargetEmpty)
		require.Len(t, plan.Overridden, 1)
		assert.Equal(t, "Force", plan.Overridden[0].Option)
	})
}
