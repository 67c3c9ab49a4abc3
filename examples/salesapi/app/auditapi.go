package app

import (
	"context"
	"fmt"
	"strconv"

	"crypto/ed25519"
	"errors"
	"github.com/keel-go/keel/examples/salesapi/store"
	"github.com/keel-go/keel/metrics/requestctx"
	"net/http"
	"strings"
	"time"

	"github.com/keel-go/keel/audit"
)

// errAudit marks a mutation refused because its audit event could not be
// written: the API does not make changes it cannot audit.
var errAudit = errors.New("salesapi: audit log unavailable")

// auditContext detaches an audit write from the client's connection (a
// client that hangs up must not cut its own audit record short) and bounds it.
func auditContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
}

// auditEvent writes e for the request's principal, durably. Handlers call it
// inside the mutation's transaction, before the commit, so that a change is
// never committed without its audit record.
func (a *App) auditEvent(r *http.Request, e audit.Event) error {
	p := principalOf(r)
	e.Actor = audit.Actor{ID: p.ID, Type: "api_key", IP: clientIP(r), UserAgent: r.UserAgent()}
	// The id the response echoes and the logs carry.
	e.RequestID = requestctx.ID(r.Context())
	if e.Metadata == nil {
		e.Metadata = map[string]any{}
	}
	e.Metadata["role"] = string(p.Role)
	if a.audit == nil {
		return fmt.Errorf("%w: %v", errAudit, a.auditBlocked)
	}
	ctx, cancel := auditContext(r)
	defer cancel()
	if err := a.audit.Log(ctx, e); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "audit log failed", "action", e.Action, "err", err)
		return fmt.Errorf("%w: %v", errAudit, err)
	}
	return nil
}

// mutationFailed answers the error of a mutation.
func (a *App) mutationFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case clientGone(r):
		a.clientClosed(w, r, what, err)
	case errors.Is(err, errAudit) && a.auditBlocked != nil:
		unavailable(w, "audit_unavailable", "the audit log is behind its witness (see GET /v1/audit/verify), so no change can be audited or made until an operator accepts the loss", time.Minute)
	case errors.Is(err, errAudit):
		unavailable(w, "audit_unavailable", "the change could not be audited, so it was not made", time.Second)
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, CodeNotFound, "no "+what+" with this id")
	case errors.Is(err, store.ErrHasOrders):
		problem(w, http.StatusConflict, CodeHasOrders, "the customer has orders, which are kept for accounting")
	default:
		a.internal(w, r, what, err)
	}
}

// recordDenied audits a refused request; its failure is logged, not
// answered: the request is refused either way.
func (a *App) recordDenied(r *http.Request, actorID, reason string) {
	e := audit.Event{Action: "http.request", Outcome: audit.Denied, Reason: reason,
		Actor:    audit.Actor{ID: actorID, Type: "api_key", IP: clientIP(r), UserAgent: r.UserAgent()},
		Resource: audit.Resource{Type: "route", ID: routeOf(r)}}
	if a.audit == nil {
		return // refused anyway; the log is blocked behind its witness
	}
	ctx, cancel := auditContext(r)
	defer cancel()
	if err := a.audit.Log(ctx, e); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "audit log failed", "action", e.Action, "err", err)
	}
}

// auditQuery is GET /v1/audit?actor=&resource=type[:id]&action=&outcome=&from=&to=&limit=
// streaming matching events, oldest first, as a JSON array of at most limit
// (default 1000, at most 100000) stored record lines, one per line; ask
// again with from= after the last one's time for more.
func (a *App) auditQuery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := audit.Filter{ActorID: q.Get("actor"), Action: q.Get("action"), Outcome: audit.Outcome(q.Get("outcome")), Limit: 1000}
	f.ResourceType, f.ResourceID, _ = strings.Cut(q.Get("resource"), ":")
	var v validation
	switch f.Outcome {
	case "", audit.Success, audit.Failure, audit.Denied:
	default:
		v.check(false, "outcome", "must be success, failure or denied")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		v.check(err == nil && n >= 1 && n <= 100_000, "limit", "must be 1 to 100000")
		f.Limit = n
	}
	for name, dst := range map[string]*time.Time{"from": &f.Since, "to": &f.Until} {
		if s := q.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			v.check(err == nil, name, "must be an RFC 3339 time")
			*dst = t
		}
	}
	if v.answer(w) {
		return
	}
	// Each element is a stored record line as it is, one per line of the
	// response: the format `keel audit query` prints (docs/FORMATS.md), whose
	// hash a client can check. Written as read, never gathered.
	w.Header().Set("Content-Type", "application/json")
	n := 0
	for rec, err := range audit.Query(r.Context(), audit.DirSource(a.auditDir), f) {
		if err != nil {
			if n == 0 {
				a.internal(w, r, "audit query", err)
				return
			}
			a.cfg.Logger.ErrorContext(r.Context(), "audit query cut short", "err", err)
			break
		}
		sep := ",\n"
		if n == 0 {
			sep = "[\n"
		}
		if _, err := w.Write(append([]byte(sep), rec.Line...)); err != nil {
			return // the client went away
		}
		n++
	}
	if n == 0 {
		_, _ = w.Write([]byte("["))
	}
	_, _ = w.Write([]byte("\n]\n"))
}

// auditVerify is GET /v1/audit/verify: the whole log's hash chain and signed
// checkpoints, checked while the service keeps writing, and its witness's
// head: a log cut back behind it is reported with the missing records.
func (a *App) auditVerify(w http.ResponseWriter, r *http.Request) {
	rep, err := audit.Verify(r.Context(), audit.DirSource(a.auditDir), audit.VerifyOptions{
		PublicKeys: []ed25519.PublicKey{a.keys.auditSign.Public().(ed25519.PublicKey)}, Live: true, FromStart: true,
		Witness: a.auditWitness,
	})
	out := map[string]any{"ok": err == nil, "report": rep}
	if err != nil {
		out["error"] = err.Error()
		var ve *audit.VerifyError
		if errors.As(err, &ve) {
			out["first_bad_record"] = map[string]any{"seq": ve.Seq, "where": ve.Where, "reason": ve.Reason}
		}
		if errors.Is(err, audit.ErrRollback) && rep.LastSeq < rep.Witness.Seq {
			out["rollback"] = map[string]any{"witnessed_log": rep.Witness.LogID, "witnessed_seq": rep.Witness.Seq, "witnessed_hash": rep.Witness.Hash,
				"last_seq": rep.LastSeq, "missing_from": rep.LastSeq + 1, "missing_to": rep.Witness.Seq}
		}
		writeJSON(w, http.StatusConflict, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
