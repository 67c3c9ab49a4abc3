package backup

import (
	"errors"
	"io"
	"sync"
)

// aheadWriter lets the dump tool run ahead of compression: writes are
// copied into chunks that a goroutine hands to the next stage, with at
// most depth chunks in flight. Without it the tool waits, blocked on a
// 64 KiB pipe, whenever the compressor is busy, and the two never
// overlap. Memory is bounded by (depth+1) × chunk.
type aheadWriter struct {
	dst   io.Writer
	cur   []byte
	full  chan []byte
	free  chan []byte
	done  chan struct{}
	mu    sync.Mutex
	err   error // first error of the next stage
	chunk int
}

const (
	aheadChunk = 1 << 20
	aheadDepth = 4
)

func newAheadWriter(dst io.Writer) *aheadWriter {
	w := &aheadWriter{dst: dst, full: make(chan []byte, aheadDepth), free: make(chan []byte, aheadDepth+1),
		done: make(chan struct{}), chunk: aheadChunk}
	for range aheadDepth + 1 {
		w.free <- make([]byte, 0, aheadChunk)
	}
	w.cur = <-w.free
	go w.drain()
	return w
}

func (w *aheadWriter) drain() {
	defer close(w.done)
	for b := range w.full {
		if w.failed() == nil {
			if _, err := w.dst.Write(b); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		w.free <- b[:0]
	}
}

func (w *aheadWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write copies p into chunks; it fails once the next stage has failed.
func (w *aheadWriter) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(w.cur[len(w.cur):w.chunk], p)
		w.cur = w.cur[:len(w.cur)+k]
		p = p[k:]
		if len(w.cur) == w.chunk {
			w.full <- w.cur
			w.cur = <-w.free
		}
	}
	return n, nil
}

// Close hands over the last chunk, waits for the next stage to take
// everything, and returns its first error.
func (w *aheadWriter) Close() error {
	if w.cur == nil {
		return errors.New("backup: internal: writer closed twice")
	}
	if len(w.cur) > 0 {
		w.full <- w.cur
	}
	w.cur = nil
	close(w.full)
	<-w.done
	return w.failed()
}
