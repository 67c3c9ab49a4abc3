package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKeys(t testing.TB) []ed25519.PublicKey { return []ed25519.PublicKey{pub(testKey(t))} }

// resumedSources are the ways a resumed verification reads dir: one pass
// over a SeekSource, segments in parallel, and a plain stream that must be
// read from its start (a linesSource, or a flatSource when a line is torn),
// which is neither a SeekSource nor a SegmentedSource.
func resumedSources(t testing.TB, dir string) map[string]func(VerifyOptions) verdict {
	t.Helper()
	lines := unsegmented(t, dir)
	return map[string]func(VerifyOptions) verdict{
		"DirSource, Workers 1": func(o VerifyOptions) verdict { return verifyWith(DirSource(dir), o, 1) },
		"DirSource, Workers 2": func(o VerifyOptions) verdict { return verifyWith(DirSource(dir), o, 2) },
		"DirSource, Workers 3": func(o VerifyOptions) verdict { return verifyWith(DirSource(dir), o, 3) },
		"lines from memory":    func(o VerifyOptions) verdict { return verifyWith(lines, o, 1) },
	}
}

// sameAsFull says how a resumed verification differs from a full one (""
// when it does not): both fail with the same Seq and sentinel, or both
// pass with the same report but for ResumedAfter, which says that it
// resumed, and WitnessMatched, which a resumed verification cannot set for
// a witnessed record before the mark.
func sameAsFull(full, resumed verdict, mark *Mark) string {
	if full.err != nil || resumed.err != nil {
		return sameVerdict(full, resumed)
	}
	if resumed.rep.ResumedAfter != mark.Seq {
		return fmt.Sprintf("ResumedAfter %d, want the mark's seq %d", resumed.rep.ResumedAfter, mark.Seq)
	}
	r := resumed.rep
	r.ResumedAfter, r.WitnessMatched = 0, full.rep.WitnessMatched
	return sameVerdict(full, verdict{rep: r})
}

func requireResumedAsFull(t testing.TB, dir string, opts VerifyOptions, mark *Mark) verdict {
	t.Helper()
	full := verifyWith(DirSource(dir), opts, 1)
	resumedOpts := opts
	resumedOpts.Resume = mark
	for name, verify := range resumedSources(t, dir) {
		got := verify(resumedOpts)
		require.Empty(t, sameAsFull(full, got, mark), "%s resumed after seq %d:\n\tfull:    %s\n\tresumed: %s", name, mark.Seq, full, got)
	}
	return full
}

func TestResumeGivesTheSameReportAsAFullVerify(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Config, *FileSinkConfig)
	}{
		{"one segment", func(c *Config, _ *FileSinkConfig) { c.CheckpointEvery = 4 }},
		{"small segments", func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 }},
		{"rotate checkpoints only", func(_ *Config, f *FileSinkConfig) { f.MaxSize = 1 << 10 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := VerifyOptions{PublicKeys: testKeys(t)}
			writeLog(t, dir, 13, tt.mutate)
			full := verifyWith(DirSource(dir), opts, 1)
			require.NoError(t, full.err)
			mark := full.rep.Mark
			require.NotNil(t, mark)
			assert.Equal(t, full.rep.LastSeq, mark.Seq, "a closed log's mark is its close checkpoint")
			assert.Equal(t, full.rep.Counts, mark.Counts)

			requireResumedAsFull(t, dir, opts, mark) // nothing appended
			for round := range 3 {
				writeLog(t, dir, 7+5*round, tt.mutate) // reopen, append, close
				full = requireResumedAsFull(t, dir, opts, mark)
				require.NoError(t, full.err)
				require.Greater(t, full.rep.LastSeq, mark.Seq)
				mark = full.rep.Mark // the next verification resumes from here
			}
		})
	}
}

func TestResumeLiveLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l, _ := newFileLogger(t, dir, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 5; f.MaxSize = 2 << 10 })
		t.Cleanup(func() { _ = l.Close() }) // a failing test must not leave the writer running in the bubble
		live := VerifyOptions{PublicKeys: testKeys(t), Live: true}
		n := 0
		logN := func(k int) {
			for range k {
				require.NoError(t, l.Log(context.Background(), event(n)))
				n++
			}
		}
		logN(12)
		full := verifyWith(DirSource(dir), live, 1)
		require.NoError(t, full.err)
		mark := full.rep.Mark
		require.NotNil(t, mark)
		require.Positive(t, full.rep.Unsealed, "records after the mark, not sealed yet")

		for _, k := range []int{0, 2, 9, 14} {
			logN(k)
			full = requireResumedAsFull(t, dir, live, mark)
			require.NoError(t, full.err)
			if k == 2 {
				continue // resume again from the older mark, over more records
			}
			mark = full.rep.Mark
		}
		// The same mark once the writer has closed the log.
		require.NoError(t, l.Close())
		closed := VerifyOptions{PublicKeys: testKeys(t)}
		full = requireResumedAsFull(t, dir, closed, mark)
		require.NoError(t, full.err)
		assert.True(t, full.rep.Closed)
	})
}

// countsAfter counts the records of dir after seq, by kind.
func countsAfter(t testing.TB, dir string, seq uint64) Counts {
	t.Helper()
	var c Counts
	for _, line := range dirLines(t, dir) {
		r, err := DecodeLine(line)
		require.NoError(t, err)
		if r.Seq <= seq {
			continue
		}
		c.Records++
		switch r.Kind {
		case KindEvent:
			c.Events++
		case KindCheckpoint:
			c.Checkpoints++
		case KindGap:
			c.Gaps++
			c.Dropped += r.Gap.Dropped
		case KindRecovery:
			c.Recoveries++
		case KindRollback:
			c.Rollbacks++
		}
	}
	return c
}

func segmentOf(t testing.TB, dir string, seq uint64) string {
	t.Helper()
	names, err := listSegments(dir)
	require.NoError(t, err)
	found := ""
	for _, n := range names {
		if segmentFirstSeq(n) <= seq {
			found = n
		}
	}
	return found
}

