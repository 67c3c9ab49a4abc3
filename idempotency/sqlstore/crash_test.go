package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/sqlstore"
)

// The crash test proves the claim CompleteTx exists for: a process killed
// (SIGKILL, no deferred code runs) anywhere between the side effect and the
// completion of its record cannot leave an order without its record, and
// the retry creates the order exactly once.
//
// The parent test starts a child process (this test binary, re-executed
// into TestCrashChild) that reserves the key, begins a transaction, inserts
// the order, completes the record in the same transaction and commits. The
// child stops at the given stage and says so; the parent kills it there.

const (
	crashEnv     = "KEEL_SQLSTORE_CRASH_CHILD"
	crashScope   = `"acme" POST /orders`
	crashKey     = "order-key-1"
	crashLease   = 1500 * time.Millisecond
	crashAmount  = 4200
	stageInsert  = "after-insert"   // order row written, record not completed
	stageDone    = "after-complete" // CompleteTx ran, not committed
	stageCommit  = "after-commit"   // committed
	readyMessage = "CRASH-CHILD-READY"
)

const ordersDDL = `CREATE TABLE orders (idem_key VARCHAR(255) NOT NULL, amount INT NOT NULL)`

func TestCrashBetweenSideEffectAndCompletion(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("running as the crash child")
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, stage := range []string{stageInsert, stageDone, stageCommit} {
				t.Run(stage, func(t *testing.T) {
					db, driver, dsn := b.open(t)
					store, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: b.dialect})
					require.NoError(t, err)
					ctx := context.Background()
					require.NoError(t, store.Migrate(ctx))
					_, err = db.ExecContext(ctx, ordersDDL)
					require.NoError(t, err)

					killChildAt(t, b.dialect, driver, dsn, stage)

					orders, completed := countOrdersAndRecords(t, db)
					assert.Equal(t, orders, completed, "an order exists exactly when its record is completed")
					if stage == stageCommit {
						require.Equal(t, 1, orders, "the committed order survives the crash")
						res, err := store.Reserve(ctx, reserveRequest("retry-token"))
						require.NoError(t, err)
						require.Equal(t, idempotency.Replay, res.Decision, "the retry replays the stored outcome")
						assert.Equal(t, fmt.Sprintf(`{"amount":%d}`, crashAmount), string(res.Outcome.Body))
						return
					}
					require.Zero(t, orders, "nothing committed: no order")

					// The key stays reserved until the dead holder's lease ends
					// on the database's clock; then the retry takes over.
					lease := awaitTakeover(t, store)
					createOrder(t, db, store, b.dialect, lease, "")
					orders, completed = countOrdersAndRecords(t, db)
					assert.Equal(t, 1, orders, "the retry created the order once")
					assert.Equal(t, 1, completed)
				})
			}
		})
	}
}

// TestCrashChild is the child process of the crash test; it does nothing in
// a normal test run.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("only runs as the child of TestCrashBetweenSideEffectAndCompletion")
	}
	parts := strings.SplitN(spec, "|", 4) // dialect|driver|stage|dsn
	require.Len(t, parts, 4)
	var dialect sqlstore.Dialect
	for _, b := range backends {
		if b.name == parts[0] {
			dialect = b.dialect
		}
	}
	db, err := sql.Open(parts[1], parts[3])
	require.NoError(t, err)
	store, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: dialect})
	require.NoError(t, err)
	res, err := store.Reserve(context.Background(), reserveRequest("child-token"))
	require.NoError(t, err)
	require.Equal(t, idempotency.Proceed, res.Decision)
	lease := idempotency.Lease{Scope: crashScope, Key: crashKey, Token: "child-token"}
	createOrder(t, db, store, dialect, lease, parts[2])
}

// createOrder is the handler's transaction: the side effect and the
// completion of its record commit together. With stopAt set it announces
// the stage and waits to be killed there.
func createOrder(t *testing.T, db *sql.DB, store *sqlstore.Store, dialect sqlstore.Dialect, lease idempotency.Lease, stopAt string) {
	ctx := context.Background()
	stop := func(stage string) {
		if stage == stopAt {
			fmt.Println(readyMessage)
			time.Sleep(time.Minute) // killed here; exits on its own if the parent died
			os.Exit(3)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insertOrder(dialect), crashKey, crashAmount)
	require.NoError(t, err)
	stop(stageInsert)
	require.NoError(t, store.CompleteTx(ctx, tx, lease, idempotency.Outcome{
		Status: 201, Body: fmt.Appendf(nil, `{"amount":%d}`, crashAmount),
	}))
	stop(stageDone)
	require.NoError(t, tx.Commit())
	stop(stageCommit)
}

func insertOrder(dialect sqlstore.Dialect) string {
	if dialect == sqlstore.Postgres {
		return "INSERT INTO orders (idem_key, amount) VALUES ($1, $2)"
	}
	return "INSERT INTO orders (idem_key, amount) VALUES (?, ?)"
}

func reserveRequest(token string) idempotency.ReserveRequest {
	return idempotency.ReserveRequest{
		Scope: crashScope, Key: crashKey, Fingerprint: []byte("fp"), Token: token,
		Lease: crashLease, TTL: time.Hour,
	}
}

func killChildAt(t *testing.T, dialect sqlstore.Dialect, driver, dsn, stage string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dialect.String()+"|"+driver+"|"+stage+"|"+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(out)
	ready := false
	var seen []string
	for lines.Scan() {
		if lines.Text() == readyMessage {
			ready = true
			break
		}
		seen = append(seen, lines.Text())
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no deferred code, no rollback by the client
	_ = cmd.Wait()
	require.True(t, ready, "the child never reached %s; its output:\n%s", stage, strings.Join(seen, "\n"))
}

// awaitTakeover retries the reservation until the dead holder's lease ends.
// The lease is judged by the database's clock, so the test polls rather
// than sleeping a fixed time.
func awaitTakeover(t *testing.T, store *sqlstore.Store) idempotency.Lease {
	t.Helper()
	deadline := time.Now().Add(crashLease + 10*time.Second)
	for {
		res, err := store.Reserve(context.Background(), reserveRequest("retry-token"))
		require.NoError(t, err)
		if res.Decision == idempotency.Proceed {
			return idempotency.Lease{Scope: crashScope, Key: crashKey, Token: "retry-token"}
		}
		require.Equal(t, idempotency.InProgress, res.Decision, "the dead holder's record is pending, never completed")
		require.True(t, time.Now().Before(deadline), "the lease never ended")
		time.Sleep(100 * time.Millisecond)
	}
}

func countOrdersAndRecords(t *testing.T, db *sql.DB) (orders, completed int) {
	t.Helper()
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&orders))
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM `+sqlstore.DefaultTable+` WHERE state = 2`).Scan(&completed))
	return orders, completed
}
