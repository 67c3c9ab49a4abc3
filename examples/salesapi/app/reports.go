package app

import (
	"context"
	"net/http"
	"time"

	"github.com/keel-go/keel/examples/salesapi/store"
)

// salesReport is GET /v1/reports/sales?from=&to= (RFC 3339 times; default the
// last 30 days, up to the next whole minute). Reports are cached per window;
// after 60 % of their TTL a read triggers one background refresh, so once a
// window's report is warm no caller waits for the aggregate query. Orders
// therefore show up within ReportCacheTTL here (1.5 × ReportCacheTTL through
// the HTTP response cache in front, reportcache.go), not at once, by design: an
// aggregate that every order invalidated would never be cached.
func (a *App) salesReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to, from := time.Now().UTC().Truncate(time.Minute).Add(time.Minute), time.Time{}
	from = to.AddDate(0, 0, -30)
	var v validation
	parse := func(name string, dst *time.Time) {
		if s := q.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			v.check(err == nil, name, "must be an RFC 3339 time")
			*dst = t
		}
	}
	parse("from", &from)
	parse("to", &to)
	v.check(len(v) > 0 || from.Before(to), "to", "must be after from")
	if v.answer(w) {
		return
	}
	key := from.UTC().Format(time.RFC3339) + "/" + to.UTC().Format(time.RFC3339)
	load := func(ctx context.Context, _ string) ([]store.SalesRow, error) {
		return a.store.Sales(ctx, from.UnixMilli(), to.UnixMilli())
	}
	rows, err := a.reports.GetOrLoad(r.Context(), key, load)
	if err != nil {
		a.internal(w, r, "sales report", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "sales": rows})
}