func TestResumeAfterRetention(t *testing.T) {
	t.Run("Prune", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dir := t.TempDir()
			opts := VerifyOptions{PublicKeys: testKeys(t)}
			hourly := func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 3; f.MaxAge = time.Hour }
			logHours := func(k, from int) {
				l, _ := newFileLogger(t, dir, hourly)
				t.Cleanup(func() { _ = l.Close() })
				for i := range k {
					require.NoError(t, l.Log(context.Background(), event(from+i)))
					time.Sleep(time.Hour)
				}
				require.NoError(t, l.Close())
			}
			logHours(5, 0)
			first := verifyWith(DirSource(dir), opts, 1)
			require.NoError(t, first.err)
			mark := first.rep.Mark
			markSegment := segmentOf(t, dir, mark.Seq)
			logHours(6, 100)
			whole := verifyWith(DirSource(dir), opts, 1) // before retention
			require.NoError(t, whole.err)

			// Retention removes the segments before the mark's.
			sink, err := NewFileSink(FileSinkConfig{Dir: dir})
			require.NoError(t, err)
			var removed []string
			for {
				names, err := listSegments(dir)
				require.NoError(t, err)
				if names[0] == markSegment {
					break
				}
				next, err := os.Open(filepath.Join(dir, names[1]))
				require.NoError(t, err)
				sealed, err := firstRecordTime(next)
				require.NoError(t, next.Close())
				require.NoError(t, err)
				r, err := sink.Prune(sealed.Add(time.Nanosecond))
				require.NoError(t, err)
				require.Equal(t, names[:1], r)
				removed = append(removed, r...)
			}
			require.NotEmpty(t, removed)
			after := verifyWith(DirSource(dir), opts, 1)
			require.NoError(t, after.err)
			require.Greater(t, after.rep.FirstSeq, uint64(1))

			// Resumed, the counts go on from the mark's, which cover the
			// removed segments: they are the counts of the whole log.
			resumedOpts := opts
			resumedOpts.Resume = mark
			for name, verify := range resumedSources(t, dir) {
				got := verify(resumedOpts)
				require.Empty(t, sameAsFull(whole, got, mark), "%s resumed after seq %d:\n\tbefore retention: %s\n\tresumed: %s", name, mark.Seq, whole, got)
				assert.Equal(t, after.rep.LastSeq, got.rep.LastSeq)
				assert.Equal(t, after.rep.Mark.Seq, got.rep.Mark.Seq)
				assert.Equal(t, after.rep.Mark.Hash, got.rep.Mark.Hash)
			}

			// Once retention removes the mark's own segment, there is
			// nothing to resume from: the verification must fail, not
			// pass with counts that skip what was never verified.
			_, err = sink.Prune(time.Now())
			require.NoError(t, err)
			names, err := listSegments(dir)
			require.NoError(t, err)
			require.Greater(t, segmentFirstSeq(names[0]), mark.Seq, "the mark's segment is gone")
			require.NoError(t, verifyWith(DirSource(dir), opts, 1).err, "a full verification still passes")
			var verdicts []verdict
			for name, verify := range resumedSources(t, dir) {
				got := verify(resumedOpts)
				var ve *VerifyError
				require.ErrorAs(t, got.err, &ve, "%s: %s", name, got)
				assert.Equal(t, mark.Seq, ve.Seq, "%s: %s", name, got)
				verdicts = append(verdicts, got)
			}
			for _, v := range verdicts[1:] {
				require.Empty(t, sameVerdict(verdicts[0], v), "%s\n%s", verdicts[0], v)
			}
			t.Logf("resuming from a mark retention removed: %v", verdicts[0].err)
		})
	})

	t.Run("FileSinkConfig.Retention", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dir := t.TempDir()
			opts := VerifyOptions{PublicKeys: testKeys(t)}
			cfg := func(c *Config, f *FileSinkConfig) {
				c.CheckpointEvery = 3
				f.MaxAge, f.Retention = time.Hour, 3*time.Hour
			}
			logHours := func(k, from int) {
				l, _ := newFileLogger(t, dir, cfg)
				t.Cleanup(func() { _ = l.Close() })
				for i := range k {
					require.NoError(t, l.Log(context.Background(), event(from+i)))
					time.Sleep(time.Hour)
				}
				require.NoError(t, l.Close())
			}
			logHours(7, 0)
			first := verifyWith(DirSource(dir), opts, 1)
			require.NoError(t, first.err)
			require.Greater(t, first.rep.FirstSeq, uint64(1), "retention removed the oldest segments")
			mark := first.rep.Mark
			markSegment := segmentOf(t, dir, mark.Seq)

			logHours(2, 100) // retention runs at each rotation
			names, err := listSegments(dir)
			require.NoError(t, err)
			require.Contains(t, names, markSegment, "two hours later the mark's segment is kept")
			full := verifyWith(DirSource(dir), opts, 1)
			require.NoError(t, full.err)
			want := mark.Counts
			want.add(countsAfter(t, dir, mark.Seq))
			resumedOpts := opts
			resumedOpts.Resume = mark
			for name, verify := range resumedSources(t, dir) {
				got := verify(resumedOpts)
				require.NoError(t, got.err, name)
				assert.Equal(t, want, got.rep.Counts, name)
				assert.Equal(t, mark.FirstSeq, got.rep.FirstSeq, name)
				assert.Equal(t, full.rep.LastSeq, got.rep.LastSeq, name)
				assert.Equal(t, full.rep.LastCheckpointSeq, got.rep.LastCheckpointSeq, name)
				assert.True(t, got.rep.Closed, name)
				require.NotNil(t, got.rep.Mark, name)
				assert.Equal(t, full.rep.Mark.Seq, got.rep.Mark.Seq, name)
				assert.Equal(t, full.rep.Mark.Hash, got.rep.Mark.Hash, name)
				assert.Equal(t, want, got.rep.Mark.Counts, name)
			}

			logHours(5, 200)
			names, err = listSegments(dir)
			require.NoError(t, err)
			require.NotContains(t, names, markSegment, "five hours later retention removed the mark's segment")
			for name, verify := range resumedSources(t, dir) {
				got := verify(resumedOpts)
				require.Error(t, got.err, "%s: resuming from a removed mark", name)
			}
		})
	})
}

