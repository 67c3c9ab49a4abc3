package idempotency_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/idempotencytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryStoreConformance(t *testing.T) {
	idempotencytest.RunStoreTests(t, func(*testing.T) idempotency.Store { return idempotency.NewMemoryStore() })
}

// TestMemoryLeaseExpiry drives the lease and retention clocks with synctest:
// a stalled first holder cannot overwrite the result of the request that
// took over after its lease ended.
func TestMemoryLeaseExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m, err := idempotency.New(idempotency.Config{
			Store: idempotency.NewMemoryStore(), Lease: 30 * time.Second, TTL: time.Hour,
		})
		require.NoError(t, err)

		stalled, err := m.Begin(ctx, "s", "k", []byte("fp"))
		require.NoError(t, err)
		require.False(t, stalled.Replayed)

		time.Sleep(29 * time.Second)
		_, err = m.Begin(ctx, "s", "k", []byte("fp"))
		var busy *idempotency.InProgressError
		require.ErrorAs(t, err, &busy, "one second before the lease ends")
		assert.Equal(t, time.Second, busy.RetryAfter)

		time.Sleep(time.Second)
		second, err := m.Begin(ctx, "s", "k", []byte("fp"))
		require.NoError(t, err)
		require.False(t, second.Replayed, "the lease ended: the second request takes over")

		require.ErrorIs(t, m.Complete(ctx, stalled.Lease, idempotency.Outcome{Status: 500}), idempotency.ErrLeaseLost)
		require.NoError(t, m.Complete(ctx, second.Lease, idempotency.Outcome{Status: 201, Body: []byte("second")}))

		replay, err := m.Begin(ctx, "s", "k", []byte("fp"))
		require.NoError(t, err)
		require.True(t, replay.Replayed)
		assert.Equal(t, "second", string(replay.Outcome.Body))

		// Retention counts from the second reservation (just now).
		time.Sleep(time.Hour - time.Nanosecond)
		replay, err = m.Begin(ctx, "s", "k", []byte("fp"))
		require.NoError(t, err)
		require.True(t, replay.Replayed, "just before the TTL")
		time.Sleep(time.Nanosecond)
		fresh, err := m.Begin(ctx, "s", "k", []byte("another request"))
		require.NoError(t, err)
		require.False(t, fresh.Replayed, "after the TTL the key is new")
	})
}

// TestMemoryStoreSweepsExpiredRecords checks that memory is bounded: expired
// records are deleted by a later Reserve, without a background goroutine.
func TestMemoryStoreSweepsExpiredRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := idempotency.NewMemoryStore()
		for i := range 50 {
			_, err := s.Reserve(ctx, idempotency.ReserveRequest{
				Scope: "s", Key: string(rune('a'+i%26)) + string(rune('a'+i/26)), Token: "t",
				Lease: time.Second, TTL: time.Minute,
			})
			require.NoError(t, err)
		}
		require.Equal(t, 50, s.Len())
		time.Sleep(2 * time.Minute)
		_, err := s.Reserve(ctx, idempotency.ReserveRequest{Scope: "s", Key: "new", Token: "t", Lease: time.Second, TTL: time.Minute})
		require.NoError(t, err)
		assert.Equal(t, 1, s.Len())
	})
}
