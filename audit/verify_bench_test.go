package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkVerifyScale measures verification of closed file logs of
// 10^4 and 10^5 events (KEEL_BENCH_AUDIT_RECORDS=10000,...,10000000 for
// others), in one run, contenders alternating within each -count round:
//
//   - baseline: the verification this package did before it had a fast
//     decoding path and parallel segments — DecodeLine on every line, then
//     the chain and signature checks, one goroutine (verifyBaseline below);
//   - workers=1: Verify in one pass;
//   - workers=N: Verify with the segments checked on N goroutines.
//
// The logs (64 MiB segments, ~330-byte events, a checkpoint every 10 000
// records) are generated once into KEEL_BENCH_AUDIT_DIR (default a
// directory under the system temp dir) and reused: 10^7 events take about
// 4.2 GB. records/s is the throughput; cpu-ns/record the process's CPU time
// (user + system, all goroutines) per record.
func BenchmarkVerifyScale(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if v := os.Getenv("KEEL_BENCH_AUDIT_RECORDS"); v != "" {
		sizes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				b.Fatalf("KEEL_BENCH_AUDIT_RECORDS: %q is not a positive count", s)
			}
			sizes = append(sizes, n)
		}
	}
	keys := []ed25519.PublicKey{pub(testKey(b))}
	for _, n := range sizes {
		dir := benchLog(b, n)
		contenders := []struct {
			name   string
			verify func() (uint64, error)
		}{
			{"baseline", func() (uint64, error) { return verifyBaseline(dir, keys) }},
			{"workers=1", func() (uint64, error) {
				rep, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, Workers: 1})
				return rep.Records, err
			}},
			{"workers=2", func() (uint64, error) {
				rep, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: keys, Workers: 2})
				return rep.Records, err
			}},
		}
		for _, c := range contenders {
			b.Run(fmt.Sprintf("records=%d/%s", n, c.name), func(b *testing.B) {
				var records uint64
				cpu0 := processCPU(b)
				for b.Loop() {
					got, err := c.verify()
					if err != nil {
						b.Fatal(err)
					}
					records = got
				}
				cpu := processCPU(b) - cpu0
				total := float64(records) * float64(b.N)
				b.ReportMetric(total/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(cpu)/total, "cpu-ns/record")
			})
		}
	}
}

// processCPU is this process's user and system CPU time, in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchLog returns the directory of a closed log of n events, writing it
// the first time.
func benchLog(b *testing.B, n int) string {
	b.Helper()
	root := os.Getenv("KEEL_BENCH_AUDIT_DIR")
	if root == "" {
		root = filepath.Join(os.TempDir(), "keel-bench-audit")
	}
	dir := filepath.Join(root, fmt.Sprintf("v%d-%d", formatVersion, n))
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	sink, err := NewFileSink(FileSinkConfig{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(Config{Sinks: []Sink{sink}, SigningKey: testKey(b), Mode: Buffered})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := l.Log(context.Background(), event(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

// verifyBaseline is how this package verified a log before its fast
// decoding path and parallel segments: every line through DecodeLine as it
// was then (decodeLineBefore: full JSON decoding, without the exact-member
// pass DecodeLine now makes), then the chain and signature checks, in one
// goroutine.
// It checks less than Verify (no segment names, witness or end rules) and
// is kept only as the benchmark's reference.
func verifyBaseline(dir string, keys []ed25519.PublicKey) (uint64, error) {
	byID := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		byID[KeyID(k)] = k
	}
	var last *Record
	var n uint64
	for line, err := range DirSource(dir).Lines(context.Background()) {
		if err != nil {
			return n, err
		}
		r, err := decodeLineBefore(line.Bytes)
		if err != nil {
			return n, err
		}
		if last != nil && (r.Seq != last.Seq+1 || r.Prev != last.Hash || r.LogID != last.LogID) {
			return n, fmt.Errorf("chain broken at %d", r.Seq)
		}
		if r.Kind == KindCheckpoint {
			v := vrec{version: r.Version, seq: r.Seq, log: []byte(r.LogID), prev: []byte(r.Prev), timeText: []byte(r.timeText),
				reason: []byte(r.Checkpoint.Reason), keyID: []byte(r.Checkpoint.KeyID), sig: []byte(r.Checkpoint.Sig)}
			if err := verifySignature(byID, &v); err != nil {
				return n, err
			}
		}
		r.Line = nil
		last = r
		n++
	}
	if last == nil || last.Kind != KindCheckpoint {
		return n, errors.New("not closed")
	}
	return n, nil
}

// decodeLineBefore is DecodeLine as it was before it checked member names
// exactly: the benchmark's reference must cost what the old code cost.
func decodeLineBefore(line []byte) (*Record, error) {
	body, hash, ok := canonicalBody(line)
	if !ok {
		return nil, ErrMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	r, err := fromWire(&w)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != hash {
		return r, ErrHashMismatch
	}
	r.Hash = hash
	return r, nil
}
