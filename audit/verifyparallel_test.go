package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// segment is one segment file of a log held in memory: its complete lines
// and the bytes after its last newline (a torn line), if any.
type segment struct {
	name  string
	lines [][]byte
	tail  []byte
}

// segLog is a log directory held in memory, its segments in name order.
type segLog []segment

func readSegLog(t testing.TB, dir string) segLog {
	t.Helper()
	names, err := listSegments(dir)
	require.NoError(t, err)
	var l segLog
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		s := segment{name: n}
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				s.tail = bytes.Clone(data)
				break
			}
			s.lines = append(s.lines, bytes.Clone(data[:i]))
			data = data[i+1:]
		}
		l = append(l, s)
	}
	return l
}

func (l segLog) clone() segLog {
	out := make(segLog, len(l))
	for i, s := range l {
		out[i] = segment{name: s.name, lines: slices.Clone(s.lines), tail: s.tail}
	}
	return out
}

// write replaces dir's content with the log.
func (l segLog) write(t testing.TB, dir string) {
	t.Helper()
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(dir, 0o700))
	for _, s := range l {
		var b []byte
		for _, line := range s.lines {
			b = append(append(b, line...), '\n')
		}
		b = append(b, s.tail...)
		require.NoError(t, os.WriteFile(filepath.Join(dir, s.name), b, 0o600))
	}
}

// flatLines is every complete line in log order, and where each is.
func (l segLog) flatLines() (lines [][]byte, seg, idx []int) {
	for si, s := range l {
		for li, line := range s.lines {
			lines, seg, idx = append(lines, line), append(seg, si), append(idx, li)
		}
	}
	return lines, seg, idx
}

// tryReseal is reseal for lines that may no longer decode: it reports
// false for those.
func tryReseal(line []byte, mutate func(*Record)) ([]byte, bool) {
	r, err := DecodeLine(line)
	if err != nil {
		return nil, false
	}
	mutate(r)
	var payload []byte
	switch r.Kind {
	case KindEvent:
		if payload, err = eventPayload(r.Event); err != nil {
			return nil, false
		}
	case KindCheckpoint:
		payload = kindPayload("checkpoint", r.Checkpoint)
	case KindGap:
		payload = kindPayload("gap", r.Gap)
	case KindRecovery:
		payload = kindPayload("recovery", r.Recovery)
	case KindRollback:
		payload = kindPayload("rollback", r.Rollback)
	}
	seal(r, formatTime(r.Time), payload)
	return r.Line, true
}

// rechainFrom re-seals the complete lines after flat index from so that
// each prev is the hash of the line before, as a forger without the key
// can; it stops at a line that does not decode.
func (l segLog) rechainFrom(from int) {
	lines, seg, idx := l.flatLines()
	for i := max(from, 0) + 1; i < len(lines); i++ {
		prev, err := DecodeLine(lines[i-1])
		if err != nil {
			return
		}
		line, ok := tryReseal(lines[i], func(r *Record) { r.Prev = prev.Hash })
		if !ok {
			return
		}
		lines[i] = line
		l[seg[i]].lines[idx[i]] = line
	}
}

// forgeRecord changes what a record says, keeping it well formed, as a
// forger would: the checkpoint's signature no longer verifies.
func forgeRecord(rng *rand.Rand) func(*Record) {
	n := rng.IntN(4)
	return func(r *Record) {
		switch r.Kind {
		case KindEvent:
			switch n {
			case 0:
				r.Event.Action = "customer.delete"
			case 1:
				r.Event.Outcome = Denied
			case 2:
				r.Event.Actor.ID = "someone-else"
			default:
				r.Event.Time = r.Event.Time.Add(time.Second)
				r.Time = r.Event.Time
			}
		case KindCheckpoint:
			if n%2 == 0 {
				if r.Checkpoint.Reason == "close" {
					r.Checkpoint.Reason = "count"
				} else {
					r.Checkpoint.Reason = "close"
				}
			} else {
				r.Time = r.Time.Add(time.Second)
			}
		case KindGap:
			r.Gap.Dropped++
		case KindRecovery:
			r.Recovery.DiscardedBytes++
		case KindRollback:
			r.Rollback.Reason += "!"
		}
	}
}

