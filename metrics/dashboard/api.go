package dashboard

import (
	"bytes"
	"compress/gzip"
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
	// gzipped is body compressed once per build, for the clients that
	// accept it (every browser): a full ring's 1.2 MB of JSON is about a
	// tenth of that on the wire, and compressing per poll would cost each
	// poll what a build's compression costs once.
	gzipped []byte

	lastRequest atomic.Int64 // Unix ns of the latest API request
}

// document returns the JSON document for the current state, building it if
// the state moved since the last build.
// With gzipped true it returns the compressed form.
func (c *apiCache) document(d *Dashboard, now time.Time, gzipped bool) ([]byte, error) {
	c.lastRequest.Store(now.UnixNano())
	if body, ok := c.current(d, gzipped); ok {
		return body, nil
	}
	c.build.Lock()
	defer c.build.Unlock()
	if body, ok := c.current(d, gzipped); ok { // built while this request waited
		return body, nil
	}
	body, zipped, err := c.rebuild(d)
	if gzipped {
		return zipped, err
	}
	return body, err
}

// current returns the stored body (or its compressed form) if it was built
// from the current state.
func (c *apiCache) current(d *Dashboard, gzipped bool) ([]byte, bool) {
	d.mu.Lock()
	version := d.version
	d.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	body := c.body
	if gzipped {
		body = c.gzipped
	}
	return body, c.body != nil && c.version == version
}

// rebuild computes, encodes and compresses a snapshot; c.build is held.
func (c *apiCache) rebuild(d *Dashboard) (body, gzipped []byte, err error) {
	snap, version := d.snapshot()
	c.mu.Lock()
	size, zsize := len(c.body), len(c.gzipped)
	c.mu.Unlock()
	buf := bytes.NewBuffer(make([]byte, 0, size+size/8))
	if err := json.NewEncoder(buf).Encode(snap); err != nil {
		return nil, nil, err
	}
	body = buf.Bytes()
	zbuf := bytes.NewBuffer(make([]byte, 0, zsize+zsize/8))
	zw, _ := gzip.NewWriterLevel(zbuf, gzip.BestSpeed) // a valid level: no error
	_, _ = zw.Write(body)                              // writes to a bytes.Buffer do not fail
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	gzipped = zbuf.Bytes()
	c.mu.Lock()
	c.version, c.body, c.gzipped = version, body, gzipped
	c.mu.Unlock()
	return body, gzipped, nil
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
	if _, ok := c.current(d, false); !ok {
		_, _, _ = c.rebuild(d) // an encoding failure is reported to the next request, which rebuilds
	}
}
