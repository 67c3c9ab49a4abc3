package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// prometheusRenames maps exported family names that break Prometheus naming
// rules to names that keep them. The runtime instrumentation's gauge
// go.goroutine.count would be exposed as go_goroutine_count, and a "_count"
// suffix on anything but a histogram or summary is rejected by
// `promtool check metrics` (it collides with histogram series). Prometheus
// users know the value as go_goroutines (client_golang's name), so the
// exposition uses that; OTLP keeps the semantic-convention name.
var prometheusRenames = map[string]string{
	"go_goroutine_count": "go_goroutines",
	// The same rule for the process gauge; process_open_fds is
	// client_golang's process collector's name for it.
	"process_unix_file_descriptor_count": "process_open_fds",
	// And for metrics/sqlmetrics' pool gauge (db.client.connection.count
	// in the conventions): db_client_connections in the exposition.
	"db_client_connection_count": "db_client_connections",
}

// renamingGatherer applies prometheusRenames to what it gathers.
type renamingGatherer struct{ prometheus.Gatherer }

func (g renamingGatherer) Gather() ([]*dto.MetricFamily, error) {
	fams, err := g.Gatherer.Gather()
	for _, f := range fams {
		if to, ok := prometheusRenames[f.GetName()]; ok && f.GetType() != dto.MetricType_HISTOGRAM && f.GetType() != dto.MetricType_SUMMARY {
			f.Name = &to
		}
	}
	return fams, err
}
