package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// PostgreSQL cutting the service's connections while orders run (as a reset,
// a failover or an operator's pg_terminate_backend does, here to this test's
// own database only) is answered 503 database_unavailable with Retry-After,
// never 500, and logged below ERROR; every refused order then goes through
// on retry with its key, and none is doubled.
func TestDatabaseConnectionsCutAnswer503NotA500(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDatabase(t)
	in := start(t, t.TempDir(), backend{name: "postgres", dbURL: pg.DSN})
	cust := in.createCustomer("db.reset@example.com", "+1 555 0100 18")

	type answer struct {
		status     int
		code       string
		retryAfter string
	}
	var mu sync.Mutex
	answers := map[string]answer{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 6 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("e2e-dbreset-%d-%d", c, n)
				r, err := tryCall(in, "POST", "/v1/orders", orderBody(cust, 1), key)
				if err != nil {
					continue // not expected: the service itself stays up
				}
				var p struct{ Code string }
				_ = json.Unmarshal(r.Body, &p)
				mu.Lock()
				answers[key] = answer{r.Status, p.Code, r.Header.Get("Retry-After")}
				mu.Unlock()
			}
		})
	}
	cut := 0
	seenUnavailable := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range answers {
			if a.code == "database_unavailable" {
				return true
			}
		}
		return false
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for start := time.Now(); time.Since(start) < 3*time.Second || !seenUnavailable(); {
		if time.Now().After(deadline) {
			break
		}
		// Only connections inside a transaction (between its statements, as
		// during the order's audit write): the cut lands where it hurts.
		var n int
		require.NoError(t, pg.DB.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'idle in transaction'`, pg.Database).Scan(&n))
		cut += n
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	counts := map[string]int{}
	for key, a := range answers {
		counts[fmt.Sprintf("%d %s", a.status, a.code)]++
		assert.NotEqual(t, http.StatusInternalServerError, a.status, "key %s", key)
		assert.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, a.status, "key %s: %d %s", key, a.status, a.code)
		if a.status == http.StatusServiceUnavailable {
			assert.NotEmpty(t, a.retryAfter, "a database outage says when to retry (%s)", a.code)
		}
	}
	t.Logf("%d connections cut; answers: %v", cut, counts)
	require.Positive(t, counts["503 database_unavailable"], "the cuts met a request inside its transaction at least once: %v", counts)
	assert.NotContains(t, in.Output(), `"level":"ERROR"`, "an outage is not logged as an error")

	// Every refused order goes through on retry, once.
	for key, a := range answers {
		if a.status == http.StatusCreated {
			continue
		}
		for attempt := 0; ; attempt++ {
			r, err := tryCall(in, "POST", "/v1/orders", orderBody(cust, 1), key)
			if err == nil && r.Status == http.StatusCreated {
				break
			}
			require.Less(t, attempt, 100, "key %s never went through: %v %d %s", key, err, r.Status, r.Body)
			time.Sleep(100 * time.Millisecond)
		}
	}
	report := in.call("GET", "/v1/reports/sales?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", in.Admin, nil)
	require.Equal(t, http.StatusOK, report.Status, "%s", report.Body)
	var rep struct{ Sales []struct{ Orders int } }
	require.NoError(t, json.Unmarshal(report.Body, &rep))
	require.Len(t, rep.Sales, 1)
	assert.Equal(t, len(answers), rep.Sales[0].Orders, "one order per key")
}

// A client that sends an order and then half-closes its connection, or
// closes it, while the payment is under way has left: the service logs it at
// INFO as a closed request (499), not as an ERROR or a failed payment, and
// the key is released, so the client's retry places the order (not a replay
// of the 499).
func TestClientThatLeavesIsNotAnError(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend, "-gateway-latency", "1500ms")
	cust := in.createCustomer("leaves@example.com", "+1 555 0100 19")
	u, err := url.Parse(in.URL)
	require.NoError(t, err)

	send := func(key string, halfClose bool) {
		conn, err := net.Dial("tcp", u.Host)
		require.NoError(t, err)
		defer conn.Close()
		body, _ := json.Marshal(orderBody(cust, 1))
		fmt.Fprintf(conn, "POST /v1/orders HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nIdempotency-Key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			u.Host, salesKey, key, len(body), body)
		time.Sleep(200 * time.Millisecond) // the handler is waiting on the gateway
		if !halfClose {
			return // closed by the deferred Close
		}
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil { // the service may still answer a half-closed connection
			_, _ = io.Copy(io.Discard, resp.Body)
			assert.Equal(t, 499, resp.StatusCode)
		}
	}
	keys := map[string]bool{newKey(t): true, newKey(t): false}
	for key, half := range keys {
		send(key, half)
	}
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(in.Output(), "the client closed the request") < len(keys) {
		require.True(t, time.Now().Before(deadline), "the service did not log both closed requests:\n%s", in.Output())
		time.Sleep(50 * time.Millisecond)
	}
	assert.NotContains(t, in.Output(), `"level":"ERROR"`)
	assert.NotContains(t, in.Output(), "payment failed")

	for key := range keys {
		r := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", key)
		assert.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		assert.Empty(t, r.Header.Get("Idempotent-Replayed"), "the retry ran: a 499 is not stored")
	}
	charges, _ := in.gatewayStats()
	assert.Equal(t, len(keys), charges, "one charge per key")
}
