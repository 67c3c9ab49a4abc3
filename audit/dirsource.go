package audit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
)

// DirSource reads the log a FileSink wrote in dir, segment by segment, one
// line at a time: memory use does not grow with the log. It never writes.
type DirSource string

// Lines yields every line of every segment in log order.
func (d DirSource) Lines(ctx context.Context) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		names, err := listSegments(string(d))
		if err != nil {
			yield(Line{}, err)
			return
		}
		for _, name := range names {
			if !readSegment(ctx, filepath.Join(string(d), name), name, yield) {
				return
			}
		}
	}
}

// readSegment yields the lines of one segment; it returns false when the
// iteration must stop.
func readSegment(ctx context.Context, path, name string, yield func(Line, error) bool) bool {
	f, err := os.Open(path)
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
		line := Line{Bytes: sc.Bytes(), Where: fmt.Sprintf("segment %s line %d", name, n), Torn: torn}
		if !yield(line, nil) {
			return false
		}
	}
	if err := sc.Err(); err != nil {
		yield(Line{}, fmt.Errorf("audit: read %s: %w", name, err))
		return false
	}
	return true
}
