package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Treatment is how a sensitive value is written.
type Treatment int

const (
	// Mask replaces the value with "****", keeping its last KeepLast
	// characters ("****4242").
	Mask Treatment = iota
	// HMAC replaces the value with "hmac-sha256:" and the hex HMAC-SHA256 of
	// it under Config.HMACKey. Someone holding the key can still find a known
	// value (HMACValue computes the search term); no one can read it back.
	HMAC
)

// SensitiveField names a key of Event.Before, After or Metadata (at any
// depth, in nested maps and lists) whose value is never written in clear.
type SensitiveField struct {
	Name      string
	Treatment Treatment
	// KeepLast is how many trailing characters Mask keeps; at most 4.
	KeepLast int
}

// HMACValue is how a value of a field with Treatment HMAC is written: an
// investigator holding the key computes it for a known value and searches
// the log for the result. Strings are taken as they are, other values as
// their JSON encoding.
func HMACValue(key []byte, v any) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(valueText(v)))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

func valueText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func maskValue(v any, keepLast int) string {
	s := valueText(v)
	if keepLast <= 0 || utf8.RuneCountInString(s) <= 2*keepLast {
		return "****"
	}
	r := []rune(s)
	return "****" + string(r[len(r)-keepLast:])
}

// redactor applies the configured treatments.
type redactor struct {
	fields map[string]SensitiveField
	key    []byte
}

func (r *redactor) value(f SensitiveField, v any) string {
	if f.Treatment == HMAC {
		return HMACValue(r.key, v)
	}
	return maskValue(v, f.KeepLast)
}

// apply returns m with sensitive values replaced; m itself is not changed
// (it belongs to the caller), and is returned as is when nothing matches.
func (r *redactor) apply(m map[string]any) map[string]any {
	out, _ := r.applyMap(m)
	return out
}

func (r *redactor) applyMap(m map[string]any) (map[string]any, bool) {
	if len(r.fields) == 0 || m == nil {
		return m, false
	}
	out := m
	copied := false
	for k, v := range m {
		var nv any
		changed := false
		if f, ok := r.fields[k]; ok {
			nv, changed = r.value(f, v), true
		} else {
			nv, changed = r.nested(v)
		}
		if changed {
			if !copied {
				out = make(map[string]any, len(m))
				for k2, v2 := range m {
					out[k2] = v2
				}
				copied = true
			}
			out[k] = nv
		}
	}
	return out, copied
}

func (r *redactor) nested(v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return r.applyMap(v)
	case []any:
		var out []any
		for i, e := range v {
			if ne, ok := r.nested(e); ok {
				if out == nil {
					out = append([]any(nil), v...)
				}
				out[i] = ne
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

func newRedactor(fields []SensitiveField, key []byte) (*redactor, error) {
	r := &redactor{fields: make(map[string]SensitiveField, len(fields)), key: key}
	needKey := false
	for i, f := range fields {
		if strings.TrimSpace(f.Name) == "" {
			return nil, fmt.Errorf("audit: Config.Sensitive[%d].Name is empty", i)
		}
		if f.Treatment != Mask && f.Treatment != HMAC {
			return nil, fmt.Errorf("audit: Config.Sensitive[%d].Treatment must be Mask or HMAC, got %d", i, f.Treatment)
		}
		if f.KeepLast < 0 || f.KeepLast > 4 {
			return nil, fmt.Errorf("audit: Config.Sensitive[%d].KeepLast must be in [0,4], got %d", i, f.KeepLast)
		}
		needKey = needKey || f.Treatment == HMAC
		r.fields[f.Name] = f
	}
	if needKey && len(key) < 32 {
		return nil, fmt.Errorf("audit: Config.HMACKey must be at least 32 bytes when a field uses HMAC, got %d", len(key))
	}
	return r, nil
}
