package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The payment policy serves the user while the gateway fails: retries absorb
// random failures, and the breaker (which counts attempts) opens only above
// what they absorb. Orders placed at 30 %, 50 % and 70 % gateway failure
// (set through POST /v1/admin/chaos) fail at about the rate of all 5
// attempts failing (0.2 %, 3 %, 17 %), not at the rate of an open breaker.
// The table in README.md is this test's log:
//
//	go test -count=1 -run TestOrderFailureRateUnderGatewayFailures -v ./examples/salesapi/e2e/
func TestOrderFailureRateUnderGatewayFailures(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend)
	cust := in.createCustomer("gateway.failures@example.com", "+1 555 0100 20")
	const orders, clients = 300, 8
	bounds := map[float64]float64{0.3: 0.02, 0.5: 0.10, 0.7: 0.30} // each several times the expected rate
	t.Log("| gateway failure | orders | failed | of which breaker open | order failure rate | gateway calls per order |")
	t.Log("|---|---|---|---|---|---|")
	for _, rate := range []float64{0.3, 0.5, 0.7} {
		in.chaos(fmt.Sprintf(`{"failure_rate": %g}`, rate))
		_, callsBefore := in.gatewayStats()
		var mu sync.Mutex
		statuses := map[string]int{}
		next := make(chan int)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range next {
					r, err := tryCall(in, "POST", "/v1/orders", orderBody(cust, 1), newKey(t))
					var p struct{ Code string }
					if err == nil {
						_ = json.Unmarshal(r.Body, &p)
					}
					mu.Lock()
					statuses[fmt.Sprintf("%d %s", r.Status, p.Code)]++
					mu.Unlock()
				}
			})
		}
		for n := range orders {
			next <- n
		}
		close(next)
		wg.Wait()
		_, callsAfter := in.gatewayStats()
		failed := orders - statuses["201 "]
		open := statuses["503 payment_unavailable"]
		failureRate := float64(failed) / orders
		t.Logf("| %.0f %% | %d | %d | %d | %.1f %% | %.2f |", rate*100, orders, failed, open, failureRate*100, float64(callsAfter-callsBefore)/orders)
		t.Logf("statuses at %.0f %%: %v", rate*100, statuses)
		assert.LessOrEqual(t, failureRate, bounds[rate], "order failure rate at %.0f %% gateway failure", rate*100)
		if rate <= 0.5 {
			assert.Zero(t, open, "the breaker stays closed at %.0f %% gateway failure", rate*100)
		}
	}
}
