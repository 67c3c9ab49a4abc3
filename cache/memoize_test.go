package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoizeLoadsOncePerKeyUnderConcurrency(t *testing.T) {
	c := newTestCache(t, Config[int, int]{Capacity: 100})
	var loads [4]atomic.Int32
	release := make(chan struct{})
	square := Memoize(c, func(_ context.Context, k int) (int, error) {
		loads[k].Add(1)
		<-release // every caller arrives while the first load runs
		return k * k, nil
	})
	var wg sync.WaitGroup
	var started sync.WaitGroup
	results := make([][]int, 4)
	var mu sync.Mutex
	for k := range 4 {
		for range 25 {
			started.Add(1)
			wg.Go(func() {
				started.Done()
				v, err := square(context.Background(), k)
				assert.NoError(t, err)
				mu.Lock()
				results[k] = append(results[k], v)
				mu.Unlock()
			})
		}
	}
	started.Wait()
	close(release)
	wg.Wait()
	for k := range 4 {
		assert.Equal(t, int32(1), loads[k].Load(), "key %d loaded once", k)
		assert.Len(t, results[k], 25)
		for _, v := range results[k] {
			assert.Equal(t, k*k, v)
		}
	}
	v, err := square(context.Background(), 3)
	require.NoError(t, err)
	assert.Equal(t, 9, v)
	assert.Equal(t, int32(1), loads[3].Load(), "a later call is served from the cache")
}

func TestMemoizeDoesNotCacheErrors(t *testing.T) {
	c := newTestCache(t, Config[string, int]{Capacity: 10})
	calls := 0
	boom := errors.New("boom")
	f := Memoize(c, func(context.Context, string) (int, error) { calls++; return 0, boom })
	_, err := f(context.Background(), "k")
	require.ErrorIs(t, err, boom)
	_, err = f(context.Background(), "k")
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 2, calls)
}

func TestMemoizeWithNilsFailsInsteadOfPanicking(t *testing.T) {
	f := Memoize[string, int](nil, func(context.Context, string) (int, error) { return 1, nil })
	_, err := f(context.Background(), "k")
	require.ErrorContains(t, err, "cache: Memoize needs a *Cache")

	c := newTestCache(t, Config[string, int]{Capacity: 10})
	_, err = Memoize(c, nil)(context.Background(), "k")
	require.ErrorIs(t, err, ErrNilLoader)
}
