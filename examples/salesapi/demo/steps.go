package demo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/examples/salesapi/gateway"
)

type step struct {
	title string
	run   func(e *env) (evidence []string, err error)
}

var steps = []step{
	{"Customers: email and phone encrypted at rest, masked for sales, found by blind index", customers},
	{"Retried orders: one Idempotency-Key, one order, one charge", retriedOrders},
	{"Payment gateway failing 30 % of the time: clients see no failures", flakyGateway},
	{"Payment gateway down: the breaker opens, orders fail fast, and it closes by itself", gatewayOutage},
	{"No PII in clear in the database, the audit log, the backups or the logs", noPIIAtRest},
	{"The audit log verifies; one edited byte is caught and the record named", auditTamper},
	{"Backup -> restore gives identical data; a corrupted backup is refused", backupRestore},
	{"/metrics is valid Prometheus exposition; /readyz passes", observability},
	{"The operator's dashboard renders, with the orders route in its table", dashboardRenders},
}

// The demo's customer; its email and phone must never be found in clear.
const (
	demoEmail = "ann.lee@example.com"
	demoPhone = "+44 20 7946 0958"
	phoneTail = "79460958"
)

func customers(e *env) ([]string, error) {
	r, err := e.expect(http.StatusCreated, "POST", "/v1/customers", adminKey, map[string]string{
		"name": "Ann Lee", "email": demoEmail, "phone": demoPhone, "company": "Acme Ltd"})
	if err != nil {
		return nil, err
	}
	var c struct{ ID, Email, Phone string }
	if err := r.decode(&c); err != nil {
		return nil, err
	}
	e.customerID = c.ID
	r, err = e.expect(http.StatusOK, "GET", "/v1/customers/"+c.ID, salesKey, nil)
	if err != nil {
		return nil, err
	}
	var masked struct{ Email, Phone string }
	if err := r.decode(&masked); err != nil {
		return nil, err
	}
	if masked.Email == demoEmail || masked.Phone == demoPhone {
		return nil, fmt.Errorf("sales role saw PII in clear: %s", r.body)
	}
	r, err = e.expect(http.StatusOK, "GET", "/v1/customers?email=ANN.LEE@Example.com", adminKey, nil)
	if err != nil {
		return nil, err
	}
	var found struct{ Customers []struct{ ID, Email string } }
	if err := r.decode(&found); err != nil {
		return nil, err
	}
	if len(found.Customers) != 1 || found.Customers[0].ID != c.ID || found.Customers[0].Email != demoEmail {
		return nil, fmt.Errorf("blind-index search found %+v", found.Customers)
	}
	return []string{
		"created " + c.ID,
		fmt.Sprintf("sales role sees %s / %s; admin sees the clear values", masked.Email, masked.Phone),
		"search by ANN.LEE@Example.com (normalised) found exactly this customer",
	}, nil
}

func (e *env) orderBody(qty int) map[string]any {
	return map[string]any{"customer_id": e.customerID, "currency": "EUR",
		"items": []map[string]any{{"sku": "SEAT-PRO", "qty": qty, "unit_price_cents": 4900}}}
}

func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// placeOrder posts an order and retries, as a careful client does, with the
// same key on 409, 429 and 5xx (up to 6 times). It returns the final reply
// and how many retries it needed.
func (e *env) placeOrder(key string, qty int) (reply, int, error) {
	for attempt := 0; ; attempt++ {
		r, err := e.call("POST", "/v1/orders", salesKey, e.orderBody(qty), "Idempotency-Key", key)
		if err != nil || !(r.status == 409 || r.status == 429 || r.status >= 500) || attempt == 6 {
			return r, attempt, err
		}
		time.Sleep(time.Duration(25<<attempt) * time.Millisecond)
	}
}

