package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FileSinkConfig configures a FileSink. The zero value of each field but Dir
// means the documented default.
type FileSinkConfig struct {
	// Dir holds the segment files; it is created (0700) if missing. Required.
	Dir string
	// MaxSize rotates to a new segment once the current one reaches this many
	// bytes. Default 64 MiB.
	MaxSize int64
	// MaxAge rotates to a new segment once the current one is this old (by
	// the time its first record was written). Default 0: no time rotation.
	MaxAge time.Duration
	// Retention removes rotated segments sealed more than this long ago,
	// checked at each rotation (and by Prune). The log stays verifiable: the
	// oldest remaining segment starts with a signed checkpoint. Default 0:
	// keep everything.
	Retention time.Duration
	// Logger receives retention removals. Nil: no logs.
	Logger *slog.Logger
}

// DefaultMaxSegmentSize is FileSinkConfig.MaxSize's default.
const DefaultMaxSegmentSize = 64 << 20

// maxLineSize bounds one record when reading, so a damaged file cannot
// exhaust memory.
const maxLineSize = 16 << 20

const segmentPrefix, segmentSuffix = "audit-", ".jsonl"

// FileSink is an append-only JSON-lines sink: one record per line, in
// segment files named audit-<first seq, 20 digits>.jsonl. Appends are written
// with one write call per batch and, in durable mode, one fsync. A crash can
// leave at most a torn last line, which Open detects, moves aside to a
// .torn file and reports so the Logger records it. One Logger (one process)
// writes a directory; readers (DirSource, Verify, Query, `keel audit`) may
// run at any time.
type FileSink struct {
	cfg FileSinkConfig

	mu      sync.Mutex // guards the fields below against Lines and Prune
	f       *os.File
	name    string // current segment's file name
	size    int64
	created time.Time
	broken  error // set after a failed fsync: the file's state is unknown
	buf     []byte
	// tornFrom is where a torn tail Open found starts, until discardTorn
	// removes it (-1: none); Append refuses to write over it.
	tornFrom     int64
	createdEmpty bool // Open created the first segment of an empty directory
}

// NewFileSink validates cfg and returns a sink; files are opened by Open.
func NewFileSink(cfg FileSinkConfig) (*FileSink, error) {
	if cfg.Dir == "" {
		return nil, errors.New("audit: FileSinkConfig.Dir is required")
	}
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("audit: FileSinkConfig.MaxSize must not be negative, got %d", cfg.MaxSize)
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("audit: FileSinkConfig.MaxAge must not be negative, got %s", cfg.MaxAge)
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("audit: FileSinkConfig.Retention must not be negative, got %s", cfg.Retention)
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSegmentSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &FileSink{cfg: cfg, tornFrom: -1}, nil
}

func segmentName(firstSeq uint64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, firstSeq, segmentSuffix)
}

// listSegments returns the segment file names of dir in log order.
func listSegments(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: read log directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, segmentPrefix) || !strings.HasSuffix(n, segmentSuffix) {
			continue
		}
		num := strings.TrimSuffix(strings.TrimPrefix(n, segmentPrefix), segmentSuffix)
		if _, err := strconv.ParseUint(num, 10, 64); err != nil || len(num) != 20 {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names) // fixed-width numbers sort in log order
	return names, nil
}

// Open finds the current segment and returns its last complete record. A
// torn last line is reported (OpenState.Recovered) but left in place until
// the Logger, having checked the log against its witness, discards it
// (moved aside to a .torn file): a log the Logger refuses is not changed.
func (s *FileSink) Open(ctx context.Context) (OpenState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		return OpenState{}, errors.New("audit: file sink already open")
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
		return OpenState{}, fmt.Errorf("audit: create log directory: %w", err)
	}
	names, err := listSegments(s.cfg.Dir)
	if err != nil {
		return OpenState{}, err
	}
	s.tornFrom, s.createdEmpty = -1, false
	var st OpenState
	if len(names) == 0 {
		s.createdEmpty = true
		return st, s.createSegment(1)
	}
	cur := names[len(names)-1]
	f, err := os.OpenFile(filepath.Join(s.cfg.Dir, cur), os.O_RDWR, 0)
	if err != nil {
		return st, fmt.Errorf("audit: open segment: %w", err)
	}
	rec, size, err := s.findTornTail(f, cur)
	if err != nil {
		_ = f.Close()
		return st, err
	}
	st.Recovered = rec
	if rec != nil {
		s.tornFrom = size
	}
	last, err := lastRecord(f, size, cur)
	if err != nil {
		_ = f.Close()
		return st, err
	}
	if last == nil && len(names) > 1 {
		// An empty segment: the process stopped between creating it and
		// writing its first record. The chain continues from the one before.
		prev, err := os.Open(filepath.Join(s.cfg.Dir, names[len(names)-2]))
		if err != nil {
			_ = f.Close()
			return st, fmt.Errorf("audit: open segment: %w", err)
		}
		fi, err := prev.Stat()
		if err == nil {
			last, err = lastRecord(prev, fi.Size(), names[len(names)-2])
		}
		_ = prev.Close()
		if err != nil {
			_ = f.Close()
			return st, err
		}
	}
	st.Last = last
	s.f, s.name, s.size = f, cur, size
	s.created = time.Now()
	if first, err := firstRecordTime(f); err == nil {
		s.created = first
	}
	return st, nil
}

