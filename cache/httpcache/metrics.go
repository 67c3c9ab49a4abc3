package httpcache

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/keel-go/keel/internal/otelglobal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scope = "github.com/keel-go/keel/cache/httpcache"

// How a GET or HEAD request was answered: the values of
// keel.httpcache.result.
const (
	resultHit       = iota // a fresh stored response
	resultStale            // a stale stored response (stale-while-revalidate, stale-if-error)
	resultMiss             // the handler was called for this request
	resultCoalesced        // another request's handler call answered it
	resultBypass           // the cache did not apply (Range, credentials, oversize key, uncacheable URL)
	resultCount
)

var resultNames = [resultCount]string{"hit", "stale", "miss", "coalesced", "bypass"}

// What became of a handler's response: the values of keel.httpcache.decision.
type decision int

const (
	decisionStored decision = iota
	decisionNoStore
	decisionNoCache
	decisionPrivate
	decisionCredentials
	decisionSetCookie
	decisionStatus
	decisionVary
	decisionNoFreshness
	decisionTooLarge
	decisionFull
	decisionMalformed
	decisionInvalidated
	decisionError
	decisionCount
)

var decisionNames = [decisionCount]string{"stored", "no_store", "no_cache", "private", "credentials",
	"set_cookie", "status", "vary", "no_freshness", "too_large", "full", "malformed", "invalidated", "error"}

// Kinds of invalidation: the values of keel.httpcache.kind.
const (
	invalidationPrefix = iota
	invalidationTag
	invalidationCount
)

var invalidationNames = [invalidationCount]string{"prefix", "tag"}

// counters are the middleware's atomics, read by Stats and by the metric
// callback (which holds only them, never the Middleware).
type counters struct {
	results       [resultCount]atomic.Int64
	decisions     [decisionCount]atomic.Int64
	invalidations [invalidationCount]atomic.Int64
	notModified   atomic.Int64
	revalidated   atomic.Int64
	entries       atomic.Int64
	bytes         atomic.Int64
}

func registerMetrics(mp metric.MeterProvider, name string, c *counters) (metric.Registration, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	requests, err := m.Int64ObservableCounter("keel.httpcache.requests", metric.WithUnit("{request}"),
		metric.WithDescription("GET and HEAD requests through the response cache, by how they were answered."))
	if err != nil {
		return nil, err
	}
	responses, err := m.Int64ObservableCounter("keel.httpcache.responses", metric.WithUnit("{response}"),
		metric.WithDescription("Handler responses the cache saw, by whether they were stored or why not."))
	if err != nil {
		return nil, err
	}
	notModified, err := m.Int64ObservableCounter("keel.httpcache.not_modified", metric.WithUnit("{response}"),
		metric.WithDescription("Requests answered 304 Not Modified from a stored response's ETag."))
	if err != nil {
		return nil, err
	}
	revalidated, err := m.Int64ObservableCounter("keel.httpcache.revalidated", metric.WithUnit("{response}"),
		metric.WithDescription("Stale stored responses the handler confirmed with 304 Not Modified to a conditional request, refreshed without a new body."))
	if err != nil {
		return nil, err
	}
	invalidations, err := m.Int64ObservableCounter("keel.httpcache.invalidations", metric.WithUnit("{invalidation}"),
		metric.WithDescription("Invalidations by path prefix or tag, unsafe requests' automatic ones included."))
	if err != nil {
		return nil, err
	}
	entries, err := m.Int64ObservableGauge("keel.httpcache.entries", metric.WithUnit("{entry}"),
		metric.WithDescription("Records held: stored responses and per-URL variants records."))
	if err != nil {
		return nil, err
	}
	size, err := m.Int64ObservableGauge("keel.httpcache.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes of the records held (bodies and header fields), bounded by Config.MaxBytes."))
	if err != nil {
		return nil, err
	}
	base := attribute.String("keel.httpcache.name", name)
	opts := func(key string, values []string) [][]metric.ObserveOption {
		out := make([][]metric.ObserveOption, len(values))
		for i, v := range values {
			out[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(base, attribute.String(key, v)))}
		}
		return out
	}
	resultOpts := opts("keel.httpcache.result", resultNames[:])
	decisionOpts := opts("keel.httpcache.decision", decisionNames[:])
	kindOpts := opts("keel.httpcache.kind", invalidationNames[:])
	nameOpt := metric.WithAttributeSet(attribute.NewSet(base))
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range c.results {
			if v := c.results[i].Load(); v > 0 {
				o.ObserveInt64(requests, v, resultOpts[i]...)
			}
		}
		for i := range c.decisions {
			if v := c.decisions[i].Load(); v > 0 {
				o.ObserveInt64(responses, v, decisionOpts[i]...)
			}
		}
		for i := range c.invalidations {
			if v := c.invalidations[i].Load(); v > 0 {
				o.ObserveInt64(invalidations, v, kindOpts[i]...)
			}
		}
		o.ObserveInt64(notModified, c.notModified.Load(), nameOpt)
		o.ObserveInt64(revalidated, c.revalidated.Load(), nameOpt)
		o.ObserveInt64(entries, c.entries.Load(), nameOpt)
		o.ObserveInt64(size, c.bytes.Load(), nameOpt)
		return nil
	}, requests, responses, notModified, revalidated, invalidations, entries, size)
}

// unregisterWhenCollected removes the callback once owner is garbage.
func unregisterWhenCollected(owner *Middleware, reg metric.Registration) {
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = otelglobal.Unregister(r) }, reg)
}

// Stats is a snapshot of a Middleware's counters since New.
type Stats struct {
	// Requests by how they were answered.
	Hits, Stale, Misses, Coalesced, Bypassed int64
	// NotModified counts 304 answers.
	NotModified int64
	// Revalidated counts stale responses the handler confirmed with a
	// 304 to a conditional request, refreshed without a new body.
	Revalidated int64
	// Stored counts responses stored; NotStored those seen and not stored.
	Stored, NotStored int64
	// Entries and Bytes are what is held now.
	Entries, Bytes int64
}

// Stats returns a snapshot of the counters.
func (m *Middleware) Stats() Stats {
	c := m.metrics
	s := Stats{
		Hits: c.results[resultHit].Load(), Stale: c.results[resultStale].Load(),
		Misses: c.results[resultMiss].Load(), Coalesced: c.results[resultCoalesced].Load(),
		Bypassed: c.results[resultBypass].Load(), NotModified: c.notModified.Load(), Revalidated: c.revalidated.Load(),
		Stored: c.decisions[decisionStored].Load(), Entries: c.entries.Load(), Bytes: c.bytes.Load(),
	}
	for d := decisionStored + 1; d < decisionCount; d++ {
		s.NotStored += c.decisions[d].Load()
	}
	return s
}
