package dashboard

import (
	"errors"
	"math"
	"slices"
	"time"
)

// MaxTrendPoints is the most points [FitRobust] fits: a longer series is
// thinned to this many, evenly spaced over its whole span (the first and
// the last point kept), so that a fit costs at most
// MaxTrendPoints·(MaxTrendPoints−1)/2 = 2 016 pairwise slopes and a sort of
// them, whatever the ring's length.
const MaxTrendPoints = 64

// confidenceZ is the normal quantile of the two-sided 95 % band.
const confidenceZ = 1.959964

// FitRobust fits v = a + b·t with the Theil–Sen estimator: the slope is the
// median of the slopes between every pair of points, the intercept the
// median of v − b·t. Up to 29 % of the points can be arbitrarily wrong (a
// spike, a stuck sample) without moving the slope far, where one outlier
// can swing a least-squares line ([Fit]). NaN and infinite values are gaps,
// skipped; a series longer than [MaxTrendPoints] is thinned first.
//
// Trend.SlopeLow and SlopeHigh are Sen's distribution-free 95 % confidence
// band on the slope (the pairwise slopes at the ranks (N ∓ 1.96·σ)/2, σ²
// the variance of Kendall's S, ties ignored); they are NaN with fewer than
// five points, too few for that confidence. SlopeStdErr is the band's
// half-width divided by 1.96, what a normal slope with that band would
// have. The band does not include the uncertainty of the intercept.
func FitRobust(times []time.Time, values []float64) (Trend, error) {
	return fitSeries(new(fitter), times, values)
}

// fitter is FitRobust with scratch buffers reused from fit to fit, so that
// a snapshot fitting many series allocates them once.
type fitter struct {
	xs, ys, slopes, residuals []float64
	idx                       []int
	history                   History // viewer.scratch
}

// fitSeries is FitRobust over f's buffers, for float64 or Number values.
func fitSeries[F ~float64](f *fitter, times []time.Time, values []F) (Trend, error) {
	if len(times) != len(values) {
		return Trend{}, errors.New("dashboard: FitRobust needs as many times as values")
	}
	f.idx = f.idx[:0]
	for i, v := range values {
		if x := float64(v); !math.IsNaN(x) && !math.IsInf(x, 0) {
			f.idx = append(f.idx, i)
		}
	}
	if len(f.idx) < 2 {
		return Trend{}, errTooFewPoints
	}
	t0 := times[f.idx[0]]
	f.xs, f.ys = f.xs[:0], f.ys[:0]
	n := min(len(f.idx), MaxTrendPoints)
	for k := range n {
		// Evenly spaced over the finite points, first and last included.
		i := f.idx[0]
		if n > 1 {
			i = f.idx[k*(len(f.idx)-1)/(n-1)]
		}
		f.xs = append(f.xs, times[i].Sub(t0).Seconds())
		f.ys = append(f.ys, float64(values[i]))
	}
	f.slopes = f.slopes[:0]
	for i := range n {
		for j := i + 1; j < n; j++ {
			if dx := f.xs[j] - f.xs[i]; dx != 0 {
				f.slopes = append(f.slopes, (f.ys[j]-f.ys[i])/dx)
			}
		}
	}
	if len(f.slopes) == 0 {
		return Trend{}, errTooFewPoints
	}
	slices.Sort(f.slopes)
	b := median(f.slopes)
	f.residuals = f.residuals[:0]
	for i := range n {
		f.residuals = append(f.residuals, f.ys[i]-b*f.xs[i])
	}
	slices.Sort(f.residuals)
	a := median(f.residuals)
	tr := Trend{Slope: b, Current: a + b*f.xs[n-1], Points: n,
		SlopeLow: math.NaN(), SlopeHigh: math.NaN(), SlopeStdErr: math.NaN()}
	nf, pairs := float64(n), float64(len(f.slopes))
	sigma := math.Sqrt(nf * (nf - 1) * (2*nf + 5) / 18)
	lo, hi := (pairs-confidenceZ*sigma)/2, (pairs+confidenceZ*sigma)/2
	if lo >= 1 {
		// Ranks are 1-based: the lo-th smallest and the (hi+1)-th smallest.
		tr.SlopeLow = f.slopes[int(math.Floor(lo))-1]
		tr.SlopeHigh = f.slopes[min(len(f.slopes)-1, int(math.Ceil(hi)))]
		tr.SlopeStdErr = (tr.SlopeHigh - tr.SlopeLow) / (2 * confidenceZ)
	}
	return tr, nil
}

// median of sorted, non-empty values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// TimeToThresholdRange is when the line reaches threshold at the band's
// slopes: soonest at the slope in [SlopeLow, SlopeHigh] moving fastest
// towards it, latest at the one moving slowest. soonestOK is false when no
// slope in the band reaches it; latestOK is false when some slope in the
// band does not (the band includes flat or moving away), so the latest time
// is unbounded. Both are false without a band (NaN bounds). A threshold at
// Current gives zero and zero.
func (t Trend) TimeToThresholdRange(threshold float64) (soonest, latest time.Duration, soonestOK, latestOK bool) {
	gap := threshold - t.Current
	if math.IsNaN(t.SlopeLow) || math.IsNaN(t.SlopeHigh) || math.IsNaN(gap) {
		return 0, 0, false, false
	}
	if gap == 0 {
		return 0, 0, true, true
	}
	toward := 1.0
	if gap < 0 {
		toward = -1
	}
	fast := max(toward*t.SlopeLow, toward*t.SlopeHigh)
	slow := min(toward*t.SlopeLow, toward*t.SlopeHigh)
	soonest, soonestOK = secondsOf(math.Abs(gap) / fast)
	if fast <= 0 {
		soonestOK = false
	}
	latest, latestOK = secondsOf(math.Abs(gap) / slow)
	if slow <= 0 {
		latestOK = false
	}
	return soonest, latest, soonestOK, latestOK
}

// secondsOf converts seconds to a Duration, false when it does not fit.
func secondsOf(secs float64) (time.Duration, bool) {
	if math.IsNaN(secs) || secs < 0 || secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}
