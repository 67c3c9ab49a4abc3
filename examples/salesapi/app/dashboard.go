package app

import (
	"net/http"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/metrics/dashboard"
)

// DashboardPath is where the operator's dashboard is mounted (admin role).
const DashboardPath = "/admin/dashboard/"

// NewDashboard creates the operator's live view of the service's own
// metrics. Its reader must be registered with the MeterProvider before the
// service records anything, so main creates it before metrics.Setup
// (metrics.Config.Readers = dash.Reader()) and hands it to New in
// Config.Dashboard. The caller closes it.
//
// It forecasts when the audit queue would fill, when the Go heap would pass
// 1 GiB and when the file system holding dataDir (the database, the audit
// log and the backups) would fill, at the current growth; dataDir must exist.
func NewDashboard(dataDir string) (*dashboard.Dashboard, error) {
	return dashboard.New(dashboard.Config{
		DiskPaths: []string{dataDir},
		// The route is behind authentication and the admin role already;
		// this checks it again, so that mounting it elsewhere by mistake
		// does not make it public.
		Authorize: func(r *http.Request) bool { return principalOf(r).Role == RoleAdmin },
		Forecasts: []dashboard.Forecast{
			{Metric: "keel.audit.queue.length", Threshold: audit.DefaultQueueSize},
			{Metric: "go.memory.used", Threshold: 1 << 30},
		},
	})
}

// mountDashboard serves Config.Dashboard under DashboardPath to the admin
// role: the page, and its JSON at DashboardPath + "api".
func (a *App) mountDashboard(handle func(pattern string, role Role, h http.HandlerFunc)) {
	if a.cfg.Dashboard == nil {
		return
	}
	handle("GET "+DashboardPath+"{rest...}", RoleAdmin, a.cfg.Dashboard.ServeHTTP)
}
