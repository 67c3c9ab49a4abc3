package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// shape lists the members an object of a record may hold, each with the
// shape of its own value when that is an object of known members (nil: any
// value, e.g. before, after and metadata, whose keys are the caller's).
type shape map[string]shape

var recordShape = shape{
	"v": nil, "seq": nil, "kind": nil, "time": nil, "log": nil, "prev": nil,
	"actor": {"id": nil, "type": nil, "ip": nil, "user_agent": nil}, "action": nil,
	"resource": {"type": nil, "id": nil}, "outcome": nil, "reason": nil, "tenant": nil,
	"request_id": nil, "trace_id": nil, "span_id": nil, "before": nil, "after": nil, "metadata": nil,
	"checkpoint": {"reason": nil, "key_id": nil, "sig": nil},
	"gap":        {"dropped": nil, "cause": nil},
	"recovery":   {"segment": nil, "offset": nil, "discarded_bytes": nil, "discarded_sha256": nil},
	"rollback":   {"witnessed_log": nil, "witnessed_seq": nil, "witnessed_hash": nil, "last_seq": nil, "reason": nil},
}

// checkMembers refuses a record body whose fixed-shape objects (the record
// itself, actor, resource, checkpoint, gap, recovery, rollback) hold a
// member not spelled exactly as docs/FORMATS.md spells it, or one member
// twice. encoding/json alone would match names case-insensitively and let a
// later duplicate win, so that two readers of one line could disagree on
// its seq.
func checkMembers(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are checked, not converted: 1E+400 is valid JSON
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%w: a record is a JSON object", ErrMalformed)
	}
	return checkObject(dec, recordShape, "the record")
}

func checkObject(dec *json.Decoder, sh shape, what string) error {
	seen := make(map[string]bool, len(sh))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		name, _ := tok.(string)
		sub, known := sh[name]
		switch {
		case !known:
			return fmt.Errorf("%w: %s has unknown member %q (member names are exact)", ErrMalformed, what, name)
		case seen[name]:
			return fmt.Errorf("%w: %s has member %q twice", ErrMalformed, what, name)
		}
		seen[name] = true
		tok, err = dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch {
		case sub != nil && tok == json.Delim('{'):
			if err := checkObject(dec, sub, "member "+name); err != nil {
				return err
			}
		case tok == json.Delim('{') || tok == json.Delim('['):
			if err := skipNested(dec); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // the closing brace
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// skipNested reads the rest of an object or array whose opening token was
// just read.
func skipNested(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}
