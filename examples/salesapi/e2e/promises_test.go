package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"

	"github.com/keel-go/keel/internal/testenv"
)

// Promise 1: retried POSTs with one key create one order and one charge;
// concurrent duplicates get 409 or the replay; a different body with the same
// key gets 422 — on SQLite, and with two instances sharing PostgreSQL and Redis.
func TestPromise1RetriedOrdersCreateOneOrderAndOneCharge(t *testing.T) {
	t.Parallel()
	for i, mk := range backends() {
		t.Run(backendName(i), func(t *testing.T) {
			b := mk(t)
			a := start(t, t.TempDir(), b)
			instances := []*instance{a}
			if b.dbURL != "" { // a second instance sharing the database and Redis, with the same keys
				dirB := t.TempDir()
				key, err := os.ReadFile(filepath.Join(a.DataDir, "keyring.json"))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dirB, "keyring.json"), key, 0o600))
				instances = append(instances, start(t, dirB, b))
			}
			cust := a.createCustomer("promise1-"+b.name+"@example.com", "+1 555 0100 01")

			// Sequential retries of one request, alternating instances.
			key := newKey(t)
			var ids []string
			for n := range 4 {
				r := instances[n%len(instances)].call("POST", "/v1/orders", salesKey, orderBody(cust, 2), "Idempotency-Key", key)
				require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
				ids = append(ids, r.JSON(t)["id"].(string))
				if n > 0 {
					assert.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
				}
			}
			for _, id := range ids {
				assert.Equal(t, ids[0], id, "every retry returns the first order")
			}

			// 40 concurrent duplicates of a new key, spread over the instances.
			key2 := newKey(t)
			var mu sync.Mutex
			statuses, created := map[int]int{}, map[string]bool{}
			var wg sync.WaitGroup
			for n := range 40 {
				in := instances[n%len(instances)]
				wg.Go(func() { // no require off the test goroutine: errors are counted as status 0
					r, err := tryCall(in, "POST", "/v1/orders", orderBody(cust, 1), key2)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						statuses[0]++
						return
					}
					statuses[r.Status]++
					if r.Status == http.StatusCreated {
						var o struct{ ID string }
						if json.Unmarshal(r.Body, &o) == nil {
							created[o.ID] = true
						}
					}
				})
			}
			wg.Wait()
			assert.Equal(t, 40, statuses[http.StatusCreated]+statuses[http.StatusConflict], "only 201 and 409: %v", statuses)
			assert.Len(t, created, 1, "one order for the key: %v", created)

			// Same key, different body.
			r := a.call("POST", "/v1/orders", salesKey, orderBody(cust, 7), "Idempotency-Key", key)
			assert.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
			assert.Contains(t, string(r.Body), "idempotency_key_mismatch")

			charges := 0
			for _, in := range instances {
				c, _ := in.gatewayStats()
				charges += c
			}
			assert.Equal(t, 2, charges, "two keys, two charges")
		})
	}
}

