package app

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keel-go/keel/idempotency"
)

// Failures that are not the service's fault are answered for what they are,
// so that clients and operators can tell them from a bug:
//
//   - the client closed the request (cancelled it, or half-closed its
//     connection, which net/http reads as gone) before the outcome:
//     499 client_closed_request, logged at INFO — nobody reads the answer,
//     and the idempotency key is released so that its retry runs;
//   - the database connection broke (reset, terminated by an operator,
//     server restarting, refused): 503 database_unavailable with
//     Retry-After, logged at WARN — the request changed nothing and a retry
//     with the same Idempotency-Key is safe;
//   - anything else is a 500 logged at ERROR.
const (
	CodeClientClosed        = "client_closed_request"
	CodeDatabaseUnavailable = "database_unavailable"
)

// clientGone reports whether r's client has left: its context is cancelled
// (net/http cancels it when the connection closes or the client half-closes
// it), so an error the handler met is most likely that cancellation.
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// clientClosed answers 499 to a client that left. The answer goes nowhere;
// it is for the access log, the metrics and the idempotency middleware.
func (a *App) clientClosed(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.cfg.Logger.InfoContext(r.Context(), what+": the client closed the request", slog.Any("err", err))
	problem(w, idempotency.StatusClientClosedRequest, CodeClientClosed, "the client closed the request before it completed; nothing was changed")
}

// databaseUnavailable reports whether err is the database connection
// failing (as opposed to a statement being wrong): PostgreSQL's connection
// exceptions (class 08) and shutdowns (57P01 terminated by an administrator,
// 57P02 crash, 57P03 starting up), a connection pgx or database/sql found
// closed, or the socket itself reset, refused or cut.
func databaseUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// internal answers a failure the handler cannot name: the client leaving
// (499), the database being unreachable (503), or else a 500.
func (a *App) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case clientGone(r):
		a.clientClosed(w, r, what, err)
	case databaseUnavailable(err):
		a.cfg.Logger.WarnContext(r.Context(), what+": the database is unavailable", slog.Any("err", err))
		unavailable(w, CodeDatabaseUnavailable, "the database is unavailable; nothing was changed, retry with the same Idempotency-Key", time.Second)
	default:
		a.cfg.Logger.ErrorContext(r.Context(), what+" failed", slog.Any("err", err))
		problem(w, http.StatusInternalServerError, CodeInternal, what+" failed")
	}
}
