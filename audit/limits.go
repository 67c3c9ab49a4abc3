package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// Defaults of the size limits.
const (
	// DefaultMaxFieldSize is Config.MaxFieldSize's default, in bytes.
	DefaultMaxFieldSize = 2 << 10
	// DefaultMaxEventSize is Config.MaxEventSize's default, in bytes.
	DefaultMaxEventSize = 32 << 10
)

// Bounds of the size limits.
const (
	// minFieldSize is the smallest Config.MaxFieldSize: a capped field must
	// still hold its truncation marker (a key's, with its hash, is about 60
	// bytes).
	minFieldSize = 96
	// maxEventSize is the largest Config.MaxEventSize: an event's record must
	// stay under the line size readers accept (maxLineSize), with 1 KiB left
	// for the chain's members and hash.
	maxEventSize = maxLineSize - 1024
)

// truncatedMarker ends a cut value: "…[truncated: 409600 bytes]", the
// value's whole size in bytes, so that a reader sees that it was cut and by
// how much.
func truncatedMarker(size int) string {
	return "…[truncated: " + strconv.Itoa(size) + " bytes]"
}

// truncateText returns s cut to at most max bytes, on a UTF-8 boundary,
// ending with the truncation marker; s itself when it fits.
func truncateText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cutWith(s, max, truncatedMarker(len(s)))
}

// truncateKey is truncateText for a map key: two long keys that share their
// first bytes must stay two keys, so its marker also holds the first 8
// bytes of the key's SHA-256, in hex.
func truncateKey(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return cutWith(s, max, "…[truncated: "+strconv.Itoa(len(s))+" bytes, sha256 "+hex.EncodeToString(sum[:8])+"]")
}

// cutWith keeps as much of s as fits in max bytes with marker after it.
func cutWith(s string, max int, marker string) string {
	cut := max - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// truncateEvent cuts every free-text field of e — the actor, action,
// resource, reason, tenant, request and trace ids, and every string key and
// value in Before, After and Metadata at any depth — to max bytes. e is the
// Logger's copy; the maps it shares with the caller are copied before any
// change.
func truncateEvent(e *Event, max int) {
	for _, p := range []*string{&e.Actor.ID, &e.Actor.Type, &e.Actor.IP, &e.Actor.UserAgent, &e.Action,
		&e.Resource.Type, &e.Resource.ID, &e.Reason, &e.Tenant, &e.RequestID, &e.TraceID, &e.SpanID} {
		*p = truncateText(*p, max)
	}
	e.Before, _ = truncateMap(e.Before, max)
	e.After, _ = truncateMap(e.After, max)
	e.Metadata, _ = truncateMap(e.Metadata, max)
}

// truncateMap returns m with long keys and values cut, and whether it had
// to copy m to do so.
func truncateMap(m map[string]any, max int) (map[string]any, bool) {
	var out map[string]any
	for k, v := range m {
		nk := truncateKey(k, max)
		nv, changed := truncateValue(v, max)
		if nk == k && !changed {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
			for k2, v2 := range m {
				out[k2] = v2
			}
		}
		if nk != k {
			delete(out, k)
		}
		out[nk] = nv
	}
	if out == nil {
		return m, false
	}
	return out, true
}

func truncateValue(v any, max int) (any, bool) {
	switch v := v.(type) {
	case string:
		t := truncateText(v, max)
		return t, len(t) != len(v)
	case map[string]any:
		return truncateMap(v, max)
	case map[string]string:
		var out map[string]string
		for k, s := range v {
			nk, ns := truncateKey(k, max), truncateText(s, max)
			if nk == k && ns == s {
				continue
			}
			if out == nil {
				out = make(map[string]string, len(v))
				for k2, v2 := range v {
					out[k2] = v2
				}
			}
			delete(out, k)
			out[nk] = ns
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range v {
			if ne, ok := truncateValue(e, max); ok {
				if out == nil {
					out = append([]any(nil), v...)
				}
				out[i] = ne
			}
		}
		if out != nil {
			return out, true
		}
	case []string:
		var out []string
		for i, s := range v {
			if t := truncateText(s, max); len(t) != len(s) {
				if out == nil {
					out = append([]string(nil), v...)
				}
				out[i] = t
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}
