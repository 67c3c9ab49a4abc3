package app

import (
	"context"
	"net/http"

	"github.com/keel-go/keel/examples/salesapi/store"
	"github.com/keel-go/keel/metrics/requestctx"
)

// BareHandler serves a's own handlers without the reliability layers: no
// rate limits, no idempotency middleware (an order is charged under a key
// of its own and stored without a request key), no HTTP metrics, no caches
// (every read goes to the database). Field encryption and audit stay: they
// are the handlers' own work. BenchmarkReliabilityOverhead compares it
// with a.Handler() to measure what the layers cost; the production
// handlers know nothing of it. a must serve nothing else afterwards.
func BareHandler(a *App) http.Handler {
	a.customers = uncachedCustomers{}
	a.reports = uncachedReports{}
	orders := a.requireRole(RoleSales, func(w http.ResponseWriter, r *http.Request) {
		a.placeOrder(w, r, orderKeys{payment: newID("pay_")})
	})
	return requestctx.Middleware(a.root(a.authenticate(requestctx.Middleware(a.api(orders)))))
}

type uncachedCustomers struct{}

func (uncachedCustomers) GetOrLoad(ctx context.Context, key string, load func(context.Context, string) (store.Customer, error)) (store.Customer, error) {
	return load(ctx, key)
}

func (uncachedCustomers) Close() error { return nil }

type uncachedReports struct{}

func (uncachedReports) GetOrLoad(ctx context.Context, key string, load func(context.Context, string) ([]store.SalesRow, error)) ([]store.SalesRow, error) {
	return load(ctx, key)
}
