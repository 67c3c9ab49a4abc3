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
	Time      time.Time
	Actor     Actor
	Action    string // "license.update", "customer.export" …
	Resource  Resource
	Outcome   Outcome
	Reason    string // why a failure or denial happened
	Tenant    string
	RequestID string
	TraceID   string
	SpanID    string
	// Before and After hold the changed values. Fields named in
	// Config.Sensitive are masked or replaced by a keyed HMAC before the event
	// is written, at any depth of these maps and of Metadata.
	Before   map[string]any
	After    map[string]any
	Metadata map[string]any
}