func TestResumeWithAMarkOfAnotherLog(t *testing.T) {
	dirA, dirB, dirShort := t.TempDir(), t.TempDir(), t.TempDir()
	small := func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 }
	writeLog(t, dirA, 20, small)
	writeLog(t, dirB, 20, small)
	writeLog(t, dirShort, 3, small)
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	a := verifyWith(DirSource(dirA), opts, 1)
	require.NoError(t, a.err)
	opts.Resume = a.rep.Mark
	for _, dir := range []string{dirB, dirShort} {
		var first verdict
		for name, verify := range resumedSources(t, dir) {
			got := verify(opts)
			var ve *VerifyError
			require.ErrorAs(t, got.err, &ve, "%s: a mark of another log", name)
			assert.Equal(t, a.rep.Mark.Seq, ve.Seq, "%s: %s", name, got)
			if first.err == nil {
				first = got
			}
			require.Empty(t, sameVerdict(first, got), "%s\n%s", first, got)
		}
		t.Logf("another log: %v", first.err)
	}
	got := verifyWith(DirSource(dirB), opts, 1)
	require.ErrorIs(t, got.err, ErrChainBroken)
	assert.Contains(t, got.err.Error(), "another log", "the error says what may be wrong")
}

func TestResumeRejectsHostileMarks(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 20, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 })
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	full := verifyWith(DirSource(dir), opts, 1)
	require.NoError(t, full.err)
	good := *full.rep.Mark
	recs := collectRecords(t, dir)
	var event, olderCheckpoint *Record
	for _, r := range recs {
		switch {
		case r.Kind == KindEvent && r.Seq > 10 && event == nil:
			event = r
		case r.Kind == KindCheckpoint && r.Seq < good.Seq:
			olderCheckpoint = r
		}
	}
	require.NotNil(t, event)
	require.NotNil(t, olderCheckpoint)

	tests := []struct {
		name    string
		mark    func(m Mark) Mark
		wantErr error // nil: an error that is not a VerifyError (the mark is refused)
		wantSeq uint64
	}{
		{"wrong hash", func(m Mark) Mark { m.Hash = strings.Repeat("ab", 32); return m }, ErrChainBroken, good.Seq},
		{"the hash of the record before", func(m Mark) Mark { m.Hash = recs[good.Seq-2].Hash; return m }, ErrChainBroken, good.Seq},
		{"another log id", func(m Mark) Mark { m.LogID = strings.Repeat("cd", 16); return m }, ErrChainBroken, good.Seq},
		{"an older checkpoint's seq with this one's hash", func(m Mark) Mark { m.Seq = olderCheckpoint.Seq; return m }, ErrChainBroken, olderCheckpoint.Seq},
		{"an event, with its own hash", func(m Mark) Mark { m.Seq, m.Hash = event.Seq, event.Hash; return m }, ErrChainBroken, event.Seq},
		{"seq beyond the end", func(m Mark) Mark { m.Seq += 10; return m }, ErrTruncated, good.Seq + 10},
		{"seq MaxUint64", func(m Mark) Mark { m.Seq = ^uint64(0); return m }, ErrTruncated, ^uint64(0)},
		{"FirstSeq after Seq", func(m Mark) Mark { m.FirstSeq = m.Seq + 1; return m }, nil, 0},
		{"FirstSeq 0", func(m Mark) Mark { m.FirstSeq = 0; return m }, nil, 0},
		{"seq 0", func(m Mark) Mark { m.Seq = 0; return m }, nil, 0},
		{"uppercase hash", func(m Mark) Mark { m.Hash = strings.ToUpper(m.Hash); return m }, nil, 0},
		{"short hash", func(m Mark) Mark { m.Hash = m.Hash[1:]; return m }, nil, 0},
		{"short log id", func(m Mark) Mark { m.LogID = m.LogID[1:]; return m }, nil, 0},
		{"empty", func(Mark) Mark { return Mark{} }, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.mark(good)
			o := opts
			o.Resume = &m
			var first *verdict
			for name, verify := range resumedSources(t, dir) {
				var got verdict
				require.NotPanics(t, func() { got = verify(o) }, name)
				require.Error(t, got.err, name)
				var ve *VerifyError
				if tt.wantErr == nil {
					require.False(t, errors.As(got.err, &ve), "%s: the mark is refused before reading: %v", name, got.err)
					assert.Contains(t, got.err.Error(), "Resume", name)
				} else {
					require.ErrorAs(t, got.err, &ve, name)
					require.ErrorIs(t, got.err, tt.wantErr, "%s: %s", name, got)
					assert.Equal(t, tt.wantSeq, ve.Seq, "%s: %s", name, got)
				}
				if first == nil {
					first = &got
				}
				require.Empty(t, sameVerdict(*first, got), "%s\n%s", *first, got)
			}
		})
	}

	t.Run("counts that overflow", func(t *testing.T) {
		m := good
		m.Records, m.Events = ^uint64(0), ^uint64(0)
		o := opts
		o.Resume = &m
		for name, verify := range resumedSources(t, dir) {
			require.NotPanics(t, func() { _ = verify(o) }, name)
		}
	})
}