// Promise 2: a gateway failing 30 % of the time is absorbed; a dead gateway
// opens the breaker (orders fail fast, the gateway sees no more calls); when
// it returns, the breaker closes by itself.
func TestPromise2BreakerAndRetriesAroundTheGateway(t *testing.T) {
	t.Parallel()
	// The breaker stays open 10s, so the fail-fast checks below run well
	// inside the break however slow the machine.
	in := start(t, t.TempDir(), sqliteBackend, "-gateway-failure-rate", "0.3", "-breaker-open", "10s")
	cust := in.createCustomer("promise2@example.com", "+1 555 0100 02")
	failures := 0
	for n := range 30 {
		r := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1+n%3), "Idempotency-Key", newKey(t))
		if r.Status != http.StatusCreated {
			failures++
			t.Logf("order %d: %d %s", n, r.Status, r.Body)
		}
	}
	charges, calls := in.gatewayStats()
	// An order fails only when all 5 attempts do: p = 0.3^5 = 0.243 %. Of
	// 30 orders, 2 or more fail in 0.25 % of runs (CI saw it), 4 or more in
	// under one run in a million; 600 orders against the race build gave
	// 2 failures (0.33 %). So the bound is 3, not 1.
	assert.LessOrEqual(t, failures, 3, "with 30%% gateway failures clients see (almost) none")
	assert.Equal(t, 30-failures, charges)
	assert.Greater(t, calls, charges, "retries absorbed gateway failures")

	in.chaos(`{"failure_rate": 0, "down": true}`)
	var open response
	for range 40 {
		open = in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t))
		if bytes.Contains(open.Body, []byte("payment_unavailable")) {
			break
		}
	}
	require.Equal(t, http.StatusServiceUnavailable, open.Status, "%s", open.Body)
	require.Contains(t, string(open.Body), "payment_unavailable", "the breaker opened")
	assert.NotEmpty(t, open.Header.Get("Retry-After"))
	_, callsWhenOpen := in.gatewayStats()
	for range 5 {
		r := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t))
		assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	}
	_, callsAfter := in.gatewayStats()
	assert.Equal(t, callsWhenOpen, callsAfter, "an open breaker fails fast: the gateway sees no calls")

	in.chaos(`{"down": false}`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t))
		if r.Status == http.StatusCreated {
			break
		}
		require.True(t, time.Now().Before(deadline), "the breaker did not close within 30s: %d %s", r.Status, r.Body)
		time.Sleep(250 * time.Millisecond)
	}
}

// Promise 3: the customer's email and phone appear in neither the database
// (SQLite: its files; PostgreSQL: a plain pg_dump of the whole database), the
// audit log, the backups, nor the process's logs.
func TestPromise3NoPIIAtRest(t *testing.T) {
	t.Parallel()
	for i, mk := range backends() {
		t.Run(backendName(i), func(t *testing.T) {
			b := mk(t)
			email, phone, digits := "pii.canary."+b.name+"@example.com", "+44 20 7946 0123", "79460123"
			dir := t.TempDir()
			in := start(t, dir, b, "-log-level", "debug")
			cust := in.createCustomer(email, phone)
			require.Equal(t, http.StatusOK, in.call("PATCH", "/v1/customers/"+cust, in.Admin, map[string]string{"company": "Renamed Ltd"}).Status)
			require.Equal(t, http.StatusCreated, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t)).Status)
			require.Equal(t, http.StatusCreated, in.call("POST", "/v1/admin/backups", in.Admin, nil).Status)
			require.Equal(t, http.StatusOK, in.call("GET", "/v1/customers?email="+email, salesKey, nil).Status)
			in.Stop()

			needles := []string{email, phone, digits}
			files := 0
			require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				files++
				for _, n := range needles {
					assert.False(t, bytes.Contains(data, []byte(n)), "%s contains %q", path, n)
				}
				return nil
			}))
			assert.GreaterOrEqual(t, files, 5, "the audit log, keys and a backup were searched")
			if b.dbURL != "" {
				dump, err := exec.Command("pg_dump", "--format=plain", "--dbname="+b.dbURL).Output()
				require.NoError(t, err, "pg_dump of the sales database")
				require.Contains(t, string(dump), "CREATE TABLE", "the dump holds the database")
				for _, n := range needles {
					assert.NotContains(t, string(dump), n, "the PostgreSQL database holds %q in clear", n)
				}
			}
			for _, n := range needles {
				assert.NotContains(t, in.Output(), n, "the process's logs")
			}
		})
	}
}

