package load

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ServerStats is what the server itself reports on /metrics about a run.
type ServerStats struct {
	// CacheHits and CacheMisses per cache name (keel.cache.requests).
	CacheHits, CacheMisses map[string]float64
	// Retries counts attempts after the first, per policy (keel.retry.retries).
	Retries map[string]float64
	// BreakerTrips counts transitions to open, per breaker.
	BreakerTrips map[string]float64
}

// ScrapeServerStats reads the server's Prometheus exposition.
func ScrapeServerStats(ctx context.Context, baseURL string) (*ServerStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("load: GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("load: parsing /metrics: %w", err)
	}
	s := &ServerStats{CacheHits: map[string]float64{}, CacheMisses: map[string]float64{}, Retries: map[string]float64{}, BreakerTrips: map[string]float64{}}
	sum := func(family string, each func(labels map[string]string, v float64)) {
		f := fams[family]
		if f == nil {
			return
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetCounter().GetValue()
			if m.GetCounter() == nil {
				v = m.GetGauge().GetValue()
			}
			each(labels, v)
		}
	}
	sum("keel_cache_requests_total", func(l map[string]string, v float64) {
		if l["keel_cache_result"] == "hit" {
			s.CacheHits[l["keel_cache_name"]] += v
		} else {
			s.CacheMisses[l["keel_cache_name"]] += v
		}
	})
	sum("keel_retry_retries_total", func(l map[string]string, v float64) { s.Retries[l["keel_retry_name"]] += v })
	sum("keel_breaker_transitions_total", func(l map[string]string, v float64) {
		if l["keel_breaker_to"] == "open" {
			s.BreakerTrips[l["keel_breaker_name"]] += v
		}
	})
	return s, nil
}

// Report formats the server's view of the run.
func (s *ServerStats) Report() string {
	var b strings.Builder
	for name, hits := range s.CacheHits {
		total := hits + s.CacheMisses[name]
		if total > 0 {
			fmt.Fprintf(&b, "server: cache %-14s hit ratio %5.1f %% (%.0f of %.0f)\n", name, 100*hits/total, hits, total)
		}
	}
	for name, n := range s.Retries {
		fmt.Fprintf(&b, "server: retries %-13s %.0f\n", name, n)
	}
	for name, n := range s.BreakerTrips {
		fmt.Fprintf(&b, "server: breaker %-13s opened %.0f times\n", name, n)
	}
	if len(s.BreakerTrips) == 0 {
		b.WriteString("server: breaker never opened\n")
	}
	return b.String()
}
