package app

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keel-go/keel/audit"
)

// record writes an audit event for the request's principal. If it cannot be
// written the request fails (503): the API refuses what it cannot audit.
// It reports whether the handler may answer.
func (a *App) record(w http.ResponseWriter, r *http.Request, e audit.Event) bool {
	p := principalOf(r)
	e.Actor = audit.Actor{ID: p.ID, Type: "api_key", IP: clientIP(r), UserAgent: r.UserAgent()}
	if e.Metadata == nil {
		e.Metadata = map[string]any{}
	}
	e.Metadata["role"] = string(p.Role)
	if err := a.audit.Log(r.Context(), e); err != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "audit log failed", "action", e.Action, "err", err)
		unavailable(w, "audit_unavailable", "the change could not be audited", time.Second)
		return false
	}
	return true
}

// recordDenied audits a refused request; its failure is logged, not
// answered: the request is refused either way.
func (a *App) recordDenied(r *http.Request, actorID, reason string) {
	e := audit.Event{Action: "http.request", Outcome: audit.Denied, Reason: reason,
		Actor:    audit.Actor{ID: actorID, Type: "api_key", IP: clientIP(r), UserAgent: r.UserAgent()},
		Resource: audit.Resource{Type: "route", ID: r.Method + " " + routeOf(r)}}
	if err := a.audit.Log(r.Context(), e); err != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "audit log failed", "action", e.Action, "err", err)
	}
}

// auditQuery is GET /v1/audit?actor=&resource=type[:id]&action=&outcome=&from=&to=&limit=
// streaming matching events as a JSON array.
func (a *App) auditQuery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := audit.Filter{ActorID: q.Get("actor"), Action: q.Get("action"), Outcome: audit.Outcome(q.Get("outcome")), Limit: 1000}
	f.ResourceType, f.ResourceID, _ = strings.Cut(q.Get("resource"), ":")
	var v validation
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
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
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
		if n == 0 {
			_, _ = w.Write([]byte("["))
		} else {
			_, _ = w.Write([]byte(","))
		}
		_ = enc.Encode(rec)
		n++
	}
	if n == 0 {
		_, _ = w.Write([]byte("["))
	}
	_, _ = w.Write([]byte("]\n"))
}

// auditVerify is GET /v1/audit/verify: the whole log's hash chain and signed
// checkpoints, checked while the service keeps writing.
func (a *App) auditVerify(w http.ResponseWriter, r *http.Request) {
	rep, err := audit.Verify(r.Context(), audit.DirSource(a.auditDir), audit.VerifyOptions{
		PublicKeys: []ed25519.PublicKey{a.keys.auditSign.Public().(ed25519.PublicKey)}, Live: true, FromStart: true,
	})
	out := map[string]any{"ok": err == nil, "report": rep}
	if err != nil {
		out["error"] = err.Error()
		var ve *audit.VerifyError
		if errors.As(err, &ve) {
			out["first_bad_record"] = map[string]any{"seq": ve.Seq, "where": ve.Where, "reason": ve.Reason}
		}
		writeJSON(w, http.StatusConflict, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
