package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNilLoader is returned when GetOrLoad or GetOrLoadMany is given a nil
// loader.
var ErrNilLoader = errors.New("cache: loader is nil")

// ErrNotLoaded is the error for a key that a batch loader (GetOrLoadMany)
// left out of its result when Config.NotFound is not set; with NotFound set,
// such a key is a NotFound result and is cached as one.
var ErrNotLoaded = errors.New("cache: batch loader returned no value for the key")

// ErrLoaderPanic wraps a panic raised by a loader, which is recovered so
// that it reaches the callers as an error instead of crashing the process
// from a background goroutine.
var ErrLoaderPanic = errors.New("cache: loader panicked")

// flight is one load in progress for a key: every concurrent caller of
// GetOrLoad for the key waits on the same flight, so the loader runs once.
type flight[V any] struct {
	done  chan struct{}
	value V
	err   error
	// superseded is set (under the shard lock) when Set, Delete or Purge
	// changed the key while the load ran: the result is still handed to
	// the waiters but not stored, so that it cannot overwrite newer data.
	superseded bool
	refresh    bool
}

// supersedeFlight marks key's load in flight, if any, as superseded.
// Called with s.mu held.
func (s *shard[K, V]) supersedeFlight(key K) {
	if len(s.flights) == 0 {
		return
	}
	if f := s.flights[key]; f != nil {
		f.superseded = true
	}
}

// GetOrLoad returns key's live value, or loads it with loader and caches
// it. Concurrent calls for a key that is absent or expired run loader once
// and share its result (stampede protection). A caller whose ctx ends stops
// waiting at once with ctx's error, without cancelling the load for the
// others; the load runs under its own context (ctx's values, not its
// cancellation) bounded by Config.LoadTimeout.
//
// With Config.RefreshAhead, a caller that finds an entry past its refresh
// point gets the current value at once and one background load replaces it.
// With Config.NotFound, a "not found" load is cached (Config.NegativeTTL)
// and returned as that error. With Config.StaleIfError, a failed load of a
// recently expired key returns the expired value instead of the error.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, key K, loader func(ctx context.Context, key K) (V, error)) (V, error) {
	var zero V
	if loader == nil {
		return zero, ErrNilLoader
	}
	if c.isClosed.Load() {
		return zero, ErrClosed
	}
	s, h := c.shardFor(key)
	// The common case, a live entry not due a refresh, takes no lock.
	if n := s.index.get(key, h); n != nil {
		if live, t := c.liveAt(n); live && !c.refreshDue(n, t) {
			if c.cfg.ExpireAfterAccess {
				n.slide(t)
			}
			s.hit(n)
			if n.missing != nil {
				return zero, n.missing.err
			}
			return loadValue(c.valueKind, n), nil
		}
	}
	t := c.now()
	s.mu.Lock()
	n, ev, report := c.lockedLookup(s, key, h, t)
	if report {
		defer c.notify(ev)
	}
	if n != nil {
		if n.missing != nil {
			s.mu.Unlock()
			return zero, n.missing.err
		}
		if c.refreshDue(n, t) && s.flights[key] == nil {
			f := &flight[V]{done: make(chan struct{}), refresh: true}
			s.flights[key] = f
			s.mu.Unlock()
			c.startLoad(ctx, key, f, loader)
			return loadValue(c.valueKind, n), nil
		}
		v := n.value
		s.mu.Unlock()
		return v, nil
	}
	f := s.flights[key]
	if f == nil {
		f = &flight[V]{done: make(chan struct{})}
		s.flights[key] = f
		s.mu.Unlock()
		c.startLoad(ctx, key, f, loader)
	} else {
		s.mu.Unlock()
	}
	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// lockedLookup is a lookup on a path that holds the shard's lock (loads
// start under it): it replays the caller's recorded reads first, counts
// the lookup, promotes a live entry, and removes an expired one, which it
// returns for reporting after unlock. It returns the live node, or nil.
func (c *Cache[K, V]) lockedLookup(s *shard[K, V], key K, h uint64, t int64) (*node[K, V], eviction[K, V], bool) {
	s.drainBeforeWrite()
	var ev eviction[K, V]
	report := false
	if n := s.index.get(key, h); n != nil {
		if n.liveAt(t) {
			s.hits++
			s.promote(n)
			s.climb(true)
			if c.cfg.ExpireAfterAccess {
				n.slide(t)
			}
			return n, ev, false
		}
		ev, report = c.dropExpired(s, key, h, n, t)
	}
	s.misses++
	s.climb(false)
	return nil, ev, report
}

// refreshDue reports whether a live entry has passed its refresh point.
func (c *Cache[K, V]) refreshDue(n *node[K, V], t int64) bool {
	if c.cfg.RefreshAhead <= 0 || n.life == 0 || n.missing != nil {
		return false
	}
	return t >= c.refreshPoint(n)
}

// refreshPoint is when a lookup of n starts a refresh (RefreshAhead).
func (c *Cache[K, V]) refreshPoint(n *node[K, V]) int64 {
	return n.born() + int64(float64(n.life)*c.cfg.RefreshAhead)
}

