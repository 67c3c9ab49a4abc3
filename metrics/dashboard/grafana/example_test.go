package grafana_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/keel-go/keel/metrics/dashboard/grafana"
)

// A rule file with one forecast: the bulkhead's in-flight calls, alerted on
// when the line fitted over the last hour reaches 64 within the next hour.
// The saturation alerts (bulkheads, limiters, database pools reaching
// their own limits) come with every rule file.
func ExampleRules() {
	rules, err := grafana.Rules(grafana.Config{Forecasts: []grafana.Forecast{
		{Metric: "keel.ratelimit.in_flight", Threshold: 64},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.Contains(line, "- alert:") || strings.Contains(line, "> 64") { // the alert rule
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// - alert: KeelForecast_ratelimit_in_flight
	// expr: "predict_linear(keel_ratelimit_in_flight[1h], 3600) > 64"
	// - alert: KeelSaturation_bulkhead
	// - alert: KeelSaturation_rate_limit
	// - alert: KeelSaturation_db_pool
}

// The Grafana dashboard is JSON whose data source is a variable, so one file
// serves every Prometheus a team runs; a forecast gets a panel of its own.
func ExampleDashboard() {
	out, err := grafana.Dashboard(grafana.Config{Title: "Sales API"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var dash struct {
		Title  string
		Panels []json.RawMessage
	}
	if err := json.Unmarshal(out, &dash); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dash.Title, len(dash.Panels) > 0)

	// A metric outside the catalogue is refused, naming it.
	_, err = grafana.Dashboard(grafana.Config{Forecasts: []grafana.Forecast{{Metric: "keel.nope", Threshold: 1}}})
	fmt.Println(err != nil && strings.Contains(err.Error(), `"keel.nope" is not in the catalogue`))
	// Output:
	// Sales API true
	// true
}
