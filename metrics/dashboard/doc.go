// Package dashboard is a live view of a service's own Keel metrics: one
// http.Handler, mounted by the service itself, that shows its breakers,
// retries, rate limits and bulkheads, HTTP routes, caches, health checks,
// firing alerts and Go runtime, with an in-memory history, robust trends
// and saturation forecasts. Nothing else is installed: no Prometheus, no
// scrape, no CDN, no external request. For teams that run Prometheus and
// Grafana, package metrics/dashboard/grafana writes the same view.
//
// # Wiring
//
// The dashboard owns a metric reader (an sdkmetric.ManualReader) that must be
// registered with the service's MeterProvider. With [metrics.Setup]:
//
//	dash, err := dashboard.New(dashboard.Config{Authorize: isAdmin})
//	tel, err := metrics.Setup(ctx, metrics.Config{Readers: []sdkmetric.Reader{dash.Reader()}})
//	mux.Handle("/admin/dashboard/", dash)
//	defer dash.Close()
//
// or, with a provider built by hand, sdkmetric.NewMeterProvider(dash.Option()).
// Until the reader is registered, samples are skipped (this is not an error).
// The reader reads cumulative data and is collected by nothing else, so it
// does not disturb exporters.
//
// The handler serves the page for any path, the JSON [Snapshot] when the
// path ends in "/api", and the page's script and style sheets under
// ".../assets/". Rows come from the metric names of docs/METRICS.md:
// keel.breaker.*, keel.retry.*, keel.ratelimit.*, http.server.request.duration
// (per method and http.route: rate, error ratio, p50/p95/p99 estimated from
// the histogram's buckets as Prometheus' histogram_quantile does),
// keel.cache.*, keel.health.check.status, keel.alert.firing and the runtime
// instrumentation's go.goroutine.count and go.memory.*.
//
// # Guarantees
//
//   - Memory bound. The ring keeps History/Interval samples (720 by default)
//     of at most MaxSeries series (500 by default); a series first seen once
//     the cap is reached is not kept and is counted in
//     [Snapshot.DroppedSeries]. A scalar series holds one float64 per sample;
//     a histogram series five (count, sum, p50, p95, p99) plus
//     RateWindow/Interval bucket snapshots of at most [MaxBuckets]+1 counts
//     (a histogram with more bounds keeps count and sum only). The sample
//     arrays therefore never exceed [Dashboard.MemoryBound] =
//     8·P + MaxSeries·(40·P + 8·W·(MaxBuckets+1)) bytes for P samples and W
//     window samples: 17.5 MB with the defaults, reached only if all 500
//     series are histograms (a scalar series costs 5.6 KiB). Attributes are
//     cut to [MaxAttributes] per series and [MaxValueLen] bytes per value.
//   - Sampling cost. One goroutine; every Interval it collects the reader
//     once (the SDK runs the observable callbacks, as any scrape would) and
//     writes one value per series into arrays allocated when the series is
//     first seen; beyond the SDK's collection, the sampler allocates one
//     bucket-delta slice per histogram series per sample (and a bucket copy
//     until the series' window ring is filled). Measured with 1 000 series
//     (docs/BENCHMARKS.md): a sample costs the same CPU as the bare SDK
//     collection within noise, about 2.5 ms, so 0.05 % of one core at the
//     default interval.
//   - API cost. The JSON document is built at most once per sample: the
//     first request after a sample computes the views from the ring (under
//     the sampling mutex, in time linear in series × samples) and encodes
//     them, about 16–24 ms of CPU with 1 000 series and a full ring of 720
//     samples; every later request until the next sample is answered with
//     the same bytes. While the API is polled (a request within the last
//     max(3·Interval, RateWindow)), the sampler builds the document right
//     after each sample, so a poll costs writing the bytes: with 1 000
//     series and a full ring, a p99 of 4–7 ms wall over a loopback
//     connection, the client's read included, and under 0.1 ms in the
//     handler (docs/BENCHMARKS.md). The document is also compressed once
//     per build (gzip, BestSpeed) and served compressed, with
//     Vary: Accept-Encoding, to clients whose Accept-Encoding admits gzip.
//     The trends add 600 robust fits of ~30 µs each to a build in that
//     benchmark (200 routes, 200 breakers). Nobody polling, nothing is built.
//   - Security. [New] refuses a Config without Config.Authorize or an
//     explicit Config.Public. Every answer carries Cache-Control: no-store,
//     X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and
//     X-Frame-Options: DENY; the page is rendered server-side by
//     html/template (attribute values are escaped: a label holding markup is
//     shown as text) and served with a Content-Security-Policy that allows
//     scripts, style sheets and fetches from the service itself only
//     (script-src 'self', connect-src 'self'; no inline script, no eval),
//     its one inline style element by hash, and nothing else. The page's
//     script and style tags carry Subresource Integrity hashes. The API's
//     answers are never cached (no-store); the embedded assets are
//     revalidated by ETag (no-cache). Only GET and HEAD are served.
//
// # The page
//
// The page is complete without script: server-rendered tables with SVG
// sparklines, refreshed every Interval by a meta refresh inside <noscript>.
// With script, assets/dashboard.js takes over: it polls the JSON API once
// per sample (just after the next sample is due), draws every *_history
// array it finds in the document as a time series with uPlot (one chart per
// field, one line per row, so a section added to the API is drawn without
// a change to the script), and swaps in the server's fresh tables without
// reloading, so focus, scroll and charts stay. Every axis has its unit
// (time in UTC); breaker state is drawn as a step chart whose axis reads
// closed, half-open and open, and each chart's caption gives the latest
// values in words, coloured (green, amber, red) by state. Charts are
// focusable (Tab); the arrow keys, Home and End move the cursor through the
// samples and the legend reads the values. The grid of charts reflows with
// the window. A failed poll is shown on the page ("not updating" and the
// reason), never written to the console.
//
// The page with all it loads weighs about 71 KB (under the 200 KB budget,
// held by a test); uPlot (MIT, license in assets/uPlot.LICENSE) is
// vendored: web/package.json pins it, web/package-lock.json locks its
// integrity hash, and web/build.sh (npm ci, then a copy) rebuilds
// assets/uPlot.* byte for byte; `git diff --exit-code assets` after running
// it shows they match.
//   - Counters. Rates and ratios are computed over Config.RateWindow from
//     cumulative values; a counter that went down (a restart of the
//     instrument) counts from zero, and a series the SDK had not reported
//     yet is taken to have stood at zero (the SDK reports a cumulative
//     series once it has counted something).
//
// # Forecasts
//
// For each [Forecast], every series of the named gauge is fitted with a
// robust straight line over the whole ring ([FitRobust]: Theil–Sen, the
// median of the pairwise slopes, on at most [MaxTrendPoints] points evenly
// thinned from the ring, so a fit costs the same ~25 µs of CPU whatever the
// ring's length), with Sen's 95 % confidence band on the slope. The
// snapshot gives the slope and its band, and the time until the line
// reaches the threshold ([Trend.TimeToThreshold]) with the earliest and
// latest times the band allows ([Trend.TimeToThresholdRange]). A spike or a
// stuck sample (up to 29 % of the points) barely moves the slope, where it
// would swing a least-squares line ([Fit], kept for callers that want one).
// The times are also exported as the gauges
// keel.dashboard.forecast.seconds_to_threshold and
// keel.dashboard.forecast.earliest_seconds_to_threshold (through
// Config.MeterProvider), so that alert rules can use them; the gauges'
// callback holds the dashboard weakly and Close unregisters it.
//
// # Trends and saturation
//
// Every route gets the robust growth of its request rate and of its mean
// latency over the ring ([Route].RateGrowth, LatencyGrowth), every breaker
// that of its call rate ([Breaker].CallRateGrowth), as a [Growth]: slope
// per second with its 95 % band. [Snapshot.Saturations] forecasts, with
// the same fit, when each resource reaches its limit at its current
// growth: a ratelimit.Bulkhead's calls in flight against its MaxInFlight
// (keel.ratelimit.max_in_flight), a ratelimit.Limiter's allowed rate
// against its Limit/Period (keel.ratelimit.rate), a metrics/sqlmetrics
// pool's connections in use against its maximum, and the file system of
// each Config.DiskPaths entry (the audit log's and the backups'
// directories: bytes used against size, read with statfs at every sample).
// These are exported as keel.dashboard.saturation.seconds and
// keel.dashboard.saturation.earliest_seconds by keel.dashboard.resource
// and keel.dashboard.name. A resource already at its limit reports zero.
//
// # JSON API
//
// The document is [Snapshot]; its JSON names are stable and new fields are
// only added. Fields added with the trends and saturation (all numbers
// null when unknown):
//
//   - breakers[].slow_call_ratio: keel.breaker.slow_calls over the
//     window's calls (null unless the breaker has a SlowCallRate);
//     breakers[].call_rate_growth: a growth object.
//   - retries[].budget_tokens, budget_threshold, budget_remaining (tokens
//     above the threshold: the failed attempts the budget still pays for)
//     and budget_exhausted (true while tokens <= threshold; false without a
//     budget).
//   - rate_limits[].max_in_flight (bulkheads; for an adaptive limiter, the
//     limit it settled on) and rate_limit_per_second (limiters). Adaptive
//     limiters (keel.ratelimit.adaptive.*) now have rows too.
//   - routes[].rate_growth (requests/s per s) and latency_growth (mean
//     seconds per s).
//   - forecasts[].slope_low_per_second, slope_high_per_second,
//     earliest_seconds_to_threshold, latest_seconds_to_threshold
//     (slope_stderr is now the band's half-width / 1.96).
//   - saturations[]: resource ("bulkhead", "rate_limit", "db_pool",
//     "disk"), name, used, limit, used_ratio, growth,
//     seconds_to_saturation, earliest_seconds_to_saturation,
//     latest_seconds_to_saturation; ordered by resource then name.
//   - A growth object is {per_second, low_per_second, high_per_second,
//     current (the fitted value now), points (samples fitted, at most
//     MaxTrendPoints)}; the band is null below five points.
//
// # Bottlenecks
//
// [Snapshot.Bottlenecks] ranks, over the rate window, routes by time spent
// (rate × mean latency, from the histogram's sum) and by p99, HTTP
// dependencies by p99, and SQL statements (metrics/sqlmetrics) by time
// spent; see [Bottlenecks].
package dashboard