// afterMark lists the positions of the complete lines after the mark's.
func afterMark(l segLog, markSeq uint64) (seg, idx []int) {
	found := false
	for si, s := range l {
		for li, line := range s.lines {
			if found {
				seg, idx = append(seg, si), append(idx, li)
				continue
			}
			if seq, ok := peekSeq(line); ok && seq == markSeq {
				found = true
			}
		}
	}
	return seg, idx
}

// tamperAfter changes the log at a random line after the mark.
func tamperAfter(rng *rand.Rand, l segLog, markSeq uint64) (segLog, string) {
	segs, idxs := afterMark(l, markSeq)
	if len(segs) == 0 {
		return l, "nothing after the mark"
	}
	k := rng.IntN(len(segs))
	s, i := segs[k], idxs[k]
	line := l[s].lines[i]
	where := fmt.Sprintf("%s line %d", l[s].name, i+1)
	switch rng.IntN(11) {
	case 0:
		b := bytes.Clone(line)
		pos := rng.IntN(len(b))
		b[pos] ^= 0x01
		l[s].lines[i] = b
		return l, fmt.Sprintf("flipped a bit of byte %d of %s", pos, where)
	case 1, 2:
		seq, _ := peekSeq(line)
		to := uint64(1 + rng.IntN(int(markSeq)))
		b := bytes.Replace(line, []byte(`"seq":`+strconv.FormatUint(seq, 10)+`,`), []byte(`"seq":`+strconv.FormatUint(to, 10)+`,`), 1)
		if rb, ok := tryReseal(b, func(*Record) {}); ok && rng.IntN(2) == 0 {
			l[s].lines[i] = rb
			return l, fmt.Sprintf("gave %s seq %d, hash recomputed", where, to)
		}
		l[s].lines[i] = b
		return l, fmt.Sprintf("gave %s seq %d", where, to)
	case 3:
		l[s].lines = slices.Delete(l[s].lines, i, i+1)
		return l, "deleted " + where
	case 4:
		l[s].lines = slices.Insert(l[s].lines, i, line)
		return l, "duplicated " + where
	case 5:
		if i+1 < len(l[s].lines) {
			l[s].lines[i], l[s].lines[i+1] = l[s].lines[i+1], l[s].lines[i]
			return l, "swapped " + where + " with the next"
		}
		return l, "nothing to swap"
	case 6:
		if b, ok := tryReseal(line, forgeRecord(rng)); ok {
			l[s].lines[i] = b
			return l, "forged " + where + ", hash recomputed"
		}
		return l, "nothing forged"
	case 7:
		if b, ok := tryReseal(line, forgeRecord(rng)); ok {
			l[s].lines[i] = b
			lines, _, _ := l.flatLines()
			for fi, fl := range lines {
				if bytes.Equal(fl, b) {
					l.rechainFrom(fi)
					break
				}
			}
			return l, "forged " + where + " and rechained the rest"
		}
		return l, "nothing forged"
	case 8:
		l[s].lines, l[s].tail = l[s].lines[:i], nil
		return l, "truncated before " + where
	case 9:
		l[s].lines, l[s].tail = l[s].lines[:i], line[:1+rng.IntN(len(line)-1)]
		return l, "tore " + where
	default:
		last := len(l) - 1
		l[last].lines = append(l[last].lines, []byte(garbageLines[rng.IntN(len(garbageLines))]))
		return l, "appended garbage to " + l[last].name
	}
}

