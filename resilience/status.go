package resilience

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/retry"
)

// Class is what a response means to the pipeline that sent the request.
type Class uint8

const (
	// Answer is the server's answer, success or not (200, 404, 422 …): the
	// pipeline returns it as a success, and nothing is repeated.
	Answer Class = iota
	// Retryable is a failure that another attempt may fix (503, 429 …): the
	// pipeline sees a *StatusError, which a retry repeats (after the
	// response's Retry-After) and a breaker counts.
	Retryable
	// Failed is a failure that another attempt will not fix (500, 501 …): the
	// pipeline sees a *StatusError marked retry.Permanent, which a breaker
	// counts and a retry does not repeat.
	Failed
)

// DefaultClassify is TransportConfig.Classify's default:
//
//   - 429, 502, 503 and 504 are Retryable;
//   - 409 to a request that carries an Idempotency-Key is Retryable: the
//     server (Keel's idempotency middleware, Stripe) is still running an
//     earlier attempt with the same key, and a later attempt will get its
//     stored answer;
//   - any other 5xx is Failed;
//   - everything else is an Answer.
func DefaultClassify(req *http.Request, resp *http.Response) Class {
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusBadGateway,
		code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return Retryable
	case code == http.StatusConflict && req.Header.Get(idempotencyHeader) != "":
		return Retryable
	case code >= 500:
		return Failed
	}
	return Answer
}

// ErrKeyInProgress is matched (errors.Is) by the *StatusError of a 409
// answered to a request with an Idempotency-Key: the server is still running
// another attempt with the same key.
var ErrKeyInProgress = errors.New("resilience: the Idempotency-Key is in use by an attempt still running")

// StatusError is the error an attempt returns to the pipeline for a response
// classified Retryable or Failed. Transport hands the response itself to the
// caller when it is the last one, as an http.RoundTripper must; the error is
// for the pipeline's policies, and for errors.Is and errors.As on the way.
type StatusError struct {
	// Response is the attempt's response. Its body is closed when the
	// pipeline discards it for another attempt.
	Response *http.Response
	keyed    bool
}

// Error names the status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("resilience: the server answered %s", e.Response.Status)
}

// RetryAfter is the response's Retry-After (delta-seconds or HTTP-date), or
// zero: Keel's retry waits at least this long before the next attempt.
func (e *StatusError) RetryAfter() time.Duration {
	d, err := retry.ParseRetryAfter(e.Response.Header.Get("Retry-After"), time.Now())
	if err != nil {
		return 0
	}
	return d
}

// Is makes a 409 to a keyed request match ErrKeyInProgress.
func (e *StatusError) Is(target error) bool {
	return target == ErrKeyInProgress && e.keyed && e.Response.StatusCode == http.StatusConflict
}

// BreakerClassifier is a breaker.Classifier for the breaker of a pipeline
// behind a Transport: breaker.DefaultClassifier, except that ErrKeyInProgress
// is Ignored. That 409 says nothing of the server's health: a hedged attempt
// of a keyed request meets it whenever the first attempt reached the server.
func BreakerClassifier(err error) breaker.Outcome {
	if errors.Is(err, ErrKeyInProgress) {
		return breaker.Ignored
	}
	return breaker.DefaultClassifier(err)
}