func retriedOrders(e *env) ([]string, error) {
	chargesBefore, _ := e.gw.Stats()
	key := newKey()
	var ids []string
	for range 3 {
		r, err := e.expect(http.StatusCreated, "POST", "/v1/orders", salesKey, e.orderBody(2), "Idempotency-Key", key)
		if err != nil {
			return nil, err
		}
		var o struct{ ID string }
		if err := r.decode(&o); err != nil {
			return nil, err
		}
		ids = append(ids, o.ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		return nil, fmt.Errorf("three sends of one key created orders %v", ids)
	}
	// Twenty concurrent duplicates of a new key: one runs, the rest get 409
	// or the replay.
	key2 := newKey()
	var mu sync.Mutex
	statuses := map[int]int{}
	created := map[string]bool{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r, err := e.call("POST", "/v1/orders", salesKey, e.orderBody(1), "Idempotency-Key", key2)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[0]++
				return
			}
			statuses[r.status]++
			var o struct{ ID string }
			if r.status == http.StatusCreated && r.decode(&o) == nil {
				created[o.ID] = true
			}
		})
	}
	wg.Wait()
	if len(created) != 1 || statuses[http.StatusCreated]+statuses[http.StatusConflict] != 20 {
		return nil, fmt.Errorf("20 concurrent duplicates: statuses %v, distinct orders %d", statuses, len(created))
	}
	if _, err := e.expect(http.StatusUnprocessableEntity, "POST", "/v1/orders", salesKey, e.orderBody(9), "Idempotency-Key", key); err != nil {
		return nil, fmt.Errorf("same key, different body: %w", err)
	}
	chargesAfter, _ := e.gw.Stats()
	if chargesAfter-chargesBefore != 2 {
		return nil, fmt.Errorf("the gateway charged %d times for 2 orders", chargesAfter-chargesBefore)
	}
	return []string{
		"same key sent 3 times -> one order " + ids[0] + " (then replayed)",
		fmt.Sprintf("20 concurrent duplicates -> %d x 201 (one order), %d x 409 in progress", statuses[201], statuses[409]),
		"same key with a different body -> 422",
		"the gateway charged exactly twice",
	}, nil
}

func flakyGateway(e *env) ([]string, error) {
	if err := e.gw.SetChaos(gateway.Chaos{FailureRate: 0.3}); err != nil {
		return nil, err
	}
	defer e.gw.SetChaos(gateway.Chaos{})
	chargesBefore, callsBefore := e.gw.Stats()
	const n = 40
	failures, clientRetries := 0, 0
	for i := range n {
		r, retries, err := e.placeOrder(newKey(), 1+i%3)
		clientRetries += retries
		if err != nil || r.status != http.StatusCreated {
			failures++
		}
	}
	charges, calls := e.gw.Stats()
	charges -= chargesBefore
	calls -= callsBefore
	evidence := []string{
		fmt.Sprintf("%d orders: %d failed; the API made %d gateway calls for %d charges (its retries absorbed the failures)", n, failures, calls, charges),
		fmt.Sprintf("client-side retries with the same key: %d", clientRetries),
	}
	if failures > 0 {
		return evidence, fmt.Errorf("%d of %d orders failed", failures, n)
	}
	if charges != n {
		return evidence, fmt.Errorf("%d charges for %d orders", charges, n)
	}
	return evidence, nil
}

