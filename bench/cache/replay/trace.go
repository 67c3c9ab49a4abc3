// Package replay measures cache hit ratios by replaying access traces: for
// every key, Get; on a miss, Set (one goroutine). It reads the ARC trace
// format (zstd) and the LIRS trace format (gzip) and adapts Keel and the
// peer libraries to one Policy interface so that they replay the same keys.
package replay

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("replay: malformed trace")

// maxARCRun bounds the count field of an ARC line, so that a corrupt line
// cannot ask for billions of keys.
const maxARCRun = 1 << 20

// ReadARC parses the ARC format: each line is "start count ignore reqno"
// and stands for the count keys start, start+1, ...
func ReadARC(r io.Reader) ([]uint64, error) {
	var keys []uint64
	err := eachLine(r, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("%w: line %d: want \"start count ...\", got %q", ErrMalformed, n, line)
		}
		start, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: line %d: start: %v", ErrMalformed, n, err)
		}
		count, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || count == 0 || count > maxARCRun {
			return fmt.Errorf("%w: line %d: count must be in [1,%d], got %q", ErrMalformed, n, maxARCRun, f[1])
		}
		for i := range count {
			keys = append(keys, start+i)
		}
		return nil
	})
	return keys, err
}

// ReadLIRS parses the LIRS format: one integer key per line; lines of "*"
// are markers and are skipped.
func ReadLIRS(r io.Reader) ([]uint64, error) {
	var keys []uint64
	err := eachLine(r, func(n int, line string) error {
		line = strings.TrimSpace(line)
		if line == "*" {
			return nil
		}
		k, err := strconv.ParseUint(line, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: line %d: key: %v", ErrMalformed, n, err)
		}
		keys = append(keys, k)
		return nil
	})
	return keys, err
}

// eachLine calls fn for every non-empty line, numbered from 1.
func eachLine(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: line %d: %w", ErrMalformed, n+1, err)
	}
	return nil
}

// Load reads a trace file, choosing the parser by name: *.lis.zst is ARC
// (zstd), *.trace.gz is LIRS (gzip).
func Load(path string) ([]uint64, error) {
	name := filepath.Base(path)
	arc := strings.HasSuffix(name, ".lis.zst")
	if !arc && !strings.HasSuffix(name, ".trace.gz") {
		return nil, fmt.Errorf("replay: %s: unknown trace format (want *.lis.zst or *.trace.gz)", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	if arc {
		d, err := zstd.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("replay: %s: %w", name, err)
		}
		defer d.Close()
		return ReadARC(d)
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("replay: %s: %w", name, err)
	}
	defer z.Close()
	return ReadLIRS(z)
}