func segNum(name string) uint64 { return segmentFirstSeq(name) }

// pickSeg returns a random segment with at least min lines, or -1.
func pickSeg(rng *rand.Rand, l segLog, min int) int {
	var ok []int
	for i, s := range l {
		if len(s.lines) >= min {
			ok = append(ok, i)
		}
	}
	if len(ok) == 0 {
		return -1
	}
	return ok[rng.IntN(len(ok))]
}

// pickEnd picks the first, the last or a random middle segment.
func pickEnd(rng *rand.Rand, n int) int {
	switch rng.IntN(3) {
	case 0:
		return 0
	case 1:
		return n - 1
	}
	return rng.IntN(n)
}

func nameFree(l segLog, name string) bool {
	for _, s := range l {
		if s.name == name {
			return false
		}
	}
	return true
}

func sortSegs(l segLog) segLog {
	slices.SortFunc(l, func(a, b segment) int { return strings.Compare(a.name, b.name) })
	return l
}

// tamperOp changes l (a clone it may modify) and says what it did.
type tamperOp struct {
	name string
	do   func(rng *rand.Rand, l segLog, others []segLog) (segLog, string)
}

var garbageLines = []string{``, `garbage`, `{"v":2}`, `{}`, `{"v":2,"seq":1,"kind":"event"}`, "\x00\xff"}

