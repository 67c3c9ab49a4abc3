package cache

import (
	"context"
	"errors"
	"time"
)

// GetOrLoadMany returns the live values of keys, loading all the missing
// ones with a single call of batch. Keys already being loaded by another
// caller are waited for rather than loaded again, so GetOrLoadMany shares
// GetOrLoad's stampede protection. batch receives each missing key once and
// returns the values it found; a key it leaves out is "not found": cached
// as Config.NotFound when that is set, otherwise reported to any concurrent
// GetOrLoad of that key as ErrNotLoaded. Keys without a value are absent
// from the result map.
//
// The error is the first load error met (after StaleIfError fallbacks), or
// ctx's error if ctx ends first; the map then holds what was found so far.
// GetOrLoadMany does not refresh ahead.
func (c *Cache[K, V]) GetOrLoadMany(ctx context.Context, keys []K, batch func(ctx context.Context, missing []K) (map[K]V, error)) (map[K]V, error) {
	if batch == nil {
		return nil, ErrNilLoader
	}
	if c.isClosed.Load() {
		return nil, ErrClosed
	}
	found := make(map[K]V, len(keys))
	type wait struct {
		key K
		f   *flight[V]
	}
	var waits []wait
	var missing []K
	var mine []*flight[V]
	seen := make(map[K]struct{}, len(keys))
	for _, key := range keys {
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = struct{}{}
		v, f, own, hit := c.lookupOrJoin(key)
		switch {
		case hit:
			found[key] = v
		case f == nil: // a cached NotFound
		case own:
			missing = append(missing, key)
			mine = append(mine, f)
			waits = append(waits, wait{key, f})
		default:
			waits = append(waits, wait{key, f})
		}
	}
	if len(missing) > 0 {
		c.startBatch(ctx, missing, mine, batch)
	}
	var firstErr error
	for _, w := range waits {
		select {
		case <-w.f.done:
		case <-ctx.Done():
			return found, ctx.Err()
		}
		switch {
		case w.f.err == nil:
			found[w.key] = w.f.value
		case c.isNotFound(w.f.err), errors.Is(w.f.err, ErrNotLoaded):
		default:
			if firstErr == nil {
				firstErr = w.f.err
			}
		}
	}
	return found, firstErr
}

// lookupOrJoin returns key's live value (hit), or the flight to wait for,
// creating it when none is in progress (own). A cached NotFound returns
// neither a hit nor a flight.
func (c *Cache[K, V]) lookupOrJoin(key K) (v V, f *flight[V], own, hit bool) {
	s, h := c.shardFor(key)
	t := c.now()
	s.mu.Lock()
	n, ev, report := c.lockedLookup(s, key, h, t)
	if n != nil {
		s.mu.Unlock()
		if n.missing != nil {
			return v, nil, false, false
		}
		return loadValue(c.valueKind, n), nil, false, true
	}
	f = s.flights[key]
	if f == nil {
		f = &flight[V]{done: make(chan struct{})}
		s.flights[key] = f
		own = true
	}
	s.mu.Unlock()
	if report {
		c.notify(ev)
	}
	return v, f, own, false
}

// startBatch runs one batch load for missing in the background and
// resolves each key's flight.
func (c *Cache[K, V]) startBatch(ctx context.Context, missing []K, flights []*flight[V], batch func(context.Context, []K) (map[K]V, error)) {
	values := context.WithoutCancel(ctx)
	started := c.spawn(func() {
		lctx, done := c.loadContext(values)
		defer done()
		begin := time.Now()
		got, err := callBatch(lctx, missing, batch)
		c.recordLoad(lctx, false, err, time.Since(begin))
		for i, key := range missing {
			v, present := got[key]
			kerr := err
			if kerr == nil && !present {
				kerr = ErrNotLoaded
				if c.cfg.NotFound != nil {
					kerr = c.cfg.NotFound
				}
			}
			c.finish(key, flights[i], v, kerr)
		}
	})
	if !started {
		for i, key := range missing {
			c.finish(key, flights[i], *new(V), ErrClosed)
		}
	}
}

// callBatch runs batch, turning a panic into ErrLoaderPanic.
func callBatch[K comparable, V any](ctx context.Context, missing []K, batch func(context.Context, []K) (map[K]V, error)) (got map[K]V, err error) {
	return callLoader(ctx, missing, func(ctx context.Context, m []K) (map[K]V, error) { return batch(ctx, m) })
}
