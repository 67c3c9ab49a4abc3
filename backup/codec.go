package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names the compression of a stored object.
type Compression string

// Supported compressions. Zstd is the default; the stored object is a
// standard zstd or gzip stream that `zstd -d` / `gzip -d` read.
const (
	Zstd          Compression = "zstd"
	Gzip          Compression = "gzip"
	NoCompression Compression = "none"
)

// ParseCompression accepts "zstd", "gzip", "none", or "" (zstd).
func ParseCompression(s string) (Compression, error) {
	switch Compression(s) {
	case "", Zstd:
		return Zstd, nil
	case Gzip, NoCompression:
		return Compression(s), nil
	}
	return "", fmt.Errorf("backup: unknown compression %q (want zstd, gzip or none)", s)
}

// encoderConcurrency bounds zstd's block encoders. For a stream, more
// than one means blocks are encoded and written asynchronously, so the
// caller fills the next block meanwhile.
func encoderConcurrency() int { return min(runtime.GOMAXPROCS(0), 4) }

// zstdWindow is the encoder's window: 2 MiB, what `zstd -3` uses for a
// large input. klauspost's default for SpeedDefault is 8 MiB, which on
// pg_dump output gains 0.004% in size and costs about 30 MB of memory.
const zstdWindow = 2 << 20

// sealer is the write side of the pipeline: plain dump in, compressed and
// encrypted bytes out. Close flushes every layer in order.
type sealer struct {
	w       io.Writer // top of the stack
	closers []io.Closer
}

func newSealer(dst io.Writer, comp Compression, recipients []age.Recipient) (*sealer, error) {
	s := &sealer{w: dst}
	if len(recipients) > 0 {
		enc, err := age.Encrypt(dst, recipients...)
		if err != nil {
			return nil, fmt.Errorf("backup: age: %w", err)
		}
		s.w = enc
		s.closers = append(s.closers, enc)
	}
	switch comp {
	case Zstd:
		zw, err := zstd.NewWriter(s.w, zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(encoderConcurrency()), zstd.WithWindowSize(zstdWindow))
		if err != nil {
			return nil, fmt.Errorf("backup: zstd: %w", err)
		}
		s.w = zw
		s.closers = append(s.closers, zw)
	case Gzip:
		gw := gzip.NewWriter(s.w)
		s.w = gw
		s.closers = append(s.closers, gw)
	}
	return s, nil
}

func (s *sealer) Write(p []byte) (int, error) { return s.w.Write(p) }

// Close flushes compression, then encryption.
func (s *sealer) Close() error {
	var err error
	for i := len(s.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, s.closers[i].Close())
	}
	return err
}

// abort releases the compressor's goroutines after a failure.
func (s *sealer) abort() {
	for _, c := range s.closers {
		if zw, ok := c.(*zstd.Encoder); ok {
			zw.Reset(io.Discard)
			_ = zw.Close()
		}
	}
}

var errNoIdentities = errors.New("backup: the backup is encrypted and Config.Identities is empty")

// opener is the read side: stored bytes in, plain dump out.
type opener struct {
	io.Reader
	zr *zstd.Decoder
}

func newOpener(src io.Reader, comp Compression, encrypted bool, identities []age.Identity) (*opener, error) {
	r := src
	if encrypted {
		if len(identities) == 0 {
			return nil, errNoIdentities
		}
		dr, err := age.Decrypt(r, identities...)
		if err != nil {
			return nil, fmt.Errorf("backup: age: %w", err)
		}
		r = dr
	}
	o := &opener{}
	switch comp {
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1),
			// Keel writes 2 MiB windows (8 MiB in earlier versions); a
			// larger one is not ours.
			zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return nil, &CorruptError{Reason: "zstd: " + err.Error()}
		}
		o.zr = zr
		r = zr
	case Gzip:
		gr, err := gzip.NewReader(r)
		if err != nil {
			return nil, &CorruptError{Reason: "gzip: " + err.Error()}
		}
		r = gr
	}
	o.Reader = r
	return o, nil
}

func (o *opener) Close() {
	if o.zr != nil {
		o.zr.Close()
	}
}

// countingHash counts and hashes what passes through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func newCountingHash() *countingHash { return &countingHash{h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

func (c *countingHash) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// checkedReader hashes what it reads and, at EOF, fails with a
// *CorruptError instead of io.EOF when the size or SHA-256 differ from
// the manifest. Consumers therefore never see a clean end of a bad stream.
type checkedReader struct {
	r        io.Reader
	c        *countingHash
	id, what string
	size     int64
	sum      string
}

func newCheckedReader(r io.Reader, id, what string, size int64, sum string) *checkedReader {
	return &checkedReader{r: r, c: newCountingHash(), id: id, what: what, size: size, sum: sum}
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	_, _ = r.c.Write(p[:n])
	if r.c.n > r.size {
		return n, &CorruptError{ID: r.id, Reason: fmt.Sprintf("%s is longer than the manifest's %d bytes", r.what, r.size)}
	}
	if errors.Is(err, io.EOF) {
		if r.c.n != r.size {
			return n, &CorruptError{ID: r.id, Reason: fmt.Sprintf("%s is %d bytes, manifest says %d (truncated?)", r.what, r.c.n, r.size)}
		}
		if got := r.c.sum(); got != r.sum {
			return n, &CorruptError{ID: r.id, Reason: fmt.Sprintf("%s SHA-256 is %s, manifest says %s", r.what, got, r.sum)}
		}
	}
	return n, err
}