func gatewayOutage(e *env) ([]string, error) {
	if err := e.gw.SetChaos(gateway.Chaos{Down: true}); err != nil {
		return nil, err
	}
	defer e.gw.SetChaos(gateway.Chaos{})
	tripped := false
	for i := 0; i < 30 && !tripped; i++ {
		r, err := e.call("POST", "/v1/orders", salesKey, e.orderBody(1), "Idempotency-Key", newKey())
		if err != nil {
			return nil, err
		}
		tripped = r.status == http.StatusServiceUnavailable && bytes.Contains(r.body, []byte("payment_unavailable"))
	}
	if !tripped {
		return nil, errors.New("the breaker did not open after 30 orders against a dead gateway")
	}
	// Now that it is open, an order is refused without calling the gateway.
	_, callsBefore := e.gw.Stats()
	t0 := time.Now()
	r, err := e.expect(http.StatusServiceUnavailable, "POST", "/v1/orders", salesKey, e.orderBody(1), "Idempotency-Key", newKey())
	if err != nil {
		return nil, err
	}
	fast, retryAfter := time.Since(t0), r.header.Get("Retry-After")
	if _, callsAfter := e.gw.Stats(); callsAfter != callsBefore {
		return nil, fmt.Errorf("the open breaker let %d calls through to the gateway", callsAfter-callsBefore)
	}
	evidence := []string{fmt.Sprintf("breaker open: an order is refused in %s with 503, Retry-After: %s, and the gateway sees no call", fast.Round(time.Microsecond), retryAfter)}
	if err := e.gw.SetChaos(gateway.Chaos{}); err != nil {
		return evidence, err
	}
	t0 = time.Now()
	for time.Since(t0) < 20*time.Second {
		r, err := e.call("POST", "/v1/orders", salesKey, e.orderBody(1), "Idempotency-Key", newKey())
		if err != nil {
			return evidence, err
		}
		if r.status == http.StatusCreated {
			return append(evidence, fmt.Sprintf("gateway back: orders succeed again after %s (half-open probe closed the breaker)", time.Since(t0).Round(time.Millisecond))), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return evidence, errors.New("the breaker did not close within 20s of the gateway's recovery")
}

// noPIIAtRest greps the raw bytes of every file in the data directory (the
// database and its WAL, the audit log, the backups) and the service's logs.
func noPIIAtRest(e *env) ([]string, error) {
	if _, err := e.expect(http.StatusCreated, "POST", "/v1/admin/backups", adminKey, nil); err != nil {
		return nil, err
	}
	needles := [][]byte{[]byte(demoEmail), []byte(demoPhone), []byte(phoneTail)}
	files, bytesRead := 0, 0
	var leaks []string
	err := filepath.WalkDir(e.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		bytesRead += len(b)
		for _, n := range needles {
			if bytes.Contains(b, n) {
				leaks = append(leaks, fmt.Sprintf("%s contains %q", path, n))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	logs := e.logs.String()
	for _, n := range needles {
		if strings.Contains(logs, string(n)) {
			leaks = append(leaks, fmt.Sprintf("the logs contain %q", n))
		}
	}
	evidence := []string{fmt.Sprintf("searched %d files (%d bytes) and %d bytes of logs for the email and phone", files, bytesRead, len(logs))}
	if len(leaks) > 0 {
		return append(evidence, leaks...), errors.New("PII found in clear")
	}
	return evidence, nil
}

func auditTamper(e *env) ([]string, error) {
	r, err := e.expect(http.StatusOK, "GET", "/v1/audit/verify", adminKey, nil)
	if err != nil {
		return nil, err
	}
	var ok struct {
		Report audit.VerifyReport `json:"report"`
	}
	if err := r.decode(&ok); err != nil {
		return nil, err
	}
	evidence := []string{fmt.Sprintf("GET /v1/audit/verify: %d records, chain intact", ok.Report.Records)}
	// Edit one byte of a copy of the log and verify the copy offline.
	copyDir, err := os.MkdirTemp("", "salesapi-audit-copy-")
	if err != nil {
		return evidence, err
	}
	defer os.RemoveAll(copyDir)
	if err := os.CopyFS(copyDir, os.DirFS(filepath.Join(e.dataDir, "audit"))); err != nil {
		return evidence, err
	}
	segs, _ := filepath.Glob(filepath.Join(copyDir, "*.jsonl"))
	if len(segs) == 0 {
		return evidence, errors.New("no audit segment found")
	}
	seg := segs[0]
	b, err := os.ReadFile(seg)
	if err != nil {
		return evidence, err
	}
	i := bytes.Index(b, []byte(`"customer.create"`))
	if i < 0 {
		return evidence, errors.New("no customer.create record to tamper with")
	}
	b[i+1] = 'K' // "customer.create" -> "Kustomer.create"
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		return evidence, err
	}
	pub, err := os.ReadFile(filepath.Join(e.dataDir, "audit-signing.pub"))
	if err != nil {
		return evidence, err
	}
	key, err := audit.ParsePublicKey(pub)
	if err != nil {
		return evidence, err
	}
	_, verr := audit.Verify(e.ctx, audit.DirSource(copyDir), audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key}, Live: true, FromStart: true})
	var ve *audit.VerifyError
	if !errors.As(verr, &ve) {
		return evidence, fmt.Errorf("verify of the edited copy did not fail with a VerifyError: %v", verr)
	}
	return append(evidence, fmt.Sprintf("after editing one byte: verify fails at record %d (%s): %s", ve.Seq, ve.Where, ve.Reason)), nil
}

func observability(e *env) ([]string, error) {
	r, err := e.expect(http.StatusOK, "GET", "/metrics", "", nil)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"keel_breaker_", "keel_retry_", "keel_idempotency_", "keel_cache_", "http_server_request_duration_seconds"} {
		if !bytes.Contains(r.body, []byte(name)) {
			return nil, fmt.Errorf("/metrics has no %s series", name)
		}
	}
	evidence := []string{fmt.Sprintf("/metrics: %d bytes, with breaker, retry, idempotency, cache and HTTP server series", len(r.body))}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.CommandContext(e.ctx, promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(r.body)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return evidence, fmt.Errorf("promtool check metrics: %v: %s", err, out)
		}
		evidence = append(evidence, "promtool check metrics: clean")
	} else {
		evidence = append(evidence, "promtool not installed: exposition check skipped (apt-get install prometheus)")
	}
	if _, err := e.expect(http.StatusOK, "GET", "/readyz", "", nil); err != nil {
		return evidence, err
	}
	return append(evidence, "/readyz: pass"), nil
}