// startLoad runs loader for key in the background and completes f.
func (c *Cache[K, V]) startLoad(ctx context.Context, key K, f *flight[V], loader func(context.Context, K) (V, error)) {
	values := context.WithoutCancel(ctx)
	started := c.spawn(func() {
		lctx, done := c.loadContext(values)
		defer done()
		begin := time.Now()
		v, err := callLoader(lctx, key, loader)
		c.recordLoad(lctx, f.refresh, err, time.Since(begin))
		c.finish(key, f, v, err)
	})
	if !started {
		c.finish(key, f, *new(V), ErrClosed)
	}
}

// loadContext derives a load's context: the caller's values, the load
// timeout, cancelled by Close, and a span.
func (c *Cache[K, V]) loadContext(values context.Context) (context.Context, func()) {
	lctx, cancel := context.WithTimeout(values, c.cfg.LoadTimeout)
	stop := context.AfterFunc(c.closeCtx, cancel)
	lctx, end := c.obs.startSpan(lctx)
	return lctx, func() {
		end()
		stop()
		cancel()
	}
}

// callLoader runs loader, turning a panic into ErrLoaderPanic.
func callLoader[K any, V any](ctx context.Context, key K, loader func(context.Context, K) (V, error)) (v V, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrLoaderPanic, r)
		}
	}()
	return loader(ctx, key)
}

// isNotFound reports whether err is the configured NotFound error.
func (c *Cache[K, V]) isNotFound(err error) bool {
	return err != nil && c.cfg.NotFound != nil && errors.Is(err, c.cfg.NotFound)
}

// finish stores a load's result (unless superseded), resolves the flight
// and wakes its waiters. A failed load falls back to a kept stale value.
func (c *Cache[K, V]) finish(key K, f *flight[V], v V, err error) {
	s, h := c.shardFor(key)
	t := c.now()
	var ttl time.Duration
	var w uint32
	if err == nil {
		// User code (ExpireAfter, Weigher) runs outside the lock, so
		// before it is known whether a write superseded the load.
		ttl = c.lifetime(s, key, h, v, t)
		w = c.weigh(key, v)
	}
	var evs evictions[K, V]
	s.mu.Lock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	switch {
	case err == nil:
		f.value = v
		switch {
		case f.superseded:
		case int64(w) > int64(s.capacity):
			s.reject(key, h, t, &evs)
		default:
			s.put(key, h, c.newNode(key, v, nil, ttl, w, t), t, &evs)
		}
	case c.isNotFound(err):
		f.err = err
		if !f.superseded {
			s.put(key, h, c.newNode(key, *new(V), err, c.cfg.NegativeTTL, 1, t), t, &evs)
		}
	default:
		f.err = err
		if old := s.index.get(key, h); old != nil && old.missing == nil && old.keepAt(t, c.staleNano) {
			// A failed refresh leaves the live value in place; a failed
			// load after expiry serves the stale value within its grace.
			f.value, f.err = old.value, nil
			if !old.liveAt(t) {
				c.staleServed.Add(1)
			}
		}
	}
	s.mu.Unlock()
	close(f.done)
	c.notifyAll(&evs)
}

// recordLoad counts a finished load and logs failures (never the key).
func (c *Cache[K, V]) recordLoad(ctx context.Context, refresh bool, err error, d time.Duration) {
	c.loadNanos.Add(int64(d))
	result := "success"
	switch {
	case refresh && err != nil && !c.isNotFound(err):
		c.refreshErrors.Add(1)
		result = "error"
	case refresh:
		c.refreshes.Add(1)
	case err == nil:
		c.loadSuccesses.Add(1)
	case c.isNotFound(err):
		c.loadsNotFound.Add(1)
		result = "not_found"
	default:
		c.loadErrors.Add(1)
		result = "error"
	}
	c.obs.recordLoad(ctx, result, refresh, d)
	if result == "error" {
		what := "load"
		if refresh {
			what = "refresh"
		}
		c.cfg.Logger.WarnContext(ctx, "cache: "+what+" failed", "cache", c.cfg.Name, "error", err)
	}
}

// Memoize turns loader into a cached function: a call returns key's live
// value from c, or loads it with loader through GetOrLoad and caches it, so
// that concurrent calls for a key that is not cached run loader once and
// share its result. Everything GetOrLoad does applies (Config.NotFound,
// RefreshAhead, StaleIfError, LoadTimeout; a caller whose context ends stops
// waiting at once). A nil c or loader makes every call fail with an error
// rather than panic.
func Memoize[K comparable, V any](c *Cache[K, V], loader func(ctx context.Context, key K) (V, error)) func(ctx context.Context, key K) (V, error) {
	if c == nil {
		return func(context.Context, K) (V, error) {
			return *new(V), errors.New("cache: Memoize needs a *Cache, got nil")
		}
	}
	return func(ctx context.Context, key K) (V, error) {
		return c.GetOrLoad(ctx, key, loader)
	}
}
