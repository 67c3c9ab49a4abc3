package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// backend is where an instance keeps its data.
type backend struct {
	name  string
	dbURL string   // PostgreSQL URL, given through SALESAPI_DB_URL; "" is SQLite
	flags []string // e.g. -redis
}

var sqliteBackend = backend{name: "sqlite"}

// backends returns SQLite, and PostgreSQL + Redis (skipped when absent,
// required with CI=true, through internal/testenv).
func backends() []func(t *testing.T) backend {
	return []func(t *testing.T) backend{
		func(*testing.T) backend { return sqliteBackend },
		func(t *testing.T) backend {
			pg := testenv.PostgresDatabase(t)
			rd := testenv.RedisPrefix(t)
			return backend{name: "postgres+redis", dbURL: pg.DSN, flags: []string{"-redis", rd.Addr, "-redis-prefix", rd.Prefix}}
		},
	}
}

func backendName(i int) string { return []string{"sqlite", "postgres+redis"}[i] }

// namedBackend is a backend made on demand, with the name its subtest runs under.
type namedBackend struct {
	name string
	make func(t *testing.T) backend
}

// stormBackends are backends() and each again with its idempotency records
// in Redis (-idempotency-store redis), for the crash tests.
func stormBackends() []namedBackend {
	withRedisRecords := func(t *testing.T, b backend) backend {
		if len(b.flags) == 0 { // SQLite: Redis for the records only
			rd := testenv.RedisPrefix(t)
			b.flags = []string{"-redis", rd.Addr, "-redis-prefix", rd.Prefix}
		}
		b.name += "+redis-records"
		b.flags = append(append([]string(nil), b.flags...), "-idempotency-store", "redis")
		return b
	}
	var out []namedBackend
	for i, mk := range backends() {
		out = append(out,
			namedBackend{backendName(i), mk},
			namedBackend{backendName(i) + "+redis-records", func(t *testing.T) backend { return withRedisRecords(t, mk(t)) }})
	}
	return out
}

// createCustomer makes a customer and returns its id.
func (in *instance) createCustomer(email, phone string) string {
	in.t.Helper()
	r := in.call("POST", "/v1/customers", in.Admin, map[string]string{"name": "E2E Customer", "email": email, "phone": phone, "company": "E2E Ltd"})
	require.Equal(in.t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.JSON(in.t)["id"].(string)
}

func orderBody(customerID string, qty int) map[string]any {
	return map[string]any{"customer_id": customerID, "currency": "EUR",
		"items": []map[string]any{{"sku": "SEAT-PRO", "qty": qty, "unit_price_cents": 4900}}}
}

// gatewayStats reads what the instance's simulated gateway charged.
func (in *instance) gatewayStats() (charges, calls int) {
	in.t.Helper()
	r := in.call("GET", "/v1/admin/gateway", in.Admin, nil)
	require.Equal(in.t, http.StatusOK, r.Status, "%s", r.Body)
	var s struct{ Charges, Calls int }
	require.NoError(in.t, json.Unmarshal(r.Body, &s))
	return s.Charges, s.Calls
}

func (in *instance) chaos(body string) {
	in.t.Helper()
	r := in.call("POST", "/v1/admin/chaos", in.Admin, body)
	require.Equal(in.t, http.StatusNoContent, r.Status, "%s", r.Body)
}

// keySeq numbers the Idempotency-Keys of every test, which run in parallel
// and call newKey from several goroutines.
var keySeq atomic.Int64

func newKey(t *testing.T) string {
	return fmt.Sprintf("e2e-%s-%d", t.Name(), keySeq.Add(1))
}
