package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errNoRow = errors.New("no such row")

// gatedLoader counts its calls and blocks each until release is closed.
type gatedLoader struct {
	calls   atomic.Int64
	release chan struct{}
	value   func(key string) string
}

func newGatedLoader() *gatedLoader {
	return &gatedLoader{release: make(chan struct{}), value: func(k string) string { return "v:" + k }}
}

func (g *gatedLoader) load(ctx context.Context, key string) (string, error) {
	g.calls.Add(1)
	select {
	case <-g.release:
		return g.value(key), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func TestStampedeOnAColdKeyRunsTheLoaderOnce(t *testing.T) {
	modes(t, func(t *testing.T, admission bool) {
		synctest.Test(t, func(t *testing.T) {
			c := newTestCache(t, Config[string, string]{TTL: time.Minute, Admission: admission})
			g := newGatedLoader()
			var wg sync.WaitGroup
			results := make([]string, 1000)
			for i := range results {
				wg.Go(func() {
					v, err := c.GetOrLoad(t.Context(), "hot", g.load)
					assert.NoError(t, err)
					results[i] = v
				})
			}
			synctest.Wait() // all 1000 callers are waiting on the one load
			close(g.release)
			wg.Wait()
			assert.Equal(t, int64(1), g.calls.Load())
			for _, v := range results {
				require.Equal(t, "v:hot", v)
			}
			st := c.Stats()
			assert.Equal(t, uint64(1), st.LoadSuccesses)
			assert.Equal(t, uint64(1000), st.Misses)
		})
	})
}

func TestStampedeOnAJustExpiredKeyRunsTheLoaderOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{TTL: time.Minute})
		c.Set("hot", "old")
		time.Sleep(time.Minute)
		g := newGatedLoader()
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				v, err := c.GetOrLoad(t.Context(), "hot", g.load)
				assert.NoError(t, err)
				assert.Equal(t, "v:hot", v)
			})
		}
		synctest.Wait()
		close(g.release)
		wg.Wait()
		assert.Equal(t, int64(1), g.calls.Load())
		v, ok := c.Get("hot")
		assert.True(t, ok)
		assert.Equal(t, "v:hot", v)
	})
}

func TestCallerThatGivesUpDoesNotCancelTheSharedLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{})
		g := newGatedLoader()
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() {
			_, err := c.GetOrLoad(ctx, "k", g.load)
			first <- err
		}()
		synctest.Wait()
		second := make(chan string, 1)
		go func() {
			v, err := c.GetOrLoad(t.Context(), "k", g.load)
			assert.NoError(t, err)
			second <- v
		}()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-first, context.Canceled, "the impatient caller returns at once")
		close(g.release)
		assert.Equal(t, "v:k", <-second, "the load went on for the other caller")
		assert.Equal(t, int64(1), g.calls.Load())
		v, ok := c.Get("k")
		assert.True(t, ok, "and its result was cached")
		assert.Equal(t, "v:k", v)
	})
}

func TestLoadHasItsOwnTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{LoadTimeout: 3 * time.Second})
		g := newGatedLoader() // never released
		start := time.Now()
		_, err := c.GetOrLoad(context.Background(), "k", g.load)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))
		assert.Equal(t, uint64(1), c.Stats().LoadErrors)
		_, ok := c.Get("k")
		assert.False(t, ok, "errors are not cached")
	})
}

func TestLoadErrorsAreReturnedAndNotCached(t *testing.T) {
	c := newTestCache(t, Config[string, int]{})
	calls := 0
	boom := errors.New("db down")
	loader := func(context.Context, string) (int, error) { calls++; return 0, boom }
	for range 3 {
		_, err := c.GetOrLoad(t.Context(), "k", loader)
		assert.ErrorIs(t, err, boom)
	}
	assert.Equal(t, 3, calls)
}

func TestNotFoundIsCachedForTheNegativeTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{TTL: time.Minute, NotFound: errNoRow, NegativeTTL: 5 * time.Second})
		calls := 0
		loader := func(context.Context, string) (string, error) {
			calls++
			return "", fmt.Errorf("select customer: %w", errNoRow)
		}
		for range 3 {
			_, err := c.GetOrLoad(t.Context(), "missing", loader)
			assert.ErrorIs(t, err, errNoRow)
		}
		assert.Equal(t, 1, calls, "not found was cached")
		_, ok := c.Get("missing")
		assert.False(t, ok, "Get reads a cached not-found as absent")
		assert.Equal(t, 0, c.Len())
		time.Sleep(5 * time.Second)
		_, err := c.GetOrLoad(t.Context(), "missing", loader)
		assert.ErrorIs(t, err, errNoRow)
		assert.Equal(t, 2, calls, "reloaded after the negative TTL")
		assert.Equal(t, uint64(2), c.Stats().LoadsNotFound)
	})
}

func TestRefreshAheadNeverBlocksCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{TTL: 10 * time.Second, RefreshAhead: 0.5})
		version := atomic.Int64{}
		var gate chan struct{}
		calls := atomic.Int64{}
		loader := func(ctx context.Context, k string) (string, error) {
			calls.Add(1)
			if gate != nil {
				<-gate
			}
			return fmt.Sprintf("v%d", version.Add(1)), nil
		}
		v, err := c.GetOrLoad(t.Context(), "k", loader)
		require.NoError(t, err)
		assert.Equal(t, "v1", v)

		time.Sleep(4 * time.Second)
		v, _ = c.GetOrLoad(t.Context(), "k", loader)
		assert.Equal(t, "v1", v)
		assert.Equal(t, int64(1), calls.Load(), "no refresh before half the TTL")

		gate = make(chan struct{})
		time.Sleep(2 * time.Second)
		// Past the refresh point: 1000 callers get the current value at
		// once while one refresh is held in the loader. If any caller
		// waited for it, this loop would deadlock (synctest reports it).
		for range 1000 {
			v, err := c.GetOrLoad(t.Context(), "k", loader)
			require.NoError(t, err)
			require.Equal(t, "v1", v)
		}
		synctest.Wait()
		assert.Equal(t, int64(2), calls.Load(), "exactly one refresh")
		close(gate)
		synctest.Wait()
		v, _ = c.GetOrLoad(t.Context(), "k", loader)
		assert.Equal(t, "v2", v, "the refresh replaced the value")
		st := c.Stats()
		assert.Equal(t, uint64(1), st.Refreshes)
		assert.Equal(t, uint64(1), st.LoadSuccesses)

		// The refreshed entry lives a full TTL from the refresh.
		time.Sleep(4 * time.Second)
		got, ok := c.Get("k")
		assert.True(t, ok)
		assert.Equal(t, "v2", got)
	})
}

func TestFailedRefreshKeepsTheCurrentValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{TTL: 10 * time.Second, RefreshAhead: 0.5})
		c.Set("k", "v1")
		time.Sleep(6 * time.Second)
		v, err := c.GetOrLoad(t.Context(), "k", func(context.Context, string) (string, error) {
			return "", errors.New("db down")
		})
		require.NoError(t, err)
		assert.Equal(t, "v1", v)
		synctest.Wait()
		got, ok := c.Get("k")
		assert.True(t, ok)
		assert.Equal(t, "v1", got)
		assert.Equal(t, uint64(1), c.Stats().RefreshErrors)
	})
}

func TestStaleIfErrorServesTheExpiredValueForABoundedTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{TTL: 10 * time.Second, StaleIfError: 30 * time.Second, CleanupInterval: time.Second})
		boom := errors.New("db down")
		failing := func(context.Context, string) (string, error) { return "", boom }
		c.Set("k", "last good")
		time.Sleep(15 * time.Second)
		_, ok := c.Get("k")
		assert.False(t, ok, "Get never returns a stale value")
		assert.Equal(t, 0, c.Len())
		v, err := c.GetOrLoad(t.Context(), "k", failing)
		require.NoError(t, err)
		assert.Equal(t, "last good", v)
		assert.Equal(t, uint64(1), c.Stats().StaleServed)

		time.Sleep(25 * time.Second) // 40 s after the write: past expiry + grace
		_, err = c.GetOrLoad(t.Context(), "k", failing)
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, uint64(1), c.Stats().StaleServed)
	})
}

func TestLoaderPanicBecomesAnError(t *testing.T) {
	c := newTestCache(t, Config[string, int]{})
	_, err := c.GetOrLoad(t.Context(), "k", func(context.Context, string) (int, error) { panic("bad row") })
	assert.ErrorIs(t, err, ErrLoaderPanic)
	assert.ErrorContains(t, err, "bad row")
}

func TestSetOrDeleteDuringALoadWins(t *testing.T) {
	for _, op := range []string{"set", "delete"} {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config[string, string]{})
				g := newGatedLoader()
				got := make(chan string, 1)
				go func() {
					v, _ := c.GetOrLoad(t.Context(), "k", g.load)
					got <- v
				}()
				synctest.Wait()
				if op == "set" {
					c.Set("k", "written meanwhile")
				} else {
					c.Delete("k")
				}
				close(g.release)
				assert.Equal(t, "v:k", <-got, "the waiting caller gets the load's result")
				v, ok := c.Get("k")
				if op == "set" {
					assert.True(t, ok)
					assert.Equal(t, "written meanwhile", v, "the older load did not overwrite the write")
				} else {
					assert.False(t, ok, "the load that started before the delete was not stored")
				}
			})
		})
	}
}