func TestResumeDetectsTamperingAfterTheMark(t *testing.T) {
	layouts := map[string]func(*Config, *FileSinkConfig){
		"one segment":    func(c *Config, _ *FileSinkConfig) { c.CheckpointEvery = 4 },
		"small segments": func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 },
	}
	for lname, mutate := range layouts {
		t.Run(lname, func(t *testing.T) {
			dir := t.TempDir()
			writeLog(t, dir, 14, mutate)
			opts := VerifyOptions{PublicKeys: testKeys(t)}
			first := verifyWith(DirSource(dir), opts, 1)
			require.NoError(t, first.err)
			mark := first.rep.Mark
			writeLog(t, dir, 16, mutate)
			base := readSegLog(t, dir)
			root := t.TempDir()

			diffs := func(t *testing.T, l segLog, desc string, live bool) []string {
				t.Helper()
				d := filepath.Join(root, "case")
				l.write(t, d)
				o := opts
				o.Live = live
				full := verifyWith(DirSource(d), o, 1)
				o.Resume = mark
				var out []string
				for name, verify := range resumedSources(t, d) {
					got := verify(o)
					if d := sameAsFull(full, got, mark); d != "" {
						out = append(out, fmt.Sprintf("%s; %s resumed after seq %d: %s:\n\tfull:    %s\n\tresumed: %s", desc, name, mark.Seq, d, full, got))
					}
				}
				slices.Sort(out)
				return out
			}
			check := func(t *testing.T, l segLog, desc string, live bool) {
				t.Helper()
				if d := diffs(t, l, desc, live); len(d) > 0 {
					t.Error(strings.Join(d, "\n"))
				}
			}

			t.Run("a record after the mark given a lower seq", func(t *testing.T) {
				l := base.clone()
				segs, idxs := afterMark(l, mark.Seq)
				s, i := segs[0], idxs[0]
				l[s].lines[i] = bytes.Replace(l[s].lines[i], []byte(fmt.Sprintf(`"seq":%d,`, mark.Seq+1)), []byte(`"seq":1,`), 1)
				check(t, l, "record after the mark given seq 1", false)
			})
			t.Run("every record after the mark given a lower seq", func(t *testing.T) {
				l := base.clone()
				segs, idxs := afterMark(l, mark.Seq)
				for k := range segs {
					s, i := segs[k], idxs[k]
					seq, ok := peekSeq(l[s].lines[i])
					require.True(t, ok)
					l[s].lines[i] = bytes.Replace(l[s].lines[i], []byte(fmt.Sprintf(`"seq":%d,`, seq)), []byte(`"seq":1,`), 1)
				}
				check(t, l, "every record after the mark given seq 1", false)
			})

			t.Run("random tamperings", func(t *testing.T) {
				seed := verifySeed(t)
				rng := rand.New(rand.NewPCG(seed, 0x726573756d65))
				n := 60
				if testing.Short() {
					n = 20
				}
				var failures []string
				failed := 0
				for c := range n {
					l := base.clone()
					var desc []string
					for range 1 + rng.IntN(2) {
						var what string
						l, what = tamperAfter(rng, l, mark.Seq)
						desc = append(desc, what)
					}
					if d := diffs(t, l, fmt.Sprintf("case %d: %s", c, strings.Join(desc, "; ")), rng.IntN(3) == 0); len(d) > 0 {
						failed++
						failures = append(failures, d...)
					}
				}
				if failed > 0 {
					t.Errorf("%d of %d tamperings after the mark are judged differently when resuming:\n%s", failed, n, strings.Join(failures[:min(len(failures), 12)], "\n"))
				}
			})
		})
	}
}

