// Package acceptenc reads an Accept-Encoding header for the handlers of
// package metrics and its subpackages, which answer gzip to the clients
// that accept it: one reading of RFC 9110 §12.5.3 for all of them.
package acceptenc

import (
	"strconv"
	"strings"
)

// Gzip applies an Accept-Encoding header as RFC 9110 §12.5.3 reads
// it (its lines joined into one list): a coding named with q=0 (or a
// malformed weight) is refused, even if named again; q may be any of its
// parameters; "*" stands for every coding the header does not name. gzip
// (or x-gzip) named with a weight above 0 gets gzip. A bare "*" does not:
// identity stays acceptable unless refused, and it is what promhttp
// answered there; gzip is sent for "*" only where identity is refused
// (identity;q=0, or *;q=0 without identity). Where nothing is acceptable
// the answer is identity, as §12.5.3 says a server should send.
func Gzip(header string) bool {
	const unnamed = -1.0
	gzipQ, identityQ, anyQ := unnamed, unnamed, unnamed
	for element := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(element, ";")
		q, ok := weight(params)
		if !ok {
			q = 0 // a malformed weight refuses: never guess a client's wish
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzipQ = lowest(gzipQ, q)
		case "identity":
			identityQ = lowest(identityQ, q)
		case "*":
			anyQ = lowest(anyQ, q)
		}
	}
	if gzipQ != unnamed {
		return gzipQ > 0
	}
	identityRefused := identityQ == 0 || identityQ == unnamed && anyQ == 0
	return anyQ > 0 && identityRefused
}

// lowest keeps the lower of two weights given one coding: a coding named
// twice, once with q=0, stays refused.
func lowest(prev, q float64) float64 {
	if prev < 0 {
		return q
	}
	return min(prev, q)
}

// weight is the q parameter among an Accept-Encoding element's parameters
// (1 when there is none); ok is false when it is not a number from 0 to 1.
func weight(params string) (q float64, ok bool) {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || !(q >= 0 && q <= 1) {
			return 0, false
		}
		return q, true
	}
	return 1, true
}