// Promise 4: the audit log verifies; editing one byte makes verify fail and
// name the record — checked with the operator's CLI, as an auditor would.
func TestPromise4AuditLogVerifiesAndTamperingIsNamed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := start(t, dir, sqliteBackend)
	cust := in.createCustomer("audit@example.com", "+1 555 0100 04")
	require.Equal(t, http.StatusOK, in.call("PATCH", "/v1/customers/"+cust, in.Admin, map[string]string{"name": "Renamed"}).Status)
	require.Equal(t, http.StatusUnauthorized, in.call("GET", "/v1/customers/"+cust, "", nil).Status)
	require.Equal(t, http.StatusForbidden, in.call("DELETE", "/v1/customers/"+cust, salesKey, nil).Status)
	r := in.call("GET", "/v1/audit/verify", in.Admin, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	q := in.call("GET", "/v1/audit?outcome=denied", in.Admin, nil)
	require.Equal(t, http.StatusOK, q.Status)
	var denied []map[string]any
	require.NoError(t, json.Unmarshal(q.Body, &denied))
	assert.Len(t, denied, 2, "the 401 and the 403 are audited")
	in.Stop()

	verify := func() (string, error) {
		cmd := exec.Command(keelCLI, "audit", "verify", "-dir", filepath.Join(dir, "audit"), "-pubkey", filepath.Join(dir, "audit-signing.pub"), "-from-start")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := verify()
	require.NoError(t, err, "keel audit verify: %s", out)

	segs, _ := filepath.Glob(filepath.Join(dir, "audit", "*.jsonl"))
	require.NotEmpty(t, segs)
	data, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	i := bytes.Index(data, []byte(`"customer.update"`))
	require.Positive(t, i)
	data[i+1] = 'K'
	require.NoError(t, os.WriteFile(segs[0], data, 0o600))
	out, err = verify()
	require.Error(t, err, "verify must fail on an edited log")
	assert.Regexp(t, `record \d+`, out, "the failure names the record")
	assert.Contains(t, out, filepath.Base(segs[0]))
}

// Promise 5: backup -> wipe -> restore gives back identical data; a
// corrupted backup is refused. Restores use the operator's CLI with the
// service's own backup.json.
func TestPromise5BackupWipeRestore(t *testing.T) {
	t.Parallel()
	for i, mk := range backends() {
		t.Run(backendName(i), func(t *testing.T) {
			b := mk(t)
			dir := t.TempDir()
			in := start(t, dir, b)
			cust := in.createCustomer("backup."+b.name+"@example.com", "+1 555 0100 05")
			for range 5 {
				require.Equal(t, http.StatusCreated, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 3), "Idempotency-Key", newKey(t)).Status)
			}
			lic := in.call("POST", "/v1/customers/"+cust+"/licenses", in.Admin, map[string]any{"product": "Keel Pro", "seats": 25, "expires_at": time.Now().Add(365 * 24 * time.Hour).Format(time.RFC3339)})
			require.Equal(t, http.StatusCreated, lic.Status, "%s", lic.Body)
			r := in.call("POST", "/v1/admin/backups", in.Admin, nil)
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			backupID := r.JSON(t)["id"].(string)
			in.Stop()

			db := openDB(t, b, dir)
			before := fingerprint(t, db, b)
			wipe(t, db, b, dir)
			keel := func(args ...string) (string, error) {
				cmd := exec.Command(keelCLI, append([]string{"backup"}, args...)...)
				cmd.Env = append(os.Environ(), "KEEL_BACKUP_SOURCE="+b.dbURL) // PostgreSQL: the DSN never goes in argv
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			cfg := filepath.Join(dir, "backup.json")
			out, err := keel("restore", "-config", cfg, "-id", backupID)
			require.NoError(t, err, "keel backup restore: %s", out)
			db = openDB(t, b, dir)
			assert.Equal(t, before, fingerprint(t, db, b), "restored data is identical")

			again := start(t, dir, b)
			got := again.call("GET", "/v1/customers/"+cust, again.Admin, nil)
			require.Equal(t, http.StatusOK, got.Status)
			assert.Equal(t, "backup."+b.name+"@example.com", got.JSON(t)["email"], "the restored row decrypts with the service's keys")
			again.Stop()

			// Corruption: one flipped byte in the stored object.
			obj := filepath.Join(dir, "backups", backupID+".backup")
			data, err := os.ReadFile(obj)
			require.NoError(t, err, "the stored object is named <id>.backup")
			data[len(data)/2] ^= 0x01
			require.NoError(t, os.WriteFile(obj, data, 0o600))
			out, err = keel("verify", "-config", cfg, "-id", backupID)
			require.Error(t, err, "verify of a corrupted backup: %s", out)
			assert.Contains(t, strings.ToLower(out), "corrupt")
			out, err = keel("restore", "-config", cfg, "-id", backupID, "-force")
			require.Error(t, err, "restore of a corrupted backup must be refused: %s", out)
			assert.Equal(t, before, fingerprint(t, openDB(t, b, dir), b), "a refused restore changes nothing")
		})
	}
}

