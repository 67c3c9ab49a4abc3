// Package dashboard is a live view of a service's own Keel metrics: one
// http.Handler, mounted by the service itself, that shows its breakers,
// retries, rate limits and bulkheads, HTTP routes, caches, health checks,
// firing alerts and Go runtime, with an in-memory history and linear
// forecasts. Nothing else is installed: no Prometheus, no scrape, no CDN,
// no external request. For teams that run Prometheus and Grafana, package
// metrics/dashboard/grafana writes the same view.
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
//     them, about 20 ms of CPU with 1 000 series and a full ring of 720
//     samples; every later request until the next sample is answered with
//     the same bytes. While the API is polled (a request within the last
//     max(3·Interval, RateWindow)), the sampler builds the document right
//     after each sample, so a poll costs a copy of the bytes: a median of
//     0.36 ms and a p99 of 5 ms of CPU in the benchmark
//     (docs/BENCHMARKS.md). Nobody polling, nothing is built.
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
// For each [Forecast], every series of the named gauge is fitted with an
// ordinary least-squares line over the whole ring ([Fit]); the snapshot
// gives the slope, its standard error, and the time until the line reaches
// the threshold ([Trend.TimeToThreshold]). A least-squares fit follows
// outliers more than a robust (Theil–Sen) fit would; the standard error says
// how far to trust the slope. The times to threshold are also exported as
// the gauge keel.dashboard.forecast.seconds_to_threshold (through
// Config.MeterProvider), so that alert rules can use them; the gauge's
// callback holds the dashboard weakly and Close unregisters it.
//
// # Bottlenecks
//
// [Snapshot.Bottlenecks] ranks, over the rate window, routes by time spent
// (rate × mean latency, from the histogram's sum) and by p99, HTTP
// dependencies by p99, and SQL statements (metrics/sqlmetrics) by time
// spent; see [Bottlenecks].
package dashboard