var tamperOps = []tamperOp{
	{"remove the oldest segments, as retention does", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) < 2 {
			return l, "one segment"
		}
		k := 1 + rng.IntN(len(l)-1)
		return l[k:], fmt.Sprintf("removed the %d oldest segments", k)
	}},
	{"cut the log back to a checkpoint", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		lines, seg, idx := l.flatLines()
		var cps []int
		for i, line := range lines {
			if r, err := DecodeLine(line); err == nil && r.Kind == KindCheckpoint {
				cps = append(cps, i)
			}
		}
		if len(cps) == 0 {
			return l, "no checkpoint"
		}
		i := cps[rng.IntN(len(cps))]
		s := seg[i]
		l = l[:s+1]
		l[s].lines, l[s].tail = l[s].lines[:idx[i]+1], nil
		return l, fmt.Sprintf("cut the log back to line %d", i+1)
	}},
	{"delete a line", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if s < 0 {
			return l, "nothing to delete"
		}
		i := rng.IntN(len(l[s].lines))
		l[s].lines = slices.Delete(l[s].lines, i, i+1)
		return l, fmt.Sprintf("deleted %s line %d", l[s].name, i+1)
	}},
	{"delete lines", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 2)
		if s < 0 {
			return l, "nothing to delete"
		}
		i := rng.IntN(len(l[s].lines) - 1)
		j := min(len(l[s].lines), i+2+rng.IntN(3))
		l[s].lines = slices.Delete(l[s].lines, i, j)
		return l, fmt.Sprintf("deleted %s lines %d..%d", l[s].name, i+1, j)
	}},
	{"duplicate a line", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if s < 0 {
			return l, "nothing to duplicate"
		}
		i := rng.IntN(len(l[s].lines))
		at := rng.IntN(len(l[s].lines) + 1)
		l[s].lines = slices.Insert(l[s].lines, at, l[s].lines[i])
		return l, fmt.Sprintf("copied %s line %d to line %d", l[s].name, i+1, at+1)
	}},
	{"swap lines", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		lines, seg, idx := l.flatLines()
		if len(lines) < 2 {
			return l, "nothing to swap"
		}
		i := rng.IntN(len(lines) - 1)
		j := i + 1
		if rng.IntN(3) == 0 {
			j = rng.IntN(len(lines))
		}
		l[seg[i]].lines[idx[i]], l[seg[j]].lines[idx[j]] = lines[j], lines[i]
		return l, fmt.Sprintf("swapped lines %d and %d of the log", i+1, j+1)
	}},
	{"modify a byte", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if s < 0 {
			return l, "nothing to modify"
		}
		i := rng.IntN(len(l[s].lines))
		line := bytes.Clone(l[s].lines[i])
		pos := rng.IntN(len(line))
		const alphabet = "0123456789abcdefxyz\"{}[],: \\"
		c := alphabet[rng.IntN(len(alphabet))]
		if c == line[pos] {
			c = 'Q'
		}
		line[pos] = c
		l[s].lines[i] = line
		return l, fmt.Sprintf("set byte %d of %s line %d to %q", pos, l[s].name, i+1, c)
	}},
	{"change a seq", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if s < 0 {
			return l, "nothing to modify"
		}
		i := rng.IntN(len(l[s].lines))
		seq, ok := peekSeq(l[s].lines[i])
		if !ok {
			return l, "no seq"
		}
		to := max(1, int64(seq)+int64(rng.IntN(7))-3)
		if rng.IntN(3) == 0 {
			to = 1
		}
		from := []byte(`"seq":` + strconv.FormatUint(seq, 10) + `,`)
		l[s].lines[i] = bytes.Replace(l[s].lines[i], from, []byte(`"seq":`+strconv.FormatInt(to, 10)+`,`), 1)
		if rng.IntN(2) == 0 {
			if line, ok := tryReseal(l[s].lines[i], func(*Record) {}); ok {
				l[s].lines[i] = line
				return l, fmt.Sprintf("changed %s line %d's seq %d to %d, hash recomputed", l[s].name, i+1, seq, to)
			}
		}
		return l, fmt.Sprintf("changed %s line %d's seq %d to %d", l[s].name, i+1, seq, to)
	}},
	{"reseal a record", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if s < 0 {
			return l, "nothing to reseal"
		}
		i := rng.IntN(len(l[s].lines))
		if rng.IntN(2) == 0 {
			i = 0 // the segment's opening checkpoint
		}
		if line, ok := tryReseal(l[s].lines[i], forgeRecord(rng)); ok {
			l[s].lines[i] = line
			return l, fmt.Sprintf("forged %s line %d, hash recomputed", l[s].name, i+1)
		}
		return l, "nothing resealed"
	}},
	{"reseal a record and rechain", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		lines, seg, idx := l.flatLines()
		if len(lines) == 0 {
			return l, "nothing to reseal"
		}
		i := rng.IntN(len(lines))
		if line, ok := tryReseal(lines[i], forgeRecord(rng)); ok {
			l[seg[i]].lines[idx[i]] = line
			l.rechainFrom(i)
			return l, fmt.Sprintf("forged line %d of the log and rechained the rest", i+1)
		}
		return l, "nothing resealed"
	}},
	{"truncate a segment at a line", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if s < 0 {
			return l, "nothing to truncate"
		}
		k := rng.IntN(len(l[s].lines))
		l[s].lines, l[s].tail = l[s].lines[:k], nil
		return l, fmt.Sprintf("truncated %s to %d lines", l[s].name, k)
	}},
	{"truncate a segment mid-line", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 1)
		if rng.IntN(2) == 0 && len(l) > 0 && len(l[len(l)-1].lines) > 0 {
			s = len(l) - 1
		}
		if s < 0 {
			return l, "nothing to truncate"
		}
		k := rng.IntN(len(l[s].lines))
		line := l[s].lines[k]
		cut := 1 + rng.IntN(len(line)-1)
		l[s].lines, l[s].tail = l[s].lines[:k], line[:cut]
		return l, fmt.Sprintf("tore %s at line %d byte %d", l[s].name, k+1, cut)
	}},
	{"delete a segment", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) == 0 {
			return l, "no segment"
		}
		s := pickEnd(rng, len(l))
		name := l[s].name
		return slices.Delete(l, s, s+1), "deleted segment " + name
	}},
	{"empty a segment", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) == 0 {
			return l, "no segment"
		}
		s := pickEnd(rng, len(l))
		l[s].lines, l[s].tail = nil, nil
		return l, "emptied segment " + l[s].name
	}},
	{"rename a segment", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) == 0 {
			return l, "no segment"
		}
		s := pickEnd(rng, len(l))
		n := segNum(l[s].name)
		var to uint64
		switch rng.IntN(6) {
		case 0:
			to = n + 1 + rng.Uint64N(3)
		case 1:
			to = max(1, n-1-rng.Uint64N(3))
		case 2:
			to = segNum(l[rng.IntN(len(l))].name) + 1 + rng.Uint64N(2)
		case 3:
			to = 0
		case 4:
			to = 1 + rng.Uint64N(segNum(l[len(l)-1].name)+20)
		default:
			to = ^uint64(0)
		}
		name := segmentName(to)
		if !nameFree(l, name) {
			return l, "rename collides"
		}
		old := l[s].name
		l[s].name = name
		return sortSegs(l), fmt.Sprintf("renamed %s to %s", old, name)
	}},
	{"swap segment names", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) < 2 {
			return l, "one segment"
		}
		a, b := rng.IntN(len(l)), rng.IntN(len(l))
		if a == b {
			b = (a + 1) % len(l)
		}
		l[a].name, l[b].name = l[b].name, l[a].name
		desc := fmt.Sprintf("swapped the names of %s and %s", l[b].name, l[a].name)
		return sortSegs(l), desc
	}},
	{"cut a segment's head", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		s := pickSeg(rng, l, 2)
		if s < 0 {
			return l, "nothing to cut"
		}
		k := 1 + rng.IntN(len(l[s].lines)-1)
		if rng.IntN(2) == 0 { // up to a checkpoint in the segment
			for j := 1; j < len(l[s].lines); j++ {
				if r, err := DecodeLine(l[s].lines[j]); err == nil && r.Kind == KindCheckpoint {
					k = j
					break
				}
			}
		}
		l[s].lines = l[s].lines[k:]
		return l, fmt.Sprintf("cut %d lines from the head of %s", k, l[s].name)
	}},
	{"append garbage", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) == 0 {
			return l, "no segment"
		}
		s := pickEnd(rng, len(l))
		g := garbageLines[rng.IntN(len(garbageLines))]
		if rng.IntN(3) == 0 {
			l[s].tail = append(bytes.Clone(l[s].tail), g...)
			return l, fmt.Sprintf("appended %q without a newline to %s", g, l[s].name)
		}
		if len(l[s].tail) > 0 {
			return l, "segment torn"
		}
		l[s].lines = append(l[s].lines, []byte(g))
		return l, fmt.Sprintf("appended the line %q to %s", g, l[s].name)
	}},
	{"torn line in a middle segment", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) < 2 {
			return l, "one segment"
		}
		s := rng.IntN(len(l) - 1)
		lines, _, _ := l.flatLines()
		if len(lines) == 0 {
			return l, "no line"
		}
		src := lines[rng.IntN(len(lines))]
		l[s].tail = src[:1+rng.IntN(len(src)-1)]
		return l, fmt.Sprintf("left a torn line at the end of %s", l[s].name)
	}},
	{"move a segment boundary", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) < 2 {
			return l, "one segment"
		}
		s := rng.IntN(len(l) - 1)
		if rng.IntN(2) == 0 && len(l[s].lines) > 0 {
			last := l[s].lines[len(l[s].lines)-1]
			l[s].lines = l[s].lines[:len(l[s].lines)-1]
			l[s+1].lines = slices.Insert(l[s+1].lines, 0, last)
			return l, fmt.Sprintf("moved the last line of %s to %s", l[s].name, l[s+1].name)
		}
		if len(l[s+1].lines) == 0 || len(l[s].tail) > 0 {
			return l, "nothing to move"
		}
		l[s].lines = append(l[s].lines, l[s+1].lines[0])
		l[s+1].lines = l[s+1].lines[1:]
		return l, fmt.Sprintf("moved the first line of %s to %s", l[s+1].name, l[s].name)
	}},
	{"splice another log's segment", func(rng *rand.Rand, l segLog, others []segLog) (segLog, string) {
		o := others[rng.IntN(len(others))]
		if len(l) == 0 || len(o) == 0 {
			return l, "no segment"
		}
		s, os := rng.IntN(len(l)), rng.IntN(len(o))
		l[s].lines, l[s].tail = slices.Clone(o[os].lines), o[os].tail
		return l, fmt.Sprintf("replaced the content of %s with another log's %s", l[s].name, o[os].name)
	}},
	{"add a segment", func(rng *rand.Rand, l segLog, _ []segLog) (segLog, string) {
		if len(l) == 0 {
			return l, "no segment"
		}
		s := rng.IntN(len(l))
		name := segmentName(segNum(l[len(l)-1].name) + 1 + rng.Uint64N(40))
		if rng.IntN(2) == 0 {
			name = segmentName(segNum(l[s].name) + 1)
		}
		if !nameFree(l, name) {
			return l, "name taken"
		}
		l = append(l, segment{name: name, lines: slices.Clone(l[s].lines), tail: l[s].tail})
		return sortSegs(l), fmt.Sprintf("copied %s to a new segment %s", l[s].name, name)
	}},
}

