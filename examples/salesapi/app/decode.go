package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxBodyBytes bounds every request body; larger bodies are answered 413.
const MaxBodyBytes = 1 << 20

// decodeJSON reads exactly one JSON object into dst, refusing unknown
// fields, trailing data and bodies over MaxBodyBytes. On failure it has
// already answered the request and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		problem(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes))
		return false
	}
	problem(w, http.StatusBadRequest, CodeMalformed, "malformed JSON: "+err.Error())
	return false
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