// openDB opens the backend's database for inspection.
func openDB(t *testing.T, b backend, dir string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(dir, "sales.db")+"?mode=ro"
	if b.dbURL != "" {
		driver, dsn = "pgx", b.dbURL
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// wipe destroys the sales data: the SQLite files, or every table in PostgreSQL.
func wipe(t *testing.T, db *sql.DB, b backend, dir string) {
	t.Helper()
	if b.dbURL == "" {
		require.NoError(t, db.Close())
		for _, suffix := range []string{"", "-wal", "-shm"} {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "sales.db")+suffix))
		}
		return
	}
	_, err := db.Exec("DROP SCHEMA public CASCADE")
	require.NoError(t, err)
	_, err = db.Exec("CREATE SCHEMA public")
	require.NoError(t, err)
}

// Promise 6: /metrics passes promtool check metrics; /readyz turns to fail
// when the database is gone (PostgreSQL: the database is dropped under it).
func TestPromise6MetricsAndReadiness(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend)
	cust := in.createCustomer("metrics@example.com", "+1 555 0100 06")
	require.Equal(t, http.StatusCreated, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t)).Status)
	m := in.call("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, m.Status)
	for _, name := range []string{"http_server_request_duration_seconds_bucket", "keel_breaker_", "keel_idempotency_", "keel_cache_", "keel_audit_"} {
		assert.Contains(t, string(m.Body), name)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil && testenv.InCI() {
		t.Fatal("promtool is required when CI=true (Debian package prometheus)")
	}
	if err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(m.Body)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "promtool check metrics: %s", out)
	} else {
		t.Log("promtool not installed: exposition check skipped (apt-get install prometheus)")
	}
	assert.Equal(t, http.StatusOK, in.call("GET", "/readyz", "", nil).Status)
	assert.Equal(t, http.StatusOK, in.call("GET", "/livez", "", nil).Status)

	t.Run("postgres database gone", func(t *testing.T) {
		pg := testenv.PostgresDatabase(t)
		b := backend{name: "postgres", dbURL: pg.DSN}
		p := start(t, t.TempDir(), b)
		require.Equal(t, http.StatusOK, p.call("GET", "/readyz", "", nil).Status)
		admin, err := sql.Open("pgx", strings.Replace(pg.DSN, "/"+pg.Database, "/postgres", 1))
		require.NoError(t, err)
		defer admin.Close()
		_, err = admin.Exec("DROP DATABASE " + pg.Database + " WITH (FORCE)")
		require.NoError(t, err)
		r := p.call("GET", "/readyz", "", nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Body)
		assert.Contains(t, string(r.Body), `"fail"`)
		assert.Equal(t, http.StatusOK, p.call("GET", "/livez", "", nil).Status, "liveness does not depend on the database")
	})
}

