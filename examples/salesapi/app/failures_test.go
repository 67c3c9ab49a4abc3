package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// A PostgreSQL connection terminated inside a transaction (what a reset, a
// failover or pg_terminate_backend does) is classified as the database being
// unavailable — on the statement that meets it and on the commit after —
// while a wrong statement or a constraint violation is not.
func TestDatabaseUnavailableClassifiesATerminatedConnection(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	ctx := context.Background()
	_, err := pg.DB.ExecContext(ctx, `CREATE TABLE t (id INT PRIMARY KEY)`)
	require.NoError(t, err)

	tx, err := pg.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	var pid int
	require.NoError(t, tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	_, err = tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
	require.NoError(t, err)

	admin, err := sql.Open("pgx", pg.DSN)
	require.NoError(t, err)
	defer admin.Close()
	var terminated bool
	require.NoError(t, admin.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&terminated))
	require.True(t, terminated)

	_, execErr := tx.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
	require.Error(t, execErr)
	assert.True(t, databaseUnavailable(execErr), "statement on a terminated connection: %v (%T)", execErr, execErr)
	commitErr := tx.Commit()
	require.Error(t, commitErr)
	assert.True(t, databaseUnavailable(commitErr), "commit on a terminated connection: %v (%T)", commitErr, commitErr)

	_, syntaxErr := pg.DB.ExecContext(ctx, `SELEKT 1`)
	require.Error(t, syntaxErr)
	assert.False(t, databaseUnavailable(syntaxErr), "a wrong statement is a bug, not an outage: %v", syntaxErr)
	_, err = pg.DB.ExecContext(ctx, `INSERT INTO t VALUES (3)`)
	require.NoError(t, err)
	_, dupErr := pg.DB.ExecContext(ctx, `INSERT INTO t VALUES (3)`)
	require.Error(t, dupErr)
	assert.False(t, databaseUnavailable(dupErr), "%v", dupErr)
	assert.False(t, databaseUnavailable(errors.New("store: something else")))
	assert.False(t, databaseUnavailable(sql.ErrNoRows))
}

// What each class of failure is answered with, and at which level it is
// logged: a client that left is 499 at INFO, a database outage 503 with
// Retry-After at WARN, anything else 500 at ERROR.
func TestInternalFailuresAreAnsweredForWhatTheyAre(t *testing.T) {
	pgGone := fmt.Errorf("store: commit: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name       string
		ctx        context.Context
		err        error
		status     int
		code       string
		retryAfter bool
		level      string
	}{
		{"client closed", cancelled, context.Canceled, 499, CodeClientClosed, false, "INFO"},
		{"database unavailable", context.Background(), pgGone, http.StatusServiceUnavailable, CodeDatabaseUnavailable, true, "WARN"},
		{"a bug", context.Background(), errors.New("store: get order: unexpected"), http.StatusInternalServerError, CodeInternal, false, "ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := &App{cfg: Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}}
			w := httptest.NewRecorder()
			a.internal(w, httptest.NewRequest("POST", "/v1/orders", nil).WithContext(tc.ctx), "create order", tc.err)
			assert.Equal(t, tc.status, w.Code)
			var p Problem
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
			assert.Equal(t, tc.code, p.Code)
			assert.Equal(t, tc.retryAfter, w.Header().Get("Retry-After") != "", "Retry-After: %q", w.Header().Get("Retry-After"))
			var line struct{ Level string }
			require.NoError(t, json.Unmarshal(logs.Bytes(), &line), "%s", logs.String())
			assert.Equal(t, tc.level, line.Level)
		})
	}
}