// staticWitness holds a fixed head.
type staticWitness Head

func (w staticWitness) Head(context.Context) (Head, error) { return Head(w), nil }
func (w staticWitness) Publish(context.Context, Head, Head) error {
	return errors.New("a static witness takes no head")
}

// randomWitness returns no witness, or one holding a head of l (a real
// checkpoint, one past the end, one with another hash, one of another log).
func randomWitness(rng *rand.Rand, l segLog) (Witness, string) {
	var cps []*Record
	lines, _, _ := l.flatLines()
	for _, line := range lines {
		if r, err := DecodeLine(line); err == nil && r.Kind == KindCheckpoint {
			cps = append(cps, r)
		}
	}
	if len(cps) == 0 || rng.IntN(5) < 3 {
		return nil, "no witness"
	}
	c := cps[rng.IntN(len(cps))]
	h := Head{LogID: c.LogID, Seq: c.Seq, Hash: c.Hash, Time: c.Time}
	switch rng.IntN(5) {
	case 0:
		h.Seq = cps[len(cps)-1].Seq + 1 + rng.Uint64N(5)
	case 1:
		h.Hash = strings.Repeat("ab", 32)
	case 2:
		h.LogID = strings.Repeat("cd", 16)
	}
	return staticWitness(h), fmt.Sprintf("witness %s", h)
}