// Promise 7: kill -9 during an order storm, restart, retry every
// unacknowledged request with its key: no order is lost or doubled — with
// idempotency records in the database (in the order's transaction) and in
// Redis (completed after the order commits; the order row's unique
// idempotency key closes the window between the two).
func TestPromise7KillDuringOrderStorm(t *testing.T) {
	t.Parallel()
	for _, mk := range stormBackends() {
		t.Run(mk.name, func(t *testing.T) {
			b := mk.make(t)
			dir := t.TempDir()
			in := start(t, dir, b, "-gateway-latency", "5ms", "-idempotency-lease", "10s")
			cust := in.createCustomer("storm-"+b.name+"@example.com", "+1 555 0100 07")
			const clients, perClient = 8, 25
			keys := make([]string, 0, clients*perClient)
			for range clients * perClient {
				keys = append(keys, newKey(t))
			}
			acked := make([]string, len(keys)) // order id per key, when a 201 was seen
			var wg sync.WaitGroup
			killed := make(chan struct{})
			var once sync.Once
			var ackCount int64
			var mu sync.Mutex
			for c := range clients {
				wg.Go(func() {
					for k := c * perClient; k < (c+1)*perClient; k++ {
						select {
						case <-killed:
							return
						default:
						}
						r, err := tryCall(in, "POST", "/v1/orders", orderBody(cust, 1), keys[k])
						if err != nil {
							continue
						}
						if r.Status == http.StatusCreated {
							var o struct{ ID string }
							_ = json.Unmarshal(r.Body, &o)
							mu.Lock()
							acked[k] = o.ID
							ackCount++
							n := ackCount
							mu.Unlock()
							if n == int64(len(keys)/3) {
								once.Do(func() { in.Kill(); close(killed) })
							}
						}
					}
				})
			}
			wg.Wait()
			once.Do(func() { in.Kill(); close(killed) })

			again := start(t, dir, b, "-idempotency-lease", "10s")
			ids := map[string]string{}
			for k, key := range keys {
				var id string
				for attempt := 0; ; attempt++ {
					r := again.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", key)
					if r.Status == http.StatusCreated {
						id = r.JSON(t)["id"].(string)
						break
					}
					require.Less(t, attempt, 300, "key %s: %d %s", key, r.Status, r.Body)
					time.Sleep(100 * time.Millisecond) // a lease held by the killed process runs out within 10s
				}
				if acked[k] != "" {
					assert.Equal(t, acked[k], id, "an acknowledged order is replayed, not redone")
				}
				ids[key] = id
			}
			distinct := map[string]bool{}
			for _, id := range ids {
				distinct[id] = true
			}
			assert.Len(t, distinct, len(keys), "one order per key")
			payments := map[string]bool{}
			for _, id := range ids {
				r := again.call("GET", "/v1/orders/"+id, salesKey, nil)
				require.Equal(t, http.StatusOK, r.Status, "order %s exists", id)
				payments[r.JSON(t)["payment_id"].(string)] = true
			}
			// One charge per key across the crash: the gateway keeps its
			// charges in the data directory, so a key charged before the kill
			// and retried after it is answered with the same charge.
			assert.Len(t, payments, len(keys), "every order has its own payment")
			charges, _ := again.gatewayStats()
			assert.Equal(t, len(keys), charges, "the gateway charged each key once, before and after the kill together")
			report := again.call("GET", "/v1/reports/sales?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", again.Admin, nil)
			require.Equal(t, http.StatusOK, report.Status)
			var rep struct{ Sales []struct{ Orders int } }
			require.NoError(t, json.Unmarshal(report.Body, &rep))
			require.Len(t, rep.Sales, 1)
			assert.Equal(t, len(keys), rep.Sales[0].Orders, "no order lost or doubled")
			t.Logf("%d of %d orders were acknowledged before the kill", ackCount, len(keys))
		})
	}
}

// tryCall is call that reports transport errors (a killed server) instead
// of failing the test.
func tryCall(in *instance, method, path string, body any, key string) (response, error) {
	buf, _ := json.Marshal(body)
	req, err := http.NewRequest(method, in.URL+path, bytes.NewReader(buf))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+salesKey)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b.Bytes()}, err
}

// fingerprint renders every row of every sales table, in order.
func fingerprint(t *testing.T, db *sql.DB, b backend) string {
	t.Helper()
	hex := "hex(%s)"
	if b.dbURL != "" {
		hex = "encode(%s, 'hex')"
	}
	h := func(col string) string { return fmt.Sprintf(hex, col) }
	var out strings.Builder
	for _, q := range []string{
		"SELECT id, name, " + h("email_enc") + ", email_bidx, " + h("phone_enc") + ", company, created_at, updated_at FROM customers ORDER BY id",
		"SELECT id, customer_id, product, seats, expires_at, created_at FROM licenses ORDER BY id",
		"SELECT id, customer_id, currency, total_cents, status, payment_id, created_at FROM orders ORDER BY id",
		"SELECT order_id, line, sku, qty, unit_price_cents FROM order_items ORDER BY order_id, line",
	} {
		rows, err := db.Query(q)
		require.NoError(t, err, q)
		cols, err := rows.Columns()
		require.NoError(t, err)
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			require.NoError(t, rows.Scan(ptrs...))
			fmt.Fprintln(&out, vals...)
			n++
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		out.WriteString("|\n")
		require.Positive(t, n, "every table has rows: %s", q)
	}
	return out.String()
}
