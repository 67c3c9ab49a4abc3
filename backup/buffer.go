package backup

import (
	"errors"
	"io"
	"sync"
)

// aheadWriter lets the dump tool run ahead of compression: writes are
// copied into chunks that a goroutine hands to the next stage, with at
// most depth chunks in flight. Without it the tool waits, blocked on a
// full pipe, whenever the compressor is busy, and the two never overlap.
// Memory is bounded by (depth+1) × chunk. Every byte is also written to
// tee, if set, as it arrives (the plain dump's hash).
type aheadWriter struct {
	dst   io.Writer
	tee   io.Writer
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

func newAheadWriter(dst, tee io.Writer) *aheadWriter {
	if tee == nil {
		tee = io.Discard
	}
	w := &aheadWriter{dst: dst, tee: tee, full: make(chan []byte, aheadDepth), free: make(chan []byte, aheadDepth+1),
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
		w.grow(k)
		p = p[k:]
	}
	return n, nil
}

// ReadFrom reads r straight into the chunks, saving the copy Write makes;
// io.Copy uses it, so the dump tool's output lands here in one step.
func (w *aheadWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if err := w.failed(); err != nil {
			return total, err
		}
		n, err := r.Read(w.cur[len(w.cur):w.chunk])
		w.grow(n)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// grow takes the next n bytes after len(w.cur) into the current chunk,
// and hands the chunk on once it is full.
func (w *aheadWriter) grow(n int) {
	_, _ = w.tee.Write(w.cur[len(w.cur) : len(w.cur)+n])
	w.cur = w.cur[:len(w.cur)+n]
	if len(w.cur) == w.chunk {
		w.full <- w.cur
		w.cur = <-w.free
	}
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
