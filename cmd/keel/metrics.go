package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/keel-go/keel/metrics/dashboard/grafana"
)

// metricsGrafana is `keel metrics grafana`: the Grafana dashboard of
// metrics/dashboard/grafana on stdout, for a team that already runs
// Prometheus and Grafana.
func metricsGrafana(args []string, stdout, stderr io.Writer) error {
	return writeMetricsFile("grafana", grafana.Dashboard, args, stdout, stderr)
}

// metricsRules is `keel metrics rules`: the Prometheus recording and alert
// rules (predict_linear for each -forecast) on stdout.
func metricsRules(args []string, stdout, stderr io.Writer) error {
	return writeMetricsFile("rules", grafana.Rules, args, stdout, stderr)
}

func writeMetricsFile(name string, generate func(grafana.Config) ([]byte, error), args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel metrics "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg grafana.Config
	var forecasts forecastFlags
	fs.StringVar(&cfg.Title, "title", "", "dashboard title (default Keel)")
	fs.DurationVar(&cfg.RateWindow, "rate-window", grafana.DefaultRateWindow, "range of every rate() and quantile")
	horizon := fs.Duration("horizon", grafana.DefaultHorizon, "how far ahead each -forecast looks")
	lookback := fs.Duration("lookback", grafana.DefaultLookback, "range each -forecast's line is fitted over")
	fs.Var(&forecasts, "forecast", "METRIC=THRESHOLD: alert when the gauge METRIC (its OpenTelemetry name, e.g.\nkeel.ratelimit.in_flight) reaches THRESHOLD within -horizon; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the file is written to stdout)", fs.Arg(0))
	}
	if cfg.RateWindow < time.Second {
		return fmt.Errorf("-rate-window %v is below one second", cfg.RateWindow)
	}
	if *horizon < time.Second || *lookback < time.Second {
		return fmt.Errorf("-horizon and -lookback must be at least one second")
	}
	for _, f := range forecasts {
		f.Horizon, f.Lookback = *horizon, *lookback
		// Checked here, one at a time, so that the error names the flag's
		// value rather than the library's Config.Forecasts[i].
		if err := grafana.CheckMetric(f.Metric); err != nil {
			return fmt.Errorf("-forecast %s=%g: %s", f.Metric, f.Threshold, strings.TrimPrefix(err.Error(), "grafana: "))
		}
		cfg.Forecasts = append(cfg.Forecasts, f)
	}
	out, err := generate(cfg)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// forecastFlags collects repeated -forecast METRIC=THRESHOLD values.
type forecastFlags []grafana.Forecast

func (f *forecastFlags) String() string { return "" }

func (f *forecastFlags) Set(v string) error {
	metric, threshold, ok := strings.Cut(v, "=")
	if !ok || metric == "" {
		return fmt.Errorf("want METRIC=THRESHOLD, e.g. keel.ratelimit.in_flight=100")
	}
	t, err := strconv.ParseFloat(threshold, 64)
	if err != nil || math.IsNaN(t) || math.IsInf(t, 0) {
		return fmt.Errorf("threshold %q is not a finite number", threshold)
	}
	*f = append(*f, grafana.Forecast{Metric: metric, Threshold: t})
	return nil
}
