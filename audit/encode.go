package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// eventWire is the event part of a record body, in canonical member order.
type eventWire struct {
	Actor     *Actor         `json:"actor,omitempty"`
	Action    string         `json:"action"`
	Resource  *Resource      `json:"resource,omitempty"`
	Outcome   Outcome        `json:"outcome"`
	Reason    string         `json:"reason,omitempty"`
	Tenant    string         `json:"tenant,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	TraceID   string         `json:"trace_id,omitempty"`
	SpanID    string         `json:"span_id,omitempty"`
	Before    map[string]any `json:"before,omitempty"`
	After     map[string]any `json:"after,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// eventPayload encodes the event members of a record as a JSON object. It
// runs in the caller of Log, so that the single writer goroutine only has to
// add the chain header and hash.
func eventPayload(e *Event) ([]byte, error) {
	w := eventWire{Action: e.Action, Outcome: e.Outcome, Reason: e.Reason, Tenant: e.Tenant,
		RequestID: e.RequestID, TraceID: e.TraceID, SpanID: e.SpanID,
		Before: e.Before, After: e.After, Metadata: e.Metadata}
	if e.Actor != (Actor{}) {
		w.Actor = &e.Actor
	}
	if e.Resource != (Resource{}) {
		w.Resource = &e.Resource
	}
	b, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return b, nil
}

func kindPayload(member string, v any) []byte {
	b, err := json.Marshal(map[string]any{member: v})
	if err != nil {
		// The checkpoint, gap and recovery structs hold only strings and
		// integers, which always encode.
		panic("audit: encode " + member + ": " + err.Error())
	}
	return b
}

// formatTime is the canonical time encoding: RFC 3339, UTC, nanoseconds
// with trailing zeros removed.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// seal builds r.Line and r.Hash: the canonical body is the chain header
// {"v","seq","kind","time","log","prev"} (v is always formatVersion) followed by the members of payload
// (a JSON object); the line is the body with a last "hash" member holding
// the hex SHA-256 of the body.
func seal(r *Record, timeText string, payload []byte) {
	b := make([]byte, 0, 160+len(payload)+hashSuffixLen)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, formatVersion, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"kind":"`...)
	b = append(b, r.Kind...)
	b = append(b, `","time":"`...)
	b = append(b, timeText...)
	b = append(b, `","log":"`...)
	b = append(b, r.LogID...)
	b = append(b, `","prev":"`...)
	b = append(b, r.Prev...)
	b = append(b, '"')
	if len(payload) > 2 {
		b = append(b, ',')
		b = append(b, payload[1:]...)
	} else {
		b = append(b, '}')
	}
	sum := sha256.Sum256(b)
	b = b[:len(b)-1]
	b = append(b, `,"hash":"`...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, `"}`...)
	r.Hash = string(b[len(b)-66 : len(b)-2])
	r.Line = b
	r.Version, r.timeText = formatVersion, timeText
}
