package dashboard

import (
	"bytes"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// apiCache holds the JSON document of the latest snapshot. Computing the
// views and encoding a full ring costs milliseconds of CPU (docs/BENCHMARKS.md),
// while the document changes only once per Interval: it is built at most
// once per sample, and, while someone polls the API, by the sampler right
// after the sample, so that a poll is answered from bytes already made.
type apiCache struct {
	build sync.Mutex // held while a document is built: one build at a time

	mu      sync.Mutex
	version uint64 // Dashboard.version the body was built from
	body    []byte // immutable once stored; nil before the first build

	lastRequest atomic.Int64 // Unix ns of the latest API request
}

// document returns the JSON document for the current state, building it if
// the state moved since the last build.
func (c *apiCache) document(d *Dashboard, now time.Time) ([]byte, error) {
	c.lastRequest.Store(now.UnixNano())
	if body, ok := c.current(d); ok {
		return body, nil
	}
	c.build.Lock()
	defer c.build.Unlock()
	if body, ok := c.current(d); ok { // built while this request waited
		return body, nil
	}
	return c.rebuild(d)
}

// current returns the stored body if it was built from the current state.
func (c *apiCache) current(d *Dashboard) ([]byte, bool) {
	d.mu.Lock()
	version := d.version
	d.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.body, c.body != nil && c.version == version
}

// rebuild computes and encodes a snapshot; c.build is held.
func (c *apiCache) rebuild(d *Dashboard) ([]byte, error) {
	snap, version := d.snapshot()
	c.mu.Lock()
	size := len(c.body)
	c.mu.Unlock()
	buf := bytes.NewBuffer(make([]byte, 0, size+size/8))
	if err := json.NewEncoder(buf).Encode(snap); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	c.mu.Lock()
	c.version, c.body = version, body
	c.mu.Unlock()
	return body, nil
}

// refreshIfWatched builds the document after a sample when the API was
// requested within the last watchWindow, so that the next poll finds it
// ready. Nobody polling, nothing is built.
func (c *apiCache) refreshIfWatched(d *Dashboard, now time.Time) {
	last := c.lastRequest.Load()
	if last == 0 || now.Sub(time.Unix(0, last)) > d.cfg.watchWindow() {
		return
	}
	c.build.Lock()
	defer c.build.Unlock()
	if _, ok := c.current(d); !ok {
		_, _ = c.rebuild(d) // an encoding failure is reported to the next request, which rebuilds
	}
}
