package audit

import (
	"time"
)

// Outcome says how an audited action ended.
type Outcome string

// The outcomes an event may carry. An empty Outcome is rejected by Log.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
)

func (o Outcome) valid() bool { return o == Success || o == Failure || o == Denied }

// Actor is who performed the action (OCSF actor.user, ECS user.* / source.ip /
// user_agent.original).
type Actor struct {
	ID        string `json:"id,omitempty"`
	Type      string `json:"type,omitempty"` // "user", "service", "api_key" …
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Resource is what the action was performed on (OCSF resources[], ECS
// the entity fields).
type Resource struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
}

// Event is one audited action: who did what to which resource, with what
// outcome. Only Action and Outcome are required; Time defaults to the moment
// Log is called, and TraceID/SpanID are taken from the context given to Log
// when they are empty.
type Event struct {
	// The JSON names are those of the stored record (docs/FORMATS.md), so
	// that an Event encodes as the event members of its log line.
	Time      time.Time `json:"time,omitzero"`
	Actor     Actor     `json:"actor,omitzero"`
	Action    string    `json:"action"` // "license.update", "customer.export" …
	Resource  Resource  `json:"resource,omitzero"`
	Outcome   Outcome   `json:"outcome"`
	Reason    string    `json:"reason,omitempty"` // why a failure or denial happened
	Tenant    string    `json:"tenant,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
	SpanID    string    `json:"span_id,omitempty"`
	// Before and After hold the changed values. Fields named in
	// Config.Sensitive are masked or replaced by a keyed HMAC before the event
	// is written, at any depth of these maps and of Metadata.
	Before   map[string]any `json:"before,omitempty"`
	After    map[string]any `json:"after,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}
