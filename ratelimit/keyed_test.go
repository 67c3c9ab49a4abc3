package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/internal/metrictest"
)

func TestNewKeyedRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ratelimit.KeyedConfig
		want string
	}{
		{"zero limit", ratelimit.KeyedConfig{}, "KeyedConfig.Limit must be > 0"},
		{"negative max keys", ratelimit.KeyedConfig{Limit: 1, MaxKeys: -1}, "KeyedConfig.MaxKeys must be >= 0"},
		{"negative idle timeout", ratelimit.KeyedConfig{Limit: 1, IdleTimeout: -time.Second}, "KeyedConfig.IdleTimeout must be >= 0"},
		{"negative burst", ratelimit.KeyedConfig{Limit: 1, Burst: -1}, "KeyedConfig.Burst must be >= 0"},
		{"refill beyond a century", ratelimit.KeyedConfig{Limit: 1, Period: 1 << 60, Burst: 10}, "too long to refill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ratelimit.NewKeyed(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, k)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestKeyedKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 100, Period: time.Minute, Burst: 2})
		require.NoError(t, err)
		defer k.Close()

		assert.True(t, k.Allow("alice"))
		assert.True(t, k.Allow("alice"))
		assert.False(t, k.Allow("alice"), "alice spent her burst")
		assert.True(t, k.Allow("bob"), "bob has his own bucket")
		assert.True(t, k.Allow("bob"))
		assert.False(t, k.Allow("bob"))

		time.Sleep(600 * time.Millisecond) // 100/min: one unit per 600ms
		assert.True(t, k.Allow("alice"))
		assert.False(t, k.Allow("alice"))
		assert.Equal(t, 2, k.Len())
	})
}

func TestKeyedTake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 10, Period: time.Second, Burst: 2})
		require.NoError(t, err)
		defer k.Close()
		ctx := context.Background()

		d, err := k.Take(ctx, "key-1")
		require.NoError(t, err)
		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 1, Reset: 100 * time.Millisecond}, d)
		d, _ = k.Take(ctx, "key-1")
		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 0, Reset: 100 * time.Millisecond}, d)
		time.Sleep(40 * time.Millisecond)
		d, _ = k.Take(ctx, "key-1")
		assert.Equal(t, ratelimit.Decision{Allowed: false, RetryAfter: 60 * time.Millisecond, Reset: 60 * time.Millisecond}, d)
		assert.Equal(t, ratelimit.Quota{Name: "api", Quota: 10, Window: time.Second, Burst: 2}, k.Policy())
	})
}

func TestKeyedWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 1, Period: time.Second})
		require.NoError(t, err)
		defer k.Close()
		ctx := context.Background()
		start := time.Now()
		require.NoError(t, k.Wait(ctx, "a"))
		require.NoError(t, k.Wait(ctx, "b"), "another key does not wait for a")
		require.NoError(t, k.Wait(ctx, "a"))
		assert.Equal(t, time.Second, time.Since(start))

		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, k.Wait(short, "a"), ratelimit.ErrLimited)
	})
}

func TestKeyedCancelledWaitHandsItsUnitBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 1, Period: time.Second})
		require.NoError(t, err)
		defer k.Close()
		require.True(t, k.Allow("a"))

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- k.Wait(ctx, "a") }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)

		// The unit the wait reserved (due at 1s) is free again.
		time.Sleep(900 * time.Millisecond)
		assert.True(t, k.Allow("a"))
		assert.False(t, k.Allow("a"))
	})
}

func TestKeyedMemoryIsBoundedByMaxKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, collect := metrictest.New(t)
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{
			Name: "ip", Limit: 1, Period: time.Hour, MaxKeys: 1000, MeterProvider: mp,
		})
		require.NoError(t, err)
		defer k.Close()

		for i := range 50_000 {
			require.True(t, k.Allow(fmt.Sprintf("client-%d", i)), "every new key starts with a full bucket")
		}
		assert.LessOrEqual(t, k.Len(), 1000)
		assert.Greater(t, k.Len(), 900, "shards share MaxKeys evenly")
		assert.Equal(t, map[string]int64{"keel.ratelimit.name=ip": int64(k.Len())}, collect("keel.ratelimit.keys"))
		evicted := collect("keel.ratelimit.keys.evicted")["keel.ratelimit.name=ip"]
		assert.Equal(t, int64(50_000-k.Len()), evicted,
			"every key pushed out before its idle timeout is counted")

		// The most recent key is still tracked: its bucket is empty.
		assert.False(t, k.Allow("client-49999"))
	})
}

func TestKeyedIdleKeysExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, collect := metrictest.New(t)
		// 60/min with burst 60: an empty bucket refills in one minute, which is
		// the default idle timeout.
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{
			Name: "user", Limit: 60, Period: time.Minute, MaxKeys: 64, MeterProvider: mp,
		})
		require.NoError(t, err)
		defer k.Close()

		for i := range 60 {
			k.Allow(fmt.Sprintf("old-%d", i))
		}
		require.Equal(t, 60, k.Len())

		time.Sleep(time.Minute)
		// New keys push out idle ones without counting them as evictions of
		// active keys.
		for i := range 60 {
			k.Allow(fmt.Sprintf("new-%d", i))
		}
		assert.Equal(t, 60, k.Len())
		assert.Equal(t, int64(0), collect("keel.ratelimit.keys.evicted")["keel.ratelimit.name=user"])
	})
}

func TestKeyedShortIdleTimeoutRestartsBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 1, Period: time.Hour, IdleTimeout: time.Minute})
		require.NoError(t, err)
		defer k.Close()
		require.True(t, k.Allow("a"))
		require.False(t, k.Allow("a"))
		time.Sleep(time.Minute)
		assert.True(t, k.Allow("a"), "a key idle past IdleTimeout starts again with a full bucket")
	})
}

func TestKeyedConcurrentUseNeverExceedsBurst(t *testing.T) {
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 50, Period: time.Hour})
	require.NoError(t, err)
	defer k.Close()

	var allowed [4]atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := (g + i) % 4
				if k.Allow(fmt.Sprint("key-", key)) {
					allowed[key].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for key := range allowed {
		// 400 tries per key, 50 in the burst, and at most one unit restored
		// every 72s: exactly 50 in a test that takes well under a minute.
		assert.Equal(t, int64(50), allowed[key].Load(), "key %d", key)
	}
}
