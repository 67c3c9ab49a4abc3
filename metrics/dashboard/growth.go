package dashboard

import "math"

// Growth is a robust trend ([FitRobust], Theil–Sen) of one row's history
// over the whole ring: how fast a rate or a latency is growing, with the
// 95 % band on that growth. Null numbers when the ring holds too few points
// (two for the slope, five for the band).
type Growth struct {
	// PerSecond is the slope: the change of the value per second (for a
	// rate, requests per second gained each second; multiply by 3600 for
	// per hour).
	PerSecond Number `json:"per_second"`
	// Low and High bound PerSecond with 95 % confidence.
	Low  Number `json:"low_per_second"`
	High Number `json:"high_per_second"`
	// Current is the fitted value at the newest sample.
	Current Number `json:"current"`
	// Points is how many samples the fit used (at most MaxTrendPoints).
	Points int `json:"points"`
}

// scratch is a history buffer for one row that is fitted and not kept; the
// next call reuses it.
func (v viewer) scratch() History {
	if cap(v.fit.history) < len(v.slots) {
		v.fit.history = make(History, len(v.slots))
	}
	return v.fit.history[:len(v.slots)]
}

// growth fits a row's history.
func (v viewer) growth(h History) Growth {
	g := Growth{PerSecond: Number(nan), Low: Number(nan), High: Number(nan), Current: Number(nan)}
	tr, err := fitSeries(v.fit, v.ts, h)
	if err != nil {
		return g
	}
	g.PerSecond, g.Low, g.High, g.Current, g.Points = Number(tr.Slope), Number(tr.SlopeLow), Number(tr.SlopeHigh), Number(tr.Current), tr.Points
	return g
}

// meanLatencyHistory is, per sample, the mean of the observations made
// since the previous sample across the histogram series (sum delta over
// count delta); null where nothing was observed.
// It is written into out (len(v.slots) long).
func (v viewer) meanLatencyHistory(out History, ss []*series) History {
	for i := range v.slots {
		out[i] = Number(nan)
		if i == 0 {
			continue
		}
		var count, sum float64
		for _, sr := range ss {
			if sr.kind != KindHistogram {
				continue
			}
			c, ok := step(sr.values, v.slots[i-1], v.slots[i])
			s, sok := step(sr.sums, v.slots[i-1], v.slots[i])
			if ok && sok {
				count += c
				sum += s
			}
		}
		if count > 0 {
			out[i] = Number(sum / count)
		}
	}
	return out
}

// step is a cumulative array's increase from slot a to slot b: absent at a
// counts from zero, and a reset (a decrease) from zero too.
func step(values []float64, a, b int) (float64, bool) {
	now, before := values[b], values[a]
	if math.IsNaN(now) {
		return 0, false
	}
	if math.IsNaN(before) || now < before {
		before = 0
	}
	return now - before, true
}
