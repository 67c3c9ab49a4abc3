package load

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunDrivesTheMixAndCountsRetries(t *testing.T) {
	var orders atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/customers", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "cus_1"})
	})
	mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer k", r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(`{}`))
	})
	mux.HandleFunc("GET /v1/reports/sales", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`[]`)) })
	mux.HandleFunc("POST /v1/orders", func(w http.ResponseWriter, r *http.Request) {
		assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
		if orders.Add(1)%2 == 1 { // every first attempt fails once
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := Run(context.Background(), Config{BaseURL: srv.URL, APIKey: "k", Duration: 500 * time.Millisecond, Concurrency: 1, Customers: 2,
		Mix: map[Op]int{GetCustomer: 1, PostOrder: 1, GetReport: 1}}) // equal weights: every op is drawn
	require.NoError(t, err)
	for _, op := range []Op{GetCustomer, PostOrder, GetReport} {
		require.Contains(t, res.Routes, op)
		assert.Positive(t, res.Routes[op].Requests, op)
	}
	po := res.Routes[PostOrder]
	assert.Equal(t, po.Requests, po.Retries, "each order needed exactly one retry")
	assert.Equal(t, po.Requests, po.Status[http.StatusCreated])
	assert.Zero(t, po.Errors)
	assert.Positive(t, res.Throughput(""))
	assert.GreaterOrEqual(t, po.P99, po.P50)
	assert.Contains(t, res.Report(), string(GetCustomer))
	assert.Contains(t, res.Report(), "201:", "status counts are printed")
}

func TestPercentileAndPick(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	assert.Equal(t, time.Duration(5), percentile(lat, 0.5))
	assert.Equal(t, time.Duration(10), percentile(lat, 0.99))
	assert.Equal(t, time.Duration(0), percentile(nil, 0.5))
	ops, cum := pickTable(map[Op]int{"a": 1, "b": 3, "c": 0})
	assert.Equal(t, []Op{"a", "b"}, ops)
	assert.Equal(t, Op("a"), pick(ops, cum, 0))
	assert.Equal(t, Op("b"), pick(ops, cum, 1))
	assert.Equal(t, Op("b"), pick(ops, cum, 3))
}
