package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
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

// TestMiddlewareConcurrentSameKey: 100 requests with one key through the
// middleware on the real Redis; the side effect runs exactly once.
func TestMiddlewareConcurrentSameKey(t *testing.T) {
	m, err := idempotency.New(idempotency.Config{Store: newStore(t)})
	require.NoError(t, err)
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m})
	require.NoError(t, err)
	var runs atomic.Int64
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "order 1")
	}))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		seen  = map[string]int{}
	)
	for range 100 {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"sku":"a"}`))
			r.Header.Set("Idempotency-Key", "same")
			w := httptest.NewRecorder()
			<-start
			h.ServeHTTP(w, r)
			outcome := fmt.Sprint(w.Code, " replayed=", w.Header().Get(idempotency.ReplayedHeader))
			mu.Lock()
			seen[outcome]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), runs.Load(), "side effect exactly once")
	assert.Equal(t, 1, seen["201 replayed="], "one request ran: %v", seen)
	assert.Equal(t, 99, seen["409 replayed="]+seen["201 replayed=true"], "the rest got 409 or the replay: %v", seen)
}