// findTornTail measures the bytes after the last newline (a torn write),
// hashing them as it streams: a hostile file without newlines costs time,
// not memory. It returns the size without them.
func (s *FileSink) findTornTail(f *os.File, name string) (*Recovery, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("audit: stat segment: %w", err)
	}
	size := fi.Size()
	end, err := lastNewlineEnd(f, size)
	if err != nil {
		return nil, 0, err
	}
	if end == size {
		return nil, size, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, end, size-end)); err != nil {
		return nil, 0, fmt.Errorf("audit: read torn tail: %w", err)
	}
	return &Recovery{Segment: name, Offset: end, DiscardedBytes: size - end, DiscardedSHA256: hex.EncodeToString(h.Sum(nil))}, end, nil
}

// discardTorn moves the torn tail Open found to a .torn file beside the
// segment and truncates it away. The Logger calls it before it writes the
// recovery record.
func (s *FileSink) discardTorn() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tornFrom < 0 {
		return nil
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("audit: stat segment: %w", err)
	}
	aside := filepath.Join(s.cfg.Dir, fmt.Sprintf("%s.torn-%d", s.name, s.tornFrom))
	if err := copyFileSync(aside, io.NewSectionReader(s.f, s.tornFrom, fi.Size()-s.tornFrom)); err != nil {
		return err
	}
	if err := s.f.Truncate(s.tornFrom); err != nil {
		return fmt.Errorf("audit: truncate torn tail: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync segment: %w", err)
	}
	s.tornFrom = -1
	return nil
}

// abandonOpen undoes what Open created for a log the Logger refused: the
// first segment of an empty directory.
func (s *FileSink) abandonOpen() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createdEmpty && s.f != nil && s.size == 0 {
		_ = os.Remove(filepath.Join(s.cfg.Dir, s.name))
	}
}

func copyFileSync(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", filepath.Base(path), err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", filepath.Base(path), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: sync directory: %w", err)
	}
	return nil
}

// lastNewlineEnd returns the offset just after the last '\n' in the first
// size bytes of f (0 when there is none).
func lastNewlineEnd(f *os.File, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, fmt.Errorf("audit: read segment: %w", err)
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// lastRecord decodes the last line of the first size bytes of f, which end
// with a newline (or are empty).
func lastRecord(f *os.File, size int64, name string) (*Record, error) {
	if size == 0 {
		return nil, nil
	}
	start, err := lastNewlineEnd(f, size-1)
	if err != nil {
		return nil, err
	}
	if size-1-start > maxLineSize {
		return nil, fmt.Errorf("%w: last line of %s is longer than %d bytes", ErrMalformed, name, maxLineSize)
	}
	line := make([]byte, size-1-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return nil, fmt.Errorf("audit: read segment: %w", err)
	}
	r, err := DecodeLine(line)
	if err != nil {
		return nil, fmt.Errorf("audit: last record of %s: %w (run Verify)", name, err)
	}
	return r, nil
}

func firstRecordTime(f *os.File) (time.Time, error) {
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if n == 0 {
		return time.Time{}, fmt.Errorf("audit: empty segment: %v", err)
	}
	i := bytes.IndexByte(buf[:n], '\n')
	if i < 0 {
		return time.Time{}, errors.New("audit: first line too long")
	}
	r, err := DecodeLine(buf[:i])
	if err != nil {
		return time.Time{}, err
	}
	return r.Time, nil
}

func (s *FileSink) createSegment(firstSeq uint64) error {
	name := segmentName(firstSeq)
	f, err := os.OpenFile(filepath.Join(s.cfg.Dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit: create segment: %w", err)
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		_ = f.Close()
		return err
	}
	s.f, s.name, s.size, s.created = f, name, 0, time.Now()
	return nil
}

// Append writes recs with one write call and, with sync, one fsync. On a
// failed write the segment is truncated back to its size before the call.
// A failed fsync leaves the file's state unknown, so the sink refuses every
// later Append: reopen it (a new FileSink) to continue.
func (s *FileSink) Append(ctx context.Context, recs []*Record, sync bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return s.broken
	}
	if s.f == nil {
		return errors.New("audit: file sink is not open")
	}
	if s.tornFrom >= 0 {
		return errors.New("audit: the segment's torn tail has not been discarded")
	}
	buf := s.buf[:0]
	for _, r := range recs {
		buf = append(buf, r.Line...)
		buf = append(buf, '\n')
	}
	s.buf = buf
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		_ = s.f.Truncate(s.size)
		return fmt.Errorf("audit: write segment: %w", err)
	}
	if sync {
		if err := s.f.Sync(); err != nil {
			s.broken = fmt.Errorf("audit: fsync segment (the sink must be reopened): %w", err)
			return s.broken
		}
	}
	s.size += int64(len(buf))
	if cap(s.buf) > 1<<20 {
		s.buf = nil // do not pin a large batch's buffer
	}
	return nil
}