func TestCloseCancelsLoadsAndRefusesNewOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(Config[string, string]{})
		require.NoError(t, err)
		g := newGatedLoader()
		got := make(chan error, 1)
		go func() {
			_, err := c.GetOrLoad(context.Background(), "k", g.load)
			got <- err
		}()
		synctest.Wait()
		require.NoError(t, c.Close())
		assert.ErrorIs(t, <-got, context.Canceled)
		_, err = c.GetOrLoad(t.Context(), "k", g.load)
		assert.ErrorIs(t, err, ErrClosed)
		_, err = c.GetOrLoadMany(t.Context(), []string{"k"}, func(context.Context, []string) (map[string]string, error) { return nil, nil })
		assert.ErrorIs(t, err, ErrClosed)
		c.Set("still", "works")
		_, ok := c.Get("still")
		assert.True(t, ok)
	})
}

func TestNilLoaderIsAnError(t *testing.T) {
	c := newTestCache(t, Config[string, int]{})
	_, err := c.GetOrLoad(t.Context(), "k", nil)
	assert.ErrorIs(t, err, ErrNilLoader)
	_, err = c.GetOrLoadMany(t.Context(), []string{"k"}, nil)
	assert.ErrorIs(t, err, ErrNilLoader)
}

func TestGetOrLoadManyLoadsOnlyTheMissingKeysInOneCall(t *testing.T) {
	c := newTestCache(t, Config[int, string]{NotFound: errNoRow})
	c.Set(1, "one")
	c.Set(2, "two")
	var batches [][]int
	batch := func(_ context.Context, missing []int) (map[int]string, error) {
		batches = append(batches, append([]int(nil), missing...))
		out := map[int]string{}
		for _, k := range missing {
			if k != 4 { // 4 does not exist
				out[k] = fmt.Sprint("loaded ", k)
			}
		}
		return out, nil
	}
	got, err := c.GetOrLoadMany(t.Context(), []int{1, 2, 3, 4, 5, 3}, batch)
	require.NoError(t, err)
	assert.Equal(t, map[int]string{1: "one", 2: "two", 3: "loaded 3", 5: "loaded 5"}, got)
	require.Len(t, batches, 1)
	assert.ElementsMatch(t, []int{3, 4, 5}, batches[0], "only the missing keys, each once")

	got, err = c.GetOrLoadMany(t.Context(), []int{3, 4, 5}, batch)
	require.NoError(t, err)
	assert.Equal(t, map[int]string{3: "loaded 3", 5: "loaded 5"}, got)
	assert.Len(t, batches, 1, "everything was cached, the absent key as not found")
	// The loader may run on a goroutine the cache starts, where t.Fatal
	// would not end the test: it records the call and fails the load.
	var reloaded atomic.Bool
	_, err = c.GetOrLoad(t.Context(), 4, func(context.Context, int) (string, error) {
		reloaded.Store(true)
		return "", errors.New("loader called for a key cached as not found")
	})
	assert.ErrorIs(t, err, errNoRow)
	assert.False(t, reloaded.Load(), "not found is cached: the loader is not called again")
}

func TestGetOrLoadManyJoinsLoadsInFlightAndReportsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{})
		g := newGatedLoader()
		single := make(chan string, 1)
		go func() {
			v, _ := c.GetOrLoad(t.Context(), "a", g.load)
			single <- v
		}()
		synctest.Wait()
		var missingSeen []string
		boom := errors.New("batch failed")
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err := c.GetOrLoadMany(t.Context(), []string{"a", "b"}, func(_ context.Context, missing []string) (map[string]string, error) {
				missingSeen = missing
				return nil, boom
			})
			assert.ErrorIs(t, err, boom)
			assert.Equal(t, map[string]string{"a": "v:a"}, got, "a came from the single load it joined")
		}()
		synctest.Wait()
		close(g.release)
		<-done
		assert.Equal(t, "v:a", <-single)
		assert.Equal(t, []string{"b"}, missingSeen, "a was in flight already, so only b was batch-loaded")
	})
}

func TestGetOrLoadManyMissingKeyWithoutNotFoundConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, string]{})
		gate := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err := c.GetOrLoadMany(t.Context(), []string{"x"}, func(context.Context, []string) (map[string]string, error) {
				<-gate
				return map[string]string{}, nil
			})
			assert.NoError(t, err)
			assert.Empty(t, got)
		}()
		synctest.Wait()
		waiter := make(chan error, 1)
		go func() {
			_, err := c.GetOrLoad(t.Context(), "x", func(context.Context, string) (string, error) { return "unused", nil })
			waiter <- err
		}()
		synctest.Wait()
		close(gate)
		<-done
		assert.ErrorIs(t, <-waiter, ErrNotLoaded)
	})
}
