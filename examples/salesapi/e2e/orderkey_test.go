package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// With idempotency records in Redis, an order commits before its record is
// completed; a crash between the two (here: the record deleted, as the crash
// would leave it once its lease ran out) must not let the retry place a
// second order. The order row's unique idempotency key refuses it, and the
// retry gets the first order, byte for byte.
func TestRetryAfterALostRedisRecordGetsTheFirstOrder(t *testing.T) {
	t.Parallel()
	rd := testenv.RedisPrefix(t)
	b := backend{name: "sqlite+redis-records", flags: []string{"-redis", rd.Addr, "-redis-prefix", rd.Prefix, "-idempotency-store", "redis"}}
	in := start(t, t.TempDir(), b)
	cust := in.createCustomer("lost.record@example.com", "+1 555 0100 17")
	key := newKey(t)

	first := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 2), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)

	ctx := context.Background()
	records, err := rd.Client.Keys(ctx, rd.Prefix+"idem:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, records, "the idempotency record is in Redis")
	require.NoError(t, rd.Client.Del(ctx, records...).Err())

	retry := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 2), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, retry.Status, "%s", retry.Body)
	assert.Equal(t, string(first.Body), string(retry.Body), "the retry gets the first order")
	assert.Equal(t, first.Header.Get("Location"), retry.Header.Get("Location"))

	again := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 2), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, again.Status, "%s", again.Body)
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), "the retry's answer completed the record again")
	assert.Equal(t, string(first.Body), string(again.Body))

	report := in.call("GET", "/v1/reports/sales?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", in.Admin, nil)
	require.Equal(t, http.StatusOK, report.Status, "%s", report.Body)
	var rep struct{ Sales []struct{ Orders int } }
	require.NoError(t, json.Unmarshal(report.Body, &rep))
	require.Len(t, rep.Sales, 1)
	assert.Equal(t, 1, rep.Sales[0].Orders, "one order for the key")
	charges, _ := in.gatewayStats()
	assert.Equal(t, 1, charges, "one charge for the key")
}
