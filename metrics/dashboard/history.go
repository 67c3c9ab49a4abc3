package dashboard

import (
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// Kind is how a series' values are read.
type Kind string

// Series kinds.
const (
	// KindCounter is a monotonic sum: values are cumulative, the views show
	// their rate.
	KindCounter Kind = "counter"
	// KindGauge is a gauge or an up-down counter: values are shown as they are.
	KindGauge Kind = "gauge"
	// KindHistogram is an explicit-bucket histogram.
	KindHistogram Kind = "histogram"
)

type seriesKey struct {
	scope string
	name  string
	attrs attribute.Distinct
}

// series holds one metric stream's samples, aligned with history.times: slot
// i of values belongs to the sample at times[i]; NaN means "not present".
type series struct {
	name  string
	unit  string
	kind  Kind
	attrs map[string]string

	values []float64 // gauge value, counter or histogram cumulative count

	// Histogram only.
	sums          []float64 // cumulative sum
	p50, p95, p99 []float64 // quantiles of the observations made during the interval before the sample
	bounds        []float64
	buckets       [][]uint64 // ring of windowSamples cumulative bucket counts, indexed by seq % window
	bucketSeq     []uint64   // the sample seq each buckets entry belongs to (+1; 0 means empty)
}

// history is the ring of samples. It is guarded by Dashboard.mu.
type history struct {
	points, window int
	maxSeries      int

	seq     uint64 // samples taken so far
	times   []time.Time
	series  map[seriesKey]*series
	order   []*series // first-seen order, for stable output
	dropped int       // series refused because maxSeries was reached
}

func newHistory(s settings) *history {
	return &history{
		points:    s.points,
		window:    s.windowSamples,
		maxSeries: s.MaxSeries,
		times:     make([]time.Time, s.points),
		series:    make(map[seriesKey]*series),
	}
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// slot is where the sample with this seq lives.
func (h *history) slot(seq uint64) int { return int(seq % uint64(h.points)) }

// len is the number of samples held.
func (h *history) len() int { return int(min(h.seq, uint64(h.points))) }

// slots returns the slot indexes of the held samples, oldest first.
func (h *history) slots() []int {
	n := h.len()
	out := make([]int, n)
	for i := range n {
		out[i] = h.slot(h.seq - uint64(n) + uint64(i))
	}
	return out
}

// begin starts a sample taken at t: every series gets NaN in the new slot,
// then observe fills in what the collection holds.
func (h *history) begin(t time.Time) {
	s := h.slot(h.seq)
	h.times[s] = t
	for _, sr := range h.order {
		sr.values[s] = math.NaN()
		if sr.kind == KindHistogram {
			sr.sums[s], sr.p50[s], sr.p95[s], sr.p99[s] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}
	}
}

// end closes the sample begun last.
func (h *history) end() { h.seq++ }

// lookup returns the series for key, creating it if the cap allows; nil
// when the series is new and the cap is reached.
func (h *history) lookup(key seriesKey, unit string, kind Kind, set attribute.Set) *series {
	if sr, ok := h.series[key]; ok {
		if sr.kind != kind { // the instrument changed kind: not comparable
			return nil
		}
		return sr
	}
	if len(h.series) >= h.maxSeries {
		h.dropped++
		return nil
	}
	sr := &series{name: key.name, unit: unit, kind: kind, attrs: boundedAttrs(set), values: nanSlice(h.points)}
	if kind == KindHistogram {
		sr.sums, sr.p50, sr.p95, sr.p99 = nanSlice(h.points), nanSlice(h.points), nanSlice(h.points), nanSlice(h.points)
		sr.buckets = make([][]uint64, h.window)
		sr.bucketSeq = make([]uint64, h.window)
	}
	h.series[key] = sr
	h.order = append(h.order, sr)
	return sr
}

func boundedAttrs(set attribute.Set) map[string]string {
	out := make(map[string]string, min(set.Len(), MaxAttributes))
	for i, kv := range set.ToSlice() {
		if i == MaxAttributes {
			break
		}
		out[truncate(string(kv.Key))] = truncate(kv.Value.String())
	}
	return out
}

func truncate(s string) string {
	if len(s) > MaxValueLen {
		return s[:MaxValueLen]
	}
	return s
}

// observeScalar records a counter or gauge value in the current sample.
func (h *history) observeScalar(sr *series, v float64) {
	sr.values[h.slot(h.seq)] = v
}

// observeHistogram records a histogram's cumulative state in the current
// sample, and the quantiles of the observations since the previous sample.
func (h *history) observeHistogram(sr *series, count uint64, sum float64, bounds []float64, counts []uint64) {
	s := h.slot(h.seq)
	sr.values[s] = float64(count)
	sr.sums[s] = sum
	if len(bounds) > MaxBuckets || len(counts) != len(bounds)+1 {
		return // count and sum only: see MaxBuckets
	}
	if !slices.Equal(sr.bounds, bounds) { // new bounds: old snapshots are not comparable
		sr.bounds = slices.Clone(bounds)
		clear(sr.bucketSeq)
	}
	w := int(h.seq % uint64(h.window))
	if h.seq > 0 {
		pw := int((h.seq - 1) % uint64(h.window))
		if sr.bucketSeq[pw] == h.seq { // the previous sample (seq-1, stored +1)
			if d, ok := bucketDelta(counts, sr.buckets[pw]); ok {
				sr.p50[s], sr.p95[s], sr.p99[s] = quantile(0.50, bounds, d), quantile(0.95, bounds, d), quantile(0.99, bounds, d)
			}
		}
	}
	if cap(sr.buckets[w]) >= len(counts) {
		sr.buckets[w] = append(sr.buckets[w][:0], counts...)
	} else {
		sr.buckets[w] = slices.Clone(counts)
	}
	sr.bucketSeq[w] = h.seq + 1
}

// windowBuckets returns the bucket counts observed over the rate window
// (between the oldest snapshot in the window and the newest), or false.
func (h *history) windowBuckets(sr *series) ([]uint64, bool) {
	if sr.kind != KindHistogram || h.seq == 0 || sr.bounds == nil {
		return nil, false
	}
	last := h.seq - 1
	lw := int(last % uint64(h.window))
	if sr.bucketSeq[lw] != last+1 {
		return nil, false
	}
	start := uint64(0) // the window's oldest sample
	if last >= uint64(h.window-1) {
		start = last - uint64(h.window-1)
	}
	if start < last && sr.bucketSeq[int(start%uint64(h.window))] == start+1 {
		return bucketDelta(sr.buckets[lw], sr.buckets[int(start%uint64(h.window))])
	}
	// Absent at the window's start (or the ring holds one sample): the SDK
	// reports a cumulative series only once it has counted something, so
	// everything it holds was counted since, as delta assumes for counters.
	return slices.Clone(sr.buckets[lw]), true
}

// bucketDelta is now-before, or false after a reset (a count went down).
func bucketDelta(now, before []uint64) ([]uint64, bool) {
	if len(now) != len(before) {
		return nil, false
	}
	d := make([]uint64, len(now))
	for i := range now {
		if now[i] < before[i] {
			return nil, false
		}
		d[i] = now[i] - before[i]
	}
	return d, true
}

// quantile estimates the q-quantile of observations counted in the
// explicit buckets (counts has one more entry than bounds: the +Inf
// bucket), interpolating linearly inside the bucket as Prometheus'
// histogram_quantile does. NaN when there are no observations; the highest
// finite bound when the quantile falls in the +Inf bucket.
func quantile(q float64, bounds []float64, counts []uint64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(counts) != len(bounds)+1 {
		return math.NaN()
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range counts {
		if c == 0 || float64(cum+c) < rank {
			cum += c
			continue
		}
		if i == len(bounds) { // +Inf bucket
			if len(bounds) == 0 {
				return math.NaN()
			}
			return bounds[len(bounds)-1]
		}
		upper := bounds[i]
		lower := 0.0
		if i > 0 {
			lower = bounds[i-1]
		} else if upper <= 0 {
			return upper
		}
		return lower + (upper-lower)*(rank-float64(cum))/float64(c)
	}
	if len(bounds) == 0 {
		return math.NaN()
	}
	return bounds[len(bounds)-1]
}