// flatSource yields lines from memory, as a log without segments would:
// no names to check (Line.Start is 0), not a SegmentedSource.
type flatSource []Line

func (s flatSource) Lines(context.Context) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		for _, l := range s {
			if !yield(l, nil) {
				return
			}
		}
	}
}

// unsegmented reads dir as one stream without segment names: a linesSource
// when no line is torn, else a flatSource that keeps the torn flag.
func unsegmented(t testing.TB, dir string) Source {
	t.Helper()
	var lines flatSource
	torn := false
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		lines = append(lines, Line{Bytes: bytes.Clone(line.Bytes), Torn: line.Torn})
		torn = torn || line.Torn
	}
	if torn {
		return lines
	}
	plain := make(linesSource, len(lines))
	for i, l := range lines {
		plain[i] = l.Bytes
	}
	return plain
}

// namesHold reports whether every segment of dir that starts with a
// decodable record starts with the record its name says (a name of 0 never
// does): without that, only a source that knows the names can see the
// difference.
func namesHold(t testing.TB, dir string) bool {
	t.Helper()
	for _, s := range readSegLog(t, dir) {
		if len(s.lines) == 0 {
			continue
		}
		if r, err := DecodeLine(s.lines[0]); err == nil && r.Seq != segNum(s.name) {
			return false
		}
	}
	return true
}