// SegmentEmpty reports whether the current segment has no record yet
// (RotatingSink).
func (s *FileSink) SegmentEmpty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f != nil && s.size == 0
}

// RotationDue reports whether the current segment is full (MaxSize) or old
// enough (MaxAge) (RotatingSink).
func (s *FileSink) RotationDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || s.size == 0 {
		return false
	}
	return s.size >= s.cfg.MaxSize || (s.cfg.MaxAge > 0 && now.Sub(s.created) >= s.cfg.MaxAge)
}

// Rotate syncs and closes the current segment and starts the one whose
// first record will be nextSeq (RotatingSink).
func (s *FileSink) Rotate(nextSeq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return s.broken
	}
	if err := s.f.Sync(); err != nil {
		s.broken = fmt.Errorf("audit: fsync segment (the sink must be reopened): %w", err)
		return s.broken
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("audit: close segment: %w", err)
	}
	s.f = nil
	return s.createSegment(nextSeq)
}

// Sync makes everything appended so far durable.
func (s *FileSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return s.broken
	}
	if s.f == nil {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		s.broken = fmt.Errorf("audit: fsync segment (the sink must be reopened): %w", err)
		return s.broken
	}
	return nil
}

// Close syncs and closes the current segment.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		return fmt.Errorf("audit: close segment: %w", err)
	}
	return nil
}

// Lines reads the sink's directory; see DirSource.
func (s *FileSink) Lines(ctx context.Context) iter.Seq2[Line, error] {
	return DirSource(s.cfg.Dir).Lines(ctx)
}

// LinesFrom reads the sink's directory from record seq; see DirSource.
func (s *FileSink) LinesFrom(ctx context.Context, seq uint64) iter.Seq2[Line, error] {
	return DirSource(s.cfg.Dir).LinesFrom(ctx, seq)
}

// Segments returns the sink's segments from record from; see DirSource.
func (s *FileSink) Segments(ctx context.Context, from uint64) ([]Source, error) {
	return DirSource(s.cfg.Dir).Segments(ctx, from)
}

// Prune removes the rotated segments that were sealed (their successor
// started) before cutoff, oldest first, and returns their names. The
// current segment is never removed, and removal stops at the first segment
// that is kept, so what remains is one unbroken chain that starts with the
// signed checkpoint opening its first segment. Files of torn tails set aside
// for those segments go with them.
func (s *FileSink) Prune(cutoff time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := listSegments(s.cfg.Dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for i := 0; i+1 < len(names); i++ {
		next := names[i+1]
		if next == s.name && s.size == 0 {
			break // the successor has no record yet: nothing vouches for the chain
		}
		f, err := os.Open(filepath.Join(s.cfg.Dir, next))
		if err != nil {
			return removed, fmt.Errorf("audit: prune: %w", err)
		}
		sealed, err := firstRecordTime(f)
		_ = f.Close()
		if err != nil || !sealed.Before(cutoff) {
			break
		}
		if err := os.Remove(filepath.Join(s.cfg.Dir, names[i])); err != nil {
			return removed, fmt.Errorf("audit: prune: %w", err)
		}
		torn, _ := filepath.Glob(filepath.Join(s.cfg.Dir, names[i]+".torn-*"))
		for _, t := range torn {
			_ = os.Remove(t)
		}
		removed = append(removed, names[i])
	}
	if len(removed) > 0 {
		if err := syncDir(s.cfg.Dir); err != nil {
			return removed, err
		}
		s.cfg.Logger.Info("audit: retention removed segments", "segments", removed)
	}
	return removed, nil
}

// Retain applies FileSinkConfig.Retention at now: it prunes the segments
// sealed more than Retention ago (RotatingSink). With no Retention it keeps
// everything.
func (s *FileSink) Retain(now time.Time) error {
	if s.cfg.Retention <= 0 {
		return nil
	}
	_, err := s.Prune(now.Add(-s.cfg.Retention))
	return err
}
