package audit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DirSource reads the log a FileSink wrote in dir, segment by segment, one
// line at a time: memory use does not grow with the log. It never writes.
// It is a SeekSource and a SegmentedSource.
type DirSource string

// Lines yields every line of every segment in log order.
func (d DirSource) Lines(ctx context.Context) iter.Seq2[Line, error] {
	return d.LinesFrom(ctx, 1)
}

// LinesFrom yields the lines from the segment that holds record seq on.
// Before them it yields the last line of the segment before that one, and
// the lines of that segment before seq: Verify checks that they link into
// record seq, so that a file planted under a name at or below seq cannot
// make it skip the segment that really holds seq.
func (d DirSource) LinesFrom(ctx context.Context, seq uint64) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		segs, err := d.segments(seq)
		if err != nil {
			yield(Line{}, err)
			return
		}
		for _, s := range segs {
			if !s.read(ctx, yield) {
				return
			}
		}
	}
}

// Segments returns one Source per segment file, from the one that holds
// record from.
func (d DirSource) Segments(_ context.Context, from uint64) ([]Source, error) {
	segs, err := d.segments(from)
	if err != nil {
		return nil, err
	}
	out := make([]Source, len(segs))
	for i, s := range segs {
		out[i] = s
	}
	return out, nil
}

func (d DirSource) segments(from uint64) ([]segmentSource, error) {
	names, err := listSegments(string(d))
	if err != nil {
		return nil, err
	}
	// The segment holding from is the last one named at or before it. A
	// name is only a claim: Verify checks each against its first record.
	first := 0
	for i, n := range names {
		if from > 1 && segmentFirstSeq(n) <= from {
			first = i
		}
	}
	out := make([]segmentSource, 0, len(names)-first)
	for i, n := range names[first:] {
		s := segmentSource{path: filepath.Join(string(d), n), name: n}
		if i == 0 && first > 0 {
			s.prefix = names[first-1]
			s.prefixPath = filepath.Join(string(d), s.prefix)
		}
		out = append(out, s)
	}
	return out, nil
}

// segmentFirstSeq is the seq a segment's name says it starts with.
func segmentFirstSeq(name string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
	return n
}

// segmentSource reads one segment file.
type segmentSource struct {
	path, name string
	// prefix names the segment before, whose last complete line is yielded
	// first (resuming: it must link into this segment).
	prefix, prefixPath string
}

func (s segmentSource) Lines(ctx context.Context) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) { s.read(ctx, yield) }
}

// read yields the segment's lines; it returns false when the iteration must
// stop.
func (s segmentSource) read(ctx context.Context, yield func(Line, error) bool) bool {
	if s.prefix != "" {
		line, err := lastLine(s.prefixPath)
		if err != nil {
			yield(Line{}, err)
			return false
		}
		if line != nil && !yield(Line{Bytes: line, Where: "segment " + s.prefix + ", its last line"}, nil) {
			return false
		}
	}
	f, err := os.Open(s.path)
	if err != nil {
		yield(Line{}, fmt.Errorf("audit: open segment: %w", err))
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLineSize)
	torn := false
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			torn = true
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for n := 1; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			yield(Line{}, err)
			return false
		}
		b := sc.Bytes()
		line := Line{Bytes: b, Where: "segment " + s.name + " line " + strconv.Itoa(n), Torn: torn}
		if n == 1 {
			line.Start = segmentFirstSeq(s.name)
			line.zeroStart = line.Start == 0
		}
		if !yield(line, nil) {
			return false
		}
	}
	if err := sc.Err(); err != nil {
		yield(Line{}, fmt.Errorf("audit: read %s: %w", s.name, err))
		return false
	}
	return true
}

// peekSeq reads the seq of a record from the start of its line, as the
// writer lays it out ({"v":N,"seq":N,...), without decoding the record. It
// is a hint for skipping lines: ok is false for any other layout.
func peekSeq(line []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"v":`))
	if !ok || len(rest) < 2 || rest[0] < '1' || rest[0] > '9' {
		return 0, false
	}
	rest, ok = bytes.CutPrefix(rest[1:], []byte(`,"seq":`))
	if !ok {
		return 0, false
	}
	i := 0
	for i < len(rest) && i < 20 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i == len(rest) || rest[i] != ',' || (rest[0] == '0' && i > 1) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	return n, err == nil
}

// lastLine returns the last complete line of a segment file (nil when it
// has none), reading backwards: at most one line is held in memory.
func lastLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: open segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: stat segment: %w", err)
	}
	end, err := lastNewlineEnd(f, fi.Size())
	if err != nil || end == 0 {
		return nil, err
	}
	start, err := lastNewlineEnd(f, end-1)
	if err != nil {
		return nil, err
	}
	if end-1-start > maxLineSize {
		return nil, fmt.Errorf("%w: last line of %s is longer than %d bytes", ErrMalformed, filepath.Base(path), maxLineSize)
	}
	line := make([]byte, end-1-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return nil, fmt.Errorf("audit: read segment: %w", err)
	}
	return line, nil
}