type verdict struct {
	rep VerifyReport
	err error
}

func (v verdict) String() string {
	if v.err == nil {
		return fmt.Sprintf("ok %+v", v.rep)
	}
	var ve *VerifyError
	if errors.As(v.err, &ve) {
		return fmt.Sprintf("%s at seq %d: %v", sentinelName(v.err), ve.Seq, v.err)
	}
	return "error: " + v.err.Error()
}

var verifySentinels = []error{ErrMalformed, ErrHashMismatch, ErrChainBroken, ErrBadSignature, ErrTruncated, ErrRollback}

func sentinelName(err error) string {
	var names []string
	for _, s := range verifySentinels {
		if errors.Is(err, s) {
			names = append(names, strings.TrimPrefix(s.Error(), "audit: "))
		}
	}
	return "[" + strings.Join(names, ",") + "]"
}

// sameVerdict says how a and b differ ("" when they do not): both nil with
// equal reports, or both a *VerifyError with the same Seq and sentinel, or
// both the same other error.
func sameVerdict(a, b verdict) string {
	switch {
	case (a.err == nil) != (b.err == nil):
		return "one passes, the other fails"
	case a.err == nil:
		if !reflect.DeepEqual(a.rep, b.rep) {
			return "different reports"
		}
		return ""
	}
	var va, vb *VerifyError
	if errors.As(a.err, &va) != errors.As(b.err, &vb) {
		return "one is a VerifyError, the other not"
	}
	if va == nil {
		if a.err.Error() != b.err.Error() {
			return "different errors"
		}
		return ""
	}
	if va.Seq != vb.Seq {
		return "different seq"
	}
	if sentinelName(a.err) != sentinelName(b.err) {
		return "different sentinel"
	}
	return ""
}

func verifyWith(src Source, opts VerifyOptions, workers int) verdict {
	opts.Workers = workers
	rep, err := Verify(context.Background(), src, opts)
	return verdict{rep, err}
}

// compareVerdicts verifies dir with one worker and with several, and as an
// unsegmented stream when the segment names hold, and returns the
// differences.
func compareVerdicts(t testing.TB, dir string, opts VerifyOptions) (v verdict, diffs []string, flat bool) {
	t.Helper()
	seq := verifyWith(DirSource(dir), opts, 1)
	for _, w := range []int{2, 3, 8} {
		if d := sameVerdict(seq, verifyWith(DirSource(dir), opts, w)); d != "" {
			diffs = append(diffs, fmt.Sprintf("Workers 1 vs %d: %s:\n\t1: %s\n\t%d: %s", w, d, seq, w, verifyWith(DirSource(dir), opts, w)))
		}
	}
	if namesHold(t, dir) {
		flat = true
		f := verifyWith(unsegmented(t, dir), opts, 1)
		if d := sameVerdict(seq, f); d != "" {
			diffs = append(diffs, fmt.Sprintf("DirSource vs the same lines without segment names: %s:\n\tdir:  %s\n\tflat: %s", d, seq, f))
		}
	}
	return seq, diffs, flat
}