// TestResumeDoesNotRereadBeforeTheMark pins the limit of resuming: what
// precedes the mark is not read again, so tampering there is seen by a
// full verification only, unless it touches the mark itself: then the
// resumed verification fails at the mark's seq, with ErrChainBroken when
// the mark is gone or another record (forged or not) stands there, and
// with ErrHashMismatch, as a full verification, when the mark's bytes no
// longer match its hash (no record can be read there to compare).
func TestResumeDoesNotRereadBeforeTheMark(t *testing.T) {
	small := func(c *Config, _ *FileSinkConfig) { c.CheckpointEvery = 4 }
	dir, other := t.TempDir(), t.TempDir()
	writeLog(t, dir, 12, small)
	writeLog(t, other, 12, small) // another log, of the same layout
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	first := verifyWith(DirSource(dir), opts, 1)
	require.NoError(t, first.err)
	mark := first.rep.Mark
	writeLog(t, dir, 10, small)
	base := readSegLog(t, dir)
	require.Len(t, base, 1, "the mark and the records before it share a segment")
	markIdx := int(mark.Seq - 1)
	otherLines, _ := readLines(t, other)
	require.Len(t, otherLines, markIdx+1)

	const asFull = "as a full verification"
	tests := []struct {
		name   string
		tamper func(lines [][]byte) [][]byte
		want   any // nil: the resumed verification passes; an error; or asFull
	}{
		// The records of the mark's segment before the mark are read again
		// (they must link into it, so that a planted segment cannot stand in
		// for the real one), but not their signatures: a byte changed or a
		// record deleted there is seen as a full verification sees it; a
		// forgery rechained up to the mark breaks the link into it.
		{"a byte changed in an earlier record", func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"lic-2"`), []byte(`"lic-X"`), 1)
			return l
		}, asFull},
		{"an earlier record deleted", func(l [][]byte) [][]byte { return slices.Delete(l, 3, 4) }, asFull},
		{"an earlier record forged and the chain recomputed up to the mark", func(l [][]byte) [][]byte {
			l[1] = reseal(t, l[1], func(r *Record) { r.Event.Actor.ID = "someone-else" })
			rechain(t, l[:markIdx], 2)
			return l
		}, ErrChainBroken},
		{"the mark deleted", func(l [][]byte) [][]byte { return slices.Delete(l, markIdx, markIdx+1) }, ErrChainBroken},
		{"the mark replaced by another log's signed checkpoint", func(l [][]byte) [][]byte {
			l[markIdx] = otherLines[markIdx]
			return l
		}, ErrChainBroken},
		{"the mark forged, hash recomputed", func(l [][]byte) [][]byte {
			l[markIdx] = reseal(t, l[markIdx], func(r *Record) { r.Checkpoint.Reason = "count" })
			return l
		}, ErrChainBroken},
		{"the mark's bytes edited", func(l [][]byte) [][]byte {
			l[markIdx] = bytes.Replace(l[markIdx], []byte(`"reason":"close"`), []byte(`"reason":"count"`), 1)
			return l
		}, asFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := base.clone()
			l[0].lines = tt.tamper(l[0].lines)
			d := t.TempDir()
			l.write(t, d)
			full := verifyWith(DirSource(d), opts, 1)
			require.Error(t, full.err, "a full verification sees it")
			o := opts
			o.Resume = mark
			for _, workers := range []int{1, 2} {
				got := verifyWith(DirSource(d), o, workers)
				switch want := tt.want.(type) {
				case nil:
					require.NoError(t, got.err, "Workers %d: not read again", workers)
					continue
				case error:
					require.ErrorIs(t, got.err, want, "Workers %d: %s", workers, got)
				default:
					require.Empty(t, sameVerdict(full, got), "Workers %d:\n\tfull:    %s\n\tresumed: %s", workers, full, got)
				}
				var ve *VerifyError
				require.ErrorAs(t, got.err, &ve, "Workers %d", workers)
				if tt.want != asFull {
					assert.Equal(t, mark.Seq, ve.Seq, "Workers %d: %s", workers, got)
				}
			}
		})
	}
}

// TestResumeChecksTheWitnessedLog: a witness that holds another log means
// the log was replaced, whether the verification resumes or not.
func TestResumeChecksTheWitnessedLog(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 20, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 })
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	first := verifyWith(DirSource(dir), opts, 1)
	require.NoError(t, first.err)
	mark := first.rep.Mark
	var cp *Record
	for _, r := range collectRecords(t, dir) {
		if r.Kind == KindCheckpoint && r.Seq < mark.Seq {
			cp = r
		}
	}
	require.NotNil(t, cp)

	tests := []struct {
		name    string
		head    Head
		wantErr error
	}{
		{"another log, at a checkpoint before the mark", Head{LogID: strings.Repeat("cd", 16), Seq: cp.Seq, Hash: cp.Hash}, ErrRollback},
		{"another log, at the mark", Head{LogID: strings.Repeat("cd", 16), Seq: mark.Seq, Hash: mark.Hash}, ErrRollback},
		{"this log, beyond its end", Head{LogID: mark.LogID, Seq: mark.Seq + 5, Hash: mark.Hash}, ErrRollback},
		{"this log, at the mark", Head{LogID: mark.LogID, Seq: mark.Seq, Hash: mark.Hash}, nil},
		{"this log, before the mark", Head{LogID: mark.LogID, Seq: cp.Seq, Hash: cp.Hash}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			o.Witness = staticWitness(tt.head)
			full := verifyWith(DirSource(dir), o, 1)
			o.Resume = mark
			for name, verify := range resumedSources(t, dir) {
				got := verify(o)
				if tt.wantErr == nil {
					require.NoError(t, full.err)
					require.NoError(t, got.err, name)
					continue
				}
				require.ErrorIs(t, full.err, tt.wantErr, "full: %s", full)
				require.ErrorIs(t, got.err, tt.wantErr, "%s resumed: %s", name, got)
			}
		})
	}
}

// TestFileSinkIsASeekAndSegmentedSource: VerifyOptions.Resume says that
// FileSink's source is a SeekSource and VerifyOptions.Workers that FileSink
// is a SegmentedSource, so that verifying through the sink resumes without
// reading the log from its start and checks segments in parallel; it must
// also verify as the directory does.
func TestFileSinkIsASeekAndSegmentedSource(t *testing.T) {
	dir := t.TempDir()
	small := func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 }
	writeLog(t, dir, 20, small)
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	first := verifyWith(DirSource(dir), opts, 1)
	require.NoError(t, first.err)
	writeLog(t, dir, 10, small)
	sink, err := NewFileSink(FileSinkConfig{Dir: dir})
	require.NoError(t, err)
	opts.Resume = first.rep.Mark
	for _, workers := range []int{1, 2} {
		viaSink := verifyWith(sink, opts, workers)
		viaDir := verifyWith(DirSource(dir), opts, workers)
		require.Empty(t, sameVerdict(viaDir, viaSink), "Workers %d:\n\tDirSource: %s\n\tFileSink:  %s", workers, viaDir, viaSink)
	}
	var src Source = sink
	_, seek := src.(SeekSource)
	_, seg := src.(SegmentedSource)
	assert.True(t, seek, "VerifyOptions.Resume documents FileSink's source as a SeekSource")
	assert.True(t, seg, "VerifyOptions.Workers documents FileSink as a SegmentedSource")
}

// TestResumeFromStart: FromStart refuses a log that does not start at seq
// 1; a mark says where the log started when it was made (FirstSeq), so a
// resumed verification of a log whose oldest segments were removed must
// refuse it too, as the full verification does.
func TestResumeFromStart(t *testing.T) {
	dir := t.TempDir()
	small := func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 4; f.MaxSize = 2 << 10 }
	writeLog(t, dir, 20, small)
	l := readSegLog(t, dir)
	l[1:].write(t, dir) // retention removed the first segment
	opts := VerifyOptions{PublicKeys: testKeys(t)}
	first := verifyWith(DirSource(dir), opts, 1)
	require.NoError(t, first.err)
	mark := first.rep.Mark
	require.Greater(t, mark.FirstSeq, uint64(1))
	writeLog(t, dir, 5, small)

	opts.FromStart = true
	full := verifyWith(DirSource(dir), opts, 1)
	require.ErrorIs(t, full.err, ErrChainBroken, "FromStart refuses the retained log")
	opts.Resume = mark
	for name, verify := range resumedSources(t, dir) {
		got := verify(opts)
		require.ErrorIs(t, got.err, ErrChainBroken, "%s: resumed with FromStart from a mark whose log started at seq %d: %s", name, mark.FirstSeq, got)
	}
}
