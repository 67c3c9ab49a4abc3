package health

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of the draft's JSON responses.
const ContentType = "application/health+json"

// Response is the body of /livez and /readyz: the IETF draft "Health Check
// Response Format for HTTP APIs" (draft-inadarei-api-health-check).
type Response struct {
	Status      Status                   `json:"status"`
	Version     string                   `json:"version,omitempty"`
	ReleaseID   string                   `json:"releaseId,omitempty"`
	ServiceID   string                   `json:"serviceId,omitempty"`
	Description string                   `json:"description,omitempty"`
	Output      string                   `json:"output,omitempty"`
	Checks      map[string][]CheckDetail `json:"checks,omitempty"`
}

// CheckDetail is one entry of the draft's "checks" object, keyed
// "<check>:responseTime": its observedValue is the run's latency.
type CheckDetail struct {
	ComponentType string  `json:"componentType"`
	ObservedValue float64 `json:"observedValue"`
	ObservedUnit  string  `json:"observedUnit"`
	Status        Status  `json:"status"`
	Time          string  `json:"time"`
	// Output is set only when the check did not pass; its text is the error
	// with Config.ShowDetails, a generic reason otherwise.
	Output string `json:"output,omitempty"`
}

// Livez serves the liveness checks; with none registered it answers pass as
// long as the process serves HTTP.
func (r *Registry) Livez() http.Handler { return r.handler(Liveness) }

// Readyz serves the readiness checks.
func (r *Registry) Readyz() http.Handler { return r.handler(Readiness) }

// handler answers GET and HEAD with the draft's JSON, or with Kubernetes'
// plain-text form when the query has "verbose". Repeated ?exclude=<name>
// skips checks, as Kubernetes' endpoints allow. Mounted with a {check}
// wildcard ("GET /readyz/{check}"), it serves that one check (404 for an
// unknown name). Status 200 for pass and warn, 503 for fail.
func (r *Registry) handler(kind Kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := req.URL.Query()
		var rep Report
		if name := req.PathValue("check"); name != "" {
			// Mounted as "GET /readyz/{check}": one check, as Kubernetes
			// serves /readyz/<name>.
			if !r.has(kind, name) {
				http.Error(w, "health: no "+kind.String()+" check named "+strconv.Quote(name), http.StatusNotFound)
				return
			}
			rep = r.run(req.Context(), kind, func(n string) bool { return n == name })
		} else {
			rep = r.Run(req.Context(), kind, q["exclude"]...)
		}
		code := http.StatusOK
		if rep.Status == StatusFail {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		details := r.cfg.ShowDetails || r.cfg.ShowDetailsTo != nil && r.cfg.ShowDetailsTo(req)
		if details {
			// An answer for one caller must not be served to another.
			w.Header().Set("Vary", "Authorization, Cookie")
		}
		if q.Has("verbose") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(r.text(rep, details)))
			return
		}
		body, err := json.Marshal(r.response(rep, details))
		if err != nil { // unreachable: every field is a string or a finite number
			http.Error(w, "health: encoding response", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.WriteHeader(code)
		_, _ = w.Write(body)
	})
}

// Response renders rep as the draft's JSON document, with details as
// Config.ShowDetails says.
func (r *Registry) Response(rep Report) Response { return r.response(rep, r.cfg.ShowDetails) }

func (r *Registry) response(rep Report, details bool) Response {
	resp := Response{
		Status: rep.Status, Version: r.cfg.Version, ReleaseID: r.cfg.ReleaseID,
		ServiceID: r.cfg.ServiceID, Description: r.cfg.Description,
	}
	if len(rep.Results) > 0 {
		resp.Checks = make(map[string][]CheckDetail, len(rep.Results))
	}
	for _, res := range rep.Results {
		d := CheckDetail{
			ComponentType: r.componentType(res.Check),
			ObservedValue: math.Round(float64(res.Duration)/float64(time.Millisecond)*1000) / 1000,
			ObservedUnit:  "ms",
			Status:        res.Status,
			Time:          res.Time.UTC().Format(time.RFC3339Nano),
		}
		if res.Status != StatusPass {
			d.Output = r.reason(res.Err, details)
		}
		resp.Checks[res.Check+":responseTime"] = []CheckDetail{d}
	}
	if rep.Status == StatusFail {
		resp.Output = rep.kind.String() + " check failed"
	}
	return resp
}

// Text renders rep as Kubernetes' ?verbose form: one line per check, then
// the verdict, with details as Config.ShowDetails says.
func (r *Registry) Text(rep Report) string { return r.text(rep, r.cfg.ShowDetails) }

func (r *Registry) text(rep Report, details bool) string {
	var b strings.Builder
	for _, res := range rep.Results {
		switch res.Status {
		case StatusPass:
			b.WriteString("[+]" + res.Check + " ok\n")
		case StatusWarn:
			b.WriteString("[!]" + res.Check + " warn: " + r.reason(res.Err, details) + "\n")
		default:
			b.WriteString("[-]" + res.Check + " failed: " + r.reason(res.Err, details) + "\n")
		}
	}
	verdict := "passed"
	if rep.Status == StatusFail {
		verdict = "failed"
	}
	b.WriteString(rep.kind.String() + " check " + verdict + "\n")
	return b.String()
}

// reason is the text shown for a check that did not pass.
func (r *Registry) reason(err error, details bool) string {
	switch {
	case err == nil:
		return "reason withheld"
	case details:
		return strings.ReplaceAll(err.Error(), "\n", " ")
	case errors.Is(err, ErrTimeout):
		return "timed out"
	case errors.Is(err, errNotYetRun):
		return "not yet checked"
	case errors.Is(err, ErrShuttingDown):
		return "shutting down"
	default:
		return "reason withheld"
	}
}

func (r *Registry) componentType(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byName[name]; ok {
		return e.check.ComponentType
	}
	if name == shutdownCheck {
		return "system"
	}
	return "component"
}
