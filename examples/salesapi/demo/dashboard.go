package demo

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keel-go/keel/examples/salesapi/app"
)

// dashboardRenders prints the dashboard's address and checks that the page
// renders for the admin key: its title, and a row for POST /v1/orders, which
// the earlier steps called. The dashboard samples every 5 s, so the row may
// take up to one interval to appear.
func dashboardRenders(e *env) ([]string, error) {
	addr := e.url + app.DashboardPath
	evidence := []string{"dashboard at " + addr + " (admin API key as a Bearer token)"}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := e.expect(http.StatusOK, "GET", app.DashboardPath, adminKey, nil)
		if err != nil {
			return evidence, err
		}
		page := string(r.body)
		if !strings.Contains(page, "<title>Keel dashboard</title>") {
			return evidence, fmt.Errorf("the page has no 'Keel dashboard' title: %.200s", page)
		}
		if strings.Contains(page, "<td>POST</td><td>/v1/orders</td>") {
			return append(evidence, "HTTP 200, title 'Keel dashboard', route row POST /v1/orders"), nil
		}
		if time.Now().After(deadline) {
			return evidence, fmt.Errorf("no POST /v1/orders row in the route table after 15 s")
		}
		select {
		case <-e.ctx.Done():
			return evidence, e.ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
