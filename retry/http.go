package retry

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ClassifyHTTP is a Classifier for calls that return an *http.Response:
//
//   - 429, 502, 503 and 504 retry, with the response's Retry-After (both the
//     delta-seconds and the HTTP-date forms) as a floor for the next delay;
//   - any other 4xx stops, as do 5xx codes not listed above (500, 501, …):
//     they describe the request, and repeating it will not change them;
//   - 1xx, 2xx and 3xx are a success;
//   - a transport error (connection refused or reset, EOF, a dial or read
//     timeout) retries, except a certificate verification error, which stops.
//
// A response the loop discards for a retry has its body drained (up to 64 KiB)
// and closed, so its connection returns to the pool. A request with a body
// must be rebuilt inside the attempt function, since a sent body is consumed.
func ClassifyHTTP(result any, err error) Decision {
	if err != nil {
		var unknownAuthority x509.UnknownAuthorityError
		var hostname x509.HostnameError
		var invalid x509.CertificateInvalidError
		if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) {
			return Decision{Verdict: Stop}
		}
		return Decision{Verdict: Neutral}
	}
	resp, ok := result.(*http.Response)
	if !ok || resp == nil {
		return Decision{Verdict: Neutral}
	}
	return ClassifyStatus(resp.StatusCode, resp.Header)
}

// ClassifyStatus applies ClassifyHTTP's rules to an HTTP status code and its
// response header, for callers that have the two without an *http.Response
// (a client library that returns the status in its error, a breaker
// classifier, a queue message with an HTTP status): 429, 502, 503 and 504
// retry, with header's Retry-After (delta-seconds or HTTP-date) as a floor
// for the next delay; every other code stops — a 2xx as a success, a 4xx or
// another 5xx because repeating the request will not change it. header may
// be nil.
func ClassifyStatus(code int, header http.Header) Decision {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		after, _ := ParseRetryAfter(header.Get("Retry-After"), time.Now())
		return Decision{Verdict: Retry, After: after}
	}
	return Decision{Verdict: Stop}
}

// ErrInvalidRetryAfter is wrapped by ParseRetryAfter's errors.
var ErrInvalidRetryAfter = errors.New("retry: invalid Retry-After")

// ParseRetryAfter decodes a Retry-After header value (RFC 9110 §10.2.3):
// either delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00
// GMT", and the two obsolete date forms), the latter taken relative to now.
// A date in the past gives 0. An empty value gives 0 and no error. Values too
// large for a time.Duration saturate at the largest one; callers cap the result
// (Config.MaxRetryAfter). Malformed input gives an error wrapping
// ErrInvalidRetryAfter.
func ParseRetryAfter(value string, now time.Time) (time.Duration, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, nil
	}
	if isDigits(v) {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), nil // only overflow reaches here: the value is all digits
		}
		return time.Duration(secs) * time.Second, nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is neither delta-seconds nor an HTTP-date", ErrInvalidRetryAfter, truncate(v, 64))
	}
	if d := t.Sub(now); d > 0 {
		return d, nil
	}
	return 0, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// discardHTTPBody drains and closes the body of a response the loop drops, so
// that its connection is reused rather than leaked.
func discardHTTPBody(result any) {
	resp, ok := result.(*http.Response)
	if !ok || resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}