// baseLogs writes the logs the tamperings start from, each of several
// segments. They are written in a synctest bubble so that their times,
// and so their layout, are the same at every run.
func baseLogs(t *testing.T) map[string]segLog {
	t.Helper()
	logs := map[string]segLog{}
	gen := func(name string, write func(t *testing.T, dir string)) {
		dir := filepath.Join(t.TempDir(), name)
		synctest.Test(t, func(t *testing.T) { write(t, dir) })
		logs[name] = readSegLog(t, dir)
		require.Greater(t, len(logs[name]), 3, "%s has several segments", name)
		_, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, Workers: 1})
		require.NoError(t, err, "%s verifies before it is tampered with", name)
	}
	gen("small-segments", func(t *testing.T, dir string) {
		writeLog(t, dir, 36, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 5; f.MaxSize = 2 << 10 })
	})
	gen("rotate-checkpoints-only", func(t *testing.T, dir string) {
		writeLog(t, dir, 40, func(c *Config, f *FileSinkConfig) { f.MaxSize = 3 << 10 })
	})
	gen("reopened-with-gap", func(t *testing.T, dir string) {
		writeLog(t, dir, 15, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 6; f.MaxSize = 3 << 10 })
		fs, err := NewFileSink(FileSinkConfig{Dir: dir, MaxSize: 3 << 10})
		require.NoError(t, err)
		sink := &faultySink{FileSink: fs}
		l, err := New(Config{Sinks: []Sink{sink}, SigningKey: testKey(t), CheckpointEvery: 6})
		require.NoError(t, err)
		for i := range 22 {
			sink.fail.Store(i == 8 || i == 9)
			err := l.Log(context.Background(), event(i))
			if i == 8 || i == 9 {
				require.ErrorIs(t, err, ErrSink)
			} else {
				require.NoError(t, err)
			}
		}
		require.NoError(t, l.Close())
	})
	gen("retained", func(t *testing.T, dir string) {
		writeLog(t, dir, 45, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 8; f.MaxSize = 2 << 10 })
		names, err := listSegments(dir)
		require.NoError(t, err)
		for _, n := range names[:2] { // as retention removes the oldest
			require.NoError(t, os.Remove(filepath.Join(dir, n)))
		}
	})
	return logs
}

