package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keel-go/keel/cache/httpcache"
)

// cachedSalesReport is GET /v1/reports/sales behind an HTTP response cache
// (cache/httpcache): requests for the same window by the same API key are
// answered from the stored response while it is fresh (half of
// ReportCacheTTL), with a strong ETag, so a client that sends If-None-Match
// gets 304; concurrent requests wait for one handler call. The report holds
// no personal data, yet responses are kept per principal (role and key id)
// and marked private: one caller's answer is never served to another, and no
// cache between here and the client stores it. Errors are problem+json with
// no-store, never stored.
//
// Together with the aggregate cache under salesReport, an order shows in
// the report within 1.5 × ReportCacheTTL.
func (a *App) cachedSalesReport() http.HandlerFunc {
	maxAge := max(a.cfg.ReportCacheTTL/2, time.Second)
	hc, err := httpcache.New(httpcache.Config{
		Name:     "sales_report",
		Capacity: 1_000,
		Principal: func(r *http.Request) string {
			p := principalOf(r)
			return string(p.Role) + ":" + p.ID
		},
		// No sweeping goroutine: the App closes nothing of a route's, and
		// expired reports are dropped when found or evicted.
		CleanupInterval: -1,
	})
	if err != nil {
		panic(err) // constant configuration
	}
	cacheControl := "private, max-age=" + strconv.Itoa(int(maxAge/time.Second))
	return hc.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControl) // problem() replaces it with no-store
		a.salesReport(w, r)
	})).ServeHTTP
}
