package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBodyBytes bounds every request body; larger bodies are answered 413.
const MaxBodyBytes = 1 << 20

// decodeJSON reads exactly one JSON object into dst, refusing unknown
// fields, trailing data and bodies over MaxBodyBytes. Member names must
// match dst's exactly and appear once per object: encoding/json alone
// matches them case-insensitively and lets a later duplicate win, so
// {"name":"a","Name":"b"} would set the name to "b" behind whatever checked
// the first. Strings must be valid UTF-8 (encoding/json would store U+FFFD
// in place of the bad bytes) and times RFC 3339: both are answered 422
// naming the field. On failure it has already answered the request and
// returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	_, ok := readJSON(w, r, dst, MaxBodyBytes)
	return ok
}

// readJSON is decodeJSON with a body limit, returning the body read.
func readJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		err = checkMembers(body, reflect.TypeOf(dst))
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(dst)
		if err == nil {
			if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
				err = errors.New("trailing data after the JSON object")
			}
		}
	}
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		problem(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
		return nil, false
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		validation{*fe}.answer(w)
		return nil, false
	}
	problem(w, http.StatusBadRequest, CodeMalformed, "malformed JSON: "+err.Error())
	return nil, false
}

// Error makes a FieldError found while decoding an error, answered 422.
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// maxJSONDepth bounds the nesting of a request body.
const maxJSONDepth = 32

// checkMembers walks the JSON tokens of body along the type it will be
// decoded into and refuses, naming them: a member that appears twice in one
// object, two members that differ only in case, and a member of a struct
// whose name is not exactly one of its fields' JSON names (a case variant
// that encoding/json would accept). Syntax errors are left to the decoder.
func checkMembers(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := walkJSON(dec, body, t, "", 0)
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil // the decoder reports it
	}
	return err
}

var timeType = reflect.TypeFor[time.Time]()

func walkJSON(dec *json.Decoder, body []byte, t reflect.Type, path string, depth int) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	field := path
	if field == "" {
		field = "the body"
	}
	if s, ok := tok.(string); ok {
		if !sameText(body[start:dec.InputOffset()], s) {
			return &FieldError{Field: field, Message: "must be valid UTF-8 (no invalid bytes or unpaired surrogate escapes)"}
		}
	}
	if t == timeType && tok != nil {
		s, ok := tok.(string)
		if _, err := time.Parse(time.RFC3339, s); !ok || err != nil {
			return &FieldError{Field: field, Message: "must be an RFC 3339 time string, such as \"2027-12-31T00:00:00Z\""}
		}
		return nil
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	if d == '[' {
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, body, elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	// An object: into a struct (known members), a map or anything else.
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]string{} // folded name → as sent
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		where := "the body"
		if path != "" {
			where = path
		}
		if !sameText(body[start:dec.InputOffset()], name) {
			return fmt.Errorf("a member name in %s is not valid UTF-8", where)
		}
		// Into a struct, encoding/json folds case, so case variants are one
		// member; into a map, keys are exact, so only repeats are.
		folded := name
		if fields != nil {
			folded = strings.ToLower(name)
		}
		if prev, dup := seen[folded]; dup {
			if prev == name {
				return fmt.Errorf("member %q appears twice in %s", name, where)
			}
			return fmt.Errorf("members %q and %q of %s differ only in case (member names are case-sensitive)", prev, name, where)
		}
		seen[folded] = name
		var child reflect.Type
		switch {
		case fields != nil:
			ft, known := fields[name]
			if !known {
				return fmt.Errorf("unknown member %q in %s (member names are case-sensitive)", name, where)
			}
			child = ft
		case t != nil && t.Kind() == reflect.Map:
			child = t.Elem()
		}
		if err := walkJSON(dec, body, child, joinPath(path, name), depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// sameText reports whether the string s decoded from the raw JSON text raw
// (one string token, with the separators before it) holds every character
// the client sent: encoding/json replaces invalid UTF-8 and unpaired
// surrogate escapes with U+FFFD, so s then has more U+FFFD than raw spells.
func sameText(raw []byte, s string) bool {
	if !utf8.Valid(raw) {
		return false
	}
	got := strings.Count(s, "\uFFFD")
	if got == 0 {
		return true
	}
	sent := bytes.Count(raw, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(raw), []byte(`\ufffd`))
	return got <= sent
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonFields maps the exact JSON member names of t's exported fields to
// their types, as encoding/json names them (the json tag's name, else the
// Go name; "-" skipped).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// validation collects field errors; an empty one is valid.
type validation []FieldError

func (v *validation) check(ok bool, field, message string) {
	if !ok {
		*v = append(*v, FieldError{Field: field, Message: message})
	}
}

// answer writes 422 naming every invalid field and returns true when there
// were any.
func (v validation) answer(w http.ResponseWriter) bool {
	if len(v) == 0 {
		return false
	}
	names := make([]string, len(v))
	for i, f := range v {
		names[i] = f.Field
	}
	writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: CodeInvalid,
		Detail: "invalid fields: " + strings.Join(names, ", "), Fields: v})
	return true
}