// verifySeed is the seed of TestParallelVerifyMatchesSequential's
// tamperings; KEEL_AUDIT_VERIFY_SEED overrides it. The tamperings, and the
// base logs' layout, are the same at every run with one seed; only the
// logs' ids (random) and so their hashes differ, which changes a verdict
// only when a random byte written over a hex digit happens to equal it.
func verifySeed(t *testing.T) uint64 {
	seed := uint64(20261201)
	if s := os.Getenv("KEEL_AUDIT_VERIFY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	t.Logf("seed %d (set KEEL_AUDIT_VERIFY_SEED to change it)", seed)
	return seed
}

func TestParallelVerifyMatchesSequential(t *testing.T) {
	seed := verifySeed(t)
	logs := baseLogs(t)
	var names []string
	for n := range logs {
		names = append(names, n)
	}
	slices.Sort(names)
	rng := rand.New(rand.NewPCG(seed, 0x6b65656c))
	cases := 360
	if testing.Short() {
		cases = 100
	}
	root := t.TempDir()
	keys := []ed25519.PublicKey{pub(testKey(t))}
	var failures []string
	sentinels := map[string]int{}
	compared, flatCompared := 0, 0
	for c := range cases {
		caseSeed := rng.Uint64()
		crng := rand.New(rand.NewPCG(caseSeed, 0))
		base := names[crng.IntN(len(names))]
		var others []segLog
		for _, n := range names {
			if n != base {
				others = append(others, logs[n])
			}
		}
		l := logs[base].clone()
		desc := []string{base}
		nops := 1 + crng.IntN(3)
		if crng.IntN(8) == 0 {
			nops = 0 // the log as written: the reports must be equal too
		}
		for range nops {
			op := tamperOps[crng.IntN(len(tamperOps))]
			var what string
			l, what = op.do(crng, l, others)
			desc = append(desc, what)
		}
		w, wdesc := randomWitness(crng, logs[base])
		opts := VerifyOptions{PublicKeys: keys, Witness: w, Live: crng.IntN(3) == 0, FromStart: crng.IntN(6) == 0}
		desc = append(desc, wdesc, fmt.Sprintf("Live %v FromStart %v", opts.Live, opts.FromStart))
		dir := filepath.Join(root, strconv.Itoa(c))
		l.write(t, dir)
		v, diffs, flat := compareVerdicts(t, dir, opts)
		compared++
		if flat {
			flatCompared++
		}
		sentinels[sentinelName(v.err)]++
		if len(diffs) > 0 {
			failures = append(failures, fmt.Sprintf("case %d (case seed %d): %s\n%s", c, caseSeed, strings.Join(desc, "; "), strings.Join(diffs, "\n")))
		}
		require.NoError(t, os.RemoveAll(dir))
	}
	t.Logf("%d cases, %d of them also without segment names; verdicts by sentinel: %v", compared, flatCompared, sentinels)
	if len(failures) > 0 {
		show := failures[:min(len(failures), 12)]
		t.Errorf("%d of %d cases verify differently with several workers, or without segment names:\n%s", len(failures), compared, strings.Join(show, "\n\n"))
	}
}

// TestParallelVerifyFirstRecordOfASegment pins the cases where a
// segment's first record is wrong in two ways at once: it does not follow
// the segment before (which one pass checks first) and it fails a check of
// its own — its segment's name, its signature, the witness.
func TestParallelVerifyFirstRecordOfASegment(t *testing.T) {
	logs := baseLogs(t)
	keys := []ed25519.PublicKey{pub(testKey(t))}
	base := logs["small-segments"]
	recAt := func(l segLog, s, i int) *Record {
		r, err := DecodeLine(l[s].lines[i])
		require.NoError(t, err)
		return r
	}
	tests := []struct {
		name    string
		tamper  func(l segLog) (segLog, Witness)
		wantErr error
		wantSeq func(l segLog) uint64 // from the untampered log
	}{
		{
			"the last segment renamed to sort before the second",
			func(l segLog) (segLog, Witness) {
				l[len(l)-1].name = segmentName(segNum(l[0].name) + 1)
				return sortSegs(l), nil
			},
			ErrChainBroken,
			func(l segLog) uint64 { return segNum(l[1].name) }, // the second segment's records are missing there
		},
		{
			"a segment's last line deleted and the next one's opening checkpoint forged",
			func(l segLog) (segLog, Witness) {
				l[1].lines = l[1].lines[:len(l[1].lines)-1]
				line, ok := tryReseal(l[2].lines[0], func(r *Record) { r.Checkpoint.Reason = "close" })
				require.True(t, ok)
				l[2].lines[0] = line
				return l, nil
			},
			ErrChainBroken,
			func(l segLog) uint64 { return segNum(l[2].name) - 1 }, // the deleted record
		},
		{
			"a segment's last line deleted and the witness holding another hash for the next one's opening checkpoint",
			func(l segLog) (segLog, Witness) {
				r := recAt(l, 2, 0)
				l[1].lines = l[1].lines[:len(l[1].lines)-1]
				return l, staticWitness(Head{LogID: r.LogID, Seq: r.Seq, Hash: strings.Repeat("ab", 32)})
			},
			ErrChainBroken,
			func(l segLog) uint64 { return segNum(l[2].name) - 1 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.wantSeq(base)
			l, w := tt.tamper(base.clone())
			dir := t.TempDir()
			l.write(t, dir)
			opts := VerifyOptions{PublicKeys: keys, Witness: w}
			one := verifyWith(DirSource(dir), opts, 1)
			var ve *VerifyError
			require.ErrorAs(t, one.err, &ve, "one pass: %s", one)
			require.ErrorIs(t, one.err, tt.wantErr, "one pass: %s", one)
			require.Equal(t, want, ve.Seq, "one pass: %s", one)
			for _, workers := range []int{2, 3, 8} {
				par := verifyWith(DirSource(dir), opts, workers)
				require.Empty(t, sameVerdict(one, par), "Workers 1: %s\nWorkers %d: %s", one, workers, par)
			}
		})
	}
}
