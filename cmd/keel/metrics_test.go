package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keel metrics grafana writes a Grafana dashboard whose forecast panel is the
// one asked for; keel metrics rules writes rules that promtool accepts, with
// a predict_linear alert per -forecast.
func TestMetricsGrafanaAndRules(t *testing.T) {
	out, stderr, code := runCLI(t, "metrics", "grafana", "-title", "Sales", "-forecast", "keel.ratelimit.in_flight=100")
	require.Equal(t, 0, code, stderr)
	var dash struct {
		Title  string
		Panels []struct{ Title string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &dash), out)
	assert.Equal(t, "Sales", dash.Title)
	assert.NotEmpty(t, dash.Panels)

	rules, stderr, code := runCLI(t, "metrics", "rules", "-forecast", "keel.ratelimit.in_flight=100", "-horizon", "2h")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, rules, "predict_linear(")
	assert.Contains(t, rules, "7200", "-horizon reaches the rule")
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (CI installs Debian's prometheus package)")
		}
		t.Skip("promtool not installed: the rule file's syntax is not checked")
	}
	file := filepath.Join(t.TempDir(), "rules.yml")
	require.NoError(t, os.WriteFile(file, []byte(rules), 0o600))
	res, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	require.NoError(t, err, "%s", res)
}

// Bad values are refused naming the flag, never a Go field.
func TestMetricsFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-forecast", "keel.nope=1"}, `-forecast keel.nope=1: metric "keel.nope" is not in the catalogue`},
		{[]string{"-forecast", "keel.ratelimit.in_flight"}, "want METRIC=THRESHOLD"},
		{[]string{"-forecast", "keel.ratelimit.in_flight=NaN"}, "not a finite number"},
		{[]string{"-rate-window", "10ms"}, "-rate-window 10ms is below one second"},
		{[]string{"-horizon", "0s", "-forecast", "keel.ratelimit.in_flight=1"}, "-horizon and -lookback"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		_, stderr, code := runCLI(t, append([]string{"metrics", "rules"}, tc.args...)...)
		assert.NotEqual(t, 0, code, "%v", tc.args)
		assert.Contains(t, stderr, tc.want, "%v", tc.args)
		assert.NotContains(t, stderr, "Config.", "%v", tc.args)
	}
}
