package redisstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/idempotencytest"
	"github.com/keel-go/keel/idempotency/redisstore"
	"github.com/keel-go/keel/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T) *redisstore.Store {
	t.Helper()
	r := testenv.RedisPrefix(t)
	s, err := redisstore.New(redisstore.Config{Client: r.Client, Prefix: r.Prefix})
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	idempotencytest.RunStoreTests(t, func(t *testing.T) idempotency.Store { return newStore(t) })
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := redisstore.New(redisstore.Config{})
	require.ErrorContains(t, err, "redisstore: Config.Client is required")
}

func TestCheckConfig(t *testing.T) {
	r := testenv.RedisPrefix(t)
	s, err := redisstore.New(redisstore.Config{Client: r.Client, Prefix: r.Prefix})
	require.NoError(t, err)
	ctx := context.Background()
	policy, err := r.Client.ConfigGet(ctx, "maxmemory-policy").Result()
	require.NoError(t, err)
	if policy["maxmemory-policy"] == "noeviction" {
		require.NoError(t, s.CheckConfig(ctx))
	} else {
		require.ErrorIs(t, s.CheckConfig(ctx), redisstore.ErrEvictionPolicy)
	}
}

// TestRecordsExpireOnRedisClock checks the layout the docs promise: a
// pending record expires with its lease, a completed one with its
// retention, both by Redis's own TTL.
func TestRecordsExpireOnRedisClock(t *testing.T) {
	r := testenv.RedisPrefix(t)
	s, err := redisstore.New(redisstore.Config{Client: r.Client, Prefix: r.Prefix})
	require.NoError(t, err)
	ctx := context.Background()
	req := idempotency.ReserveRequest{Scope: "tenant POST /orders", Key: "k", Token: "t",
		Lease: 60_000_000_000, TTL: 3_600_000_000_000}
	res, err := s.Reserve(ctx, req)
	require.NoError(t, err)
	require.Equal(t, idempotency.Proceed, res.Decision)

	key := r.Prefix + "19:tenant POST /ordersk"
	pttl, err := r.Client.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.InDelta(t, 60_000, pttl.Milliseconds(), 1_000, "pending: the lease")
	fields, err := r.Client.HGetAll(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "1", fields["st"])
	assert.Equal(t, "t", fields["tok"])

	require.NoError(t, s.Complete(ctx, idempotency.Lease{Scope: req.Scope, Key: req.Key, Token: "t"}, idempotency.Outcome{Status: 201}))
	pttl, err = r.Client.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.InDelta(t, 3_600_000, pttl.Milliseconds(), 2_000, "completed: the retention, counted from the reservation")
}
