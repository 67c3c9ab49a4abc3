package dashboard

import (
	"errors"
	"math"
	"time"
)

// Trend is a straight line fitted over a series' history: by least squares
// ([Fit]) or robustly ([FitRobust]).
type Trend struct {
	// Slope is the growth in units per second; SlopeStdErr its standard
	// error (NaN with fewer than three points; for FitRobust, derived from
	// the band).
	Slope, SlopeStdErr float64
	// SlopeLow and SlopeHigh bound the slope with 95 % confidence: for Fit,
	// Slope ∓ 1.96·SlopeStdErr; for FitRobust, Sen's band. NaN when too few
	// points give none.
	SlopeLow, SlopeHigh float64
	// Current is the fitted value at the last point.
	Current float64
	// Points is how many samples the fit used.
	Points int
}

// errTooFewPoints is returned by Fit when there is nothing to fit.
var errTooFewPoints = errors.New("dashboard: a trend needs at least two points at different times")

// Fit fits v = a + b·t by ordinary least squares over the finite values
// (NaN values are skipped). Times are taken relative to the first one.
func Fit(times []time.Time, values []float64) (Trend, error) {
	if len(times) != len(values) {
		return Trend{}, errors.New("dashboard: Fit needs as many times as values")
	}
	var t0 time.Time
	var n, sx, sy float64
	var last float64
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if n == 0 {
			t0 = times[i]
		}
		x := times[i].Sub(t0).Seconds()
		n++
		sx += x
		sy += v
		last = x
	}
	if n < 2 {
		return Trend{}, errTooFewPoints
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		dx := times[i].Sub(t0).Seconds() - mx
		sxx += dx * dx
		sxy += dx * (v - my)
	}
	if sxx == 0 {
		return Trend{}, errTooFewPoints
	}
	b := sxy / sxx
	a := my - b*mx
	tr := Trend{Slope: b, Current: a + b*last, Points: int(n), SlopeStdErr: math.NaN(), SlopeLow: math.NaN(), SlopeHigh: math.NaN()}
	if n > 2 {
		var sse float64
		for i, v := range values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			r := v - (a + b*times[i].Sub(t0).Seconds())
			sse += r * r
		}
		tr.SlopeStdErr = math.Sqrt(sse / (n - 2) / sxx)
		tr.SlopeLow, tr.SlopeHigh = b-confidenceZ*tr.SlopeStdErr, b+confidenceZ*tr.SlopeStdErr
	}
	return tr, nil
}

// TimeToThreshold is how long, at the fitted growth, until the line reaches
// threshold: zero when it is there now, and false when the line is flat or
// moving away from it (a series already past the threshold and still
// growing away from it reports false: compare Current yourself).
func (t Trend) TimeToThreshold(threshold float64) (time.Duration, bool) {
	gap := threshold - t.Current
	if gap == 0 {
		return 0, true
	}
	if t.Slope == 0 || math.IsNaN(t.Slope) || (gap > 0) != (t.Slope > 0) {
		return 0, false
	}
	secs := gap / t.Slope
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}
