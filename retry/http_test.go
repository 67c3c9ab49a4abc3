package retry_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/retry"
)

func response(code int, retryAfter string) *http.Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader("body"))}
}

func TestClassifyHTTP(t *testing.T) {
	tests := []struct {
		name  string
		resp  *http.Response
		err   error
		want  retry.Verdict
		after time.Duration
	}{
		{"200", response(200, ""), nil, retry.Stop, 0},
		{"304", response(304, ""), nil, retry.Stop, 0},
		{"429 delta", response(429, "7"), nil, retry.Retry, 7 * time.Second},
		{"502", response(502, ""), nil, retry.Retry, 0},
		{"503 date", response(503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)), nil, retry.Retry, time.Hour},
		{"504 bad header", response(504, "soon"), nil, retry.Retry, 0},
		{"400", response(400, ""), nil, retry.Stop, 0},
		{"404", response(404, ""), nil, retry.Stop, 0},
		{"409", response(409, ""), nil, retry.Stop, 0},
		{"500", response(500, ""), nil, retry.Stop, 0},
		{"connection refused", nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, retry.Neutral, 0},
		{"unexpected EOF", nil, io.ErrUnexpectedEOF, retry.Neutral, 0},
		{"certificate", nil, fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), retry.Stop, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := retry.ClassifyHTTP(tt.resp, tt.err)
			assert.Equal(t, tt.want, d.Verdict)
			assert.InDelta(t, float64(tt.after), float64(d.After), float64(time.Second))
		})
	}
}

// ClassifyStatus is ClassifyHTTP's status rules without a response: every
// status gives the same decision both ways, and a nil header is no
// Retry-After.
func TestClassifyStatus(t *testing.T) {
	for _, c := range []struct {
		code       int
		retryAfter string
		want       retry.Verdict
		after      time.Duration
	}{
		{200, "", retry.Stop, 0}, {204, "", retry.Stop, 0}, {304, "", retry.Stop, 0},
		{400, "", retry.Stop, 0}, {404, "", retry.Stop, 0}, {409, "", retry.Stop, 0},
		{429, "7", retry.Retry, 7 * time.Second}, {500, "", retry.Stop, 0}, {501, "", retry.Stop, 0},
		{502, "", retry.Retry, 0}, {503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), retry.Retry, time.Hour},
		{504, "soon", retry.Retry, 0},
	} {
		t.Run(strconv.Itoa(c.code), func(t *testing.T) {
			resp := response(c.code, c.retryAfter)
			d := retry.ClassifyStatus(c.code, resp.Header)
			assert.Equal(t, c.want, d.Verdict)
			assert.InDelta(t, float64(c.after), float64(d.After), float64(time.Second))
			viaResponse := retry.ClassifyHTTP(resp, nil)
			assert.Equal(t, viaResponse.Verdict, d.Verdict, "the same rules as ClassifyHTTP")
		})
	}
	assert.Equal(t, retry.Decision{Verdict: retry.Retry}, retry.ClassifyStatus(503, nil), "a nil header")
}

type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestHTTPRetryHonoursRetryAfterAndClosesDroppedBodies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, retry.Config{MaxAttempts: 4, Classifier: retry.ClassifyHTTP, Backoff: retry.Constant{Delay: 100 * time.Millisecond}})
		var bodies []*trackedBody
		codes := []struct {
			code  int
			after string
		}{{503, "2"}, {429, time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)}, {200, ""}}
		start := time.Now()
		resp, err := retry.Do(context.Background(), p, func(context.Context) (*http.Response, error) {
			c := codes[len(bodies)]
			r := response(c.code, c.after)
			body := &trackedBody{Reader: strings.NewReader("payload")}
			r.Body = body
			bodies = append(bodies, body)
			return r, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, 5*time.Second, time.Since(start), "2s from delta-seconds, then until the HTTP-date (5s after the start), not 100ms")
		assert.True(t, bodies[0].closed)
		assert.True(t, bodies[1].closed)
		assert.False(t, bodies[2].closed, "the returned response is the caller's to read")
	})
}

func TestHTTPStopsOn4xxAndRetriesTransportErrors(t *testing.T) {
	p := mustNew(t, retry.Config{MaxAttempts: 3, Classifier: retry.ClassifyHTTP, Backoff: retry.Constant{}})
	calls := 0
	resp, err := retry.Do(context.Background(), p, func(context.Context) (*http.Response, error) {
		calls++
		return response(404, ""), nil
	})
	require.NoError(t, err, "a 404 is an answer, not a failure of the call")
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, 1, calls)

	calls = 0
	refused := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	_, err = retry.Do(context.Background(), p, func(context.Context) (*http.Response, error) {
		calls++
		return nil, refused
	})
	assert.Equal(t, 3, calls)
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{" 120 ", 2 * time.Minute, false},
		{"Sat, 21 Nov 2026 12:00:30 GMT", 30 * time.Second, false},
		{"Saturday, 21-Nov-26 12:01:00 GMT", time.Minute, false},
		{"Sat Nov 21 12:00:10 2026", 10 * time.Second, false},
		{"Fri, 20 Nov 2026 12:00:00 GMT", 0, false},
		{"99999999999999999999999", time.Duration(1<<63 - 1), false},
		{"-5", 0, true},
		{"1.5", 0, true},
		{"tomorrow", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := retry.ParseRetryAfter(tt.in, now)
			if tt.wantErr {
				require.ErrorIs(t, err, retry.ErrInvalidRetryAfter)
				assert.Regexp(t, "^retry: ", err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "Sat, 21 Nov 2026 12:00:30 GMT", "Saturday, 21-Nov-26 12:01:00 GMT",
		"Sat Nov 21 12:00:10 2026", "-1", "1e3", "99999999999999999999", "\x00"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := retry.ParseRetryAfter(s, now)
		if err != nil {
			if !errors.Is(err, retry.ErrInvalidRetryAfter) {
				t.Fatalf("error %v does not wrap ErrInvalidRetryAfter", err)
			}
			if d != 0 {
				t.Fatalf("error with non-zero duration %v", d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("negative duration %v for %q", d, s)
		}
	})
}
