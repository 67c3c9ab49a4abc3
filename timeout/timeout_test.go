package timeout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/timeout"
)

var errBoom = errors.New("boom")

func mustNew(t *testing.T, cfg timeout.Config) *timeout.Policy {
	t.Helper()
	p, err := timeout.New(cfg)
	require.NoError(t, err)
	return p
}

// sleep waits for d or until ctx ends, as a well-behaved call does.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := timeout.New(timeout.Config{Timeout: d})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Config.Timeout must be > 0")
	}
}

func TestCallInTimeReturnsItsResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Name: "inventory", Timeout: time.Second})
		var seen context.Context
		v, err := timeout.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			seen = ctx
			deadline, ok := ctx.Deadline()
			require.True(t, ok)
			assert.Equal(t, time.Second, time.Until(deadline))
			return 42, sleep(ctx, 999*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		assert.ErrorIs(t, seen.Err(), context.Canceled, "the call's context is released when Do returns")

		err = p.Do(context.Background(), func(ctx context.Context) error { return errBoom })
		assert.Same(t, errBoom, err, "a call's own error is returned as it is")
	})
}

// The policy's deadline ends a call that honours its context exactly at
// Config.Timeout, with an error that names the policy and is not the caller's
// deadline.
func TestDeadlineEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Name: "inventory", Timeout: 250 * time.Millisecond})
		start := time.Now()
		v, err := timeout.Do(context.Background(), p, func(ctx context.Context) (string, error) {
			return "late", sleep(ctx, time.Hour)
		})
		assert.Equal(t, 250*time.Millisecond, time.Since(start))
		assert.Empty(t, v, "the late value is discarded")
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline did not fire")
		var ex *timeout.ExceededError
		require.ErrorAs(t, err, &ex)
		assert.Equal(t, "inventory", ex.Name)
		assert.Equal(t, 250*time.Millisecond, ex.Duration)
		assert.True(t, ex.Timeout())
		assert.Equal(t, `timeout: "inventory" exceeded 250ms`, err.Error())
	})
}

// A function that ignores its context is waited for (Do starts no goroutine),
// and its result, late, is discarded even though it succeeded.
func TestLateSuccessIsDiscarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Timeout: 100 * time.Millisecond})
		start := time.Now()
		v, err := timeout.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			time.Sleep(300 * time.Millisecond) // ignores ctx
			return 7, nil
		})
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
		assert.Zero(t, v)
		assert.ErrorIs(t, err, timeout.ErrExceeded)
	})
}

// The caller's own deadline, when earlier, is the one the call sees, and its
// error is the caller's: nothing is reported as this policy's timeout.
func TestCallerDeadlineFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Timeout: time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var seen context.Context
		err := p.Do(ctx, func(c context.Context) error {
			seen = c
			return sleep(c, time.Hour)
		})
		assert.Same(t, ctx, seen, "no child context when the caller's deadline comes first")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, timeout.ErrExceeded)
	})
}

// The caller's deadline, when later than the policy's but reached while the
// call ignores its context, is still the caller's; and the caller's
// cancellation is never reported as a timeout.
func TestCallerCancellationIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Timeout: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err := p.Do(ctx, func(c context.Context) error { return sleep(c, time.Hour) })
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, timeout.ErrExceeded)
	})
}

func TestDoneContextRunsNothing(t *testing.T) {
	p := mustNew(t, timeout.Config{Timeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := p.Do(ctx, func(context.Context) error { called = true; return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called)
}

// ctxBody is a response body read under a context, as net/http's is: reads
// fail once the context is done.
type ctxBody struct {
	ctx    context.Context
	r      io.Reader
	closed bool
}

func (b *ctxBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *ctxBody) Close() error { b.closed = true; return nil }

// An *http.Response returned in time keeps its context until its body is
// closed, so the caller can read it after Do returns; the deadline still
// covers the read, as http.Client.Timeout's does.
func TestResponseBodyOutlivesDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Timeout: time.Second})
		var callCtx context.Context
		get := func(ctx context.Context) (*http.Response, error) {
			callCtx = ctx
			return &http.Response{StatusCode: 200, Body: &ctxBody{ctx: ctx, r: strings.NewReader("payload")}}, nil
		}
		resp, err := timeout.Do(context.Background(), p, get)
		require.NoError(t, err)
		require.NoError(t, callCtx.Err(), "the context lives while the body is unread")
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "payload", string(body))
		assert.ErrorIs(t, callCtx.Err(), context.Canceled, "reading to the end releases the context")
		require.NoError(t, resp.Body.Close())

		// A body still unread at the deadline can no longer be read.
		resp, err = timeout.Do(context.Background(), p, get)
		require.NoError(t, err)
		time.Sleep(time.Second + time.Millisecond)
		_, err = io.ReadAll(resp.Body)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, resp.Body.Close())
	})
}

// A response that arrives after the deadline is discarded and its body
// closed, so that its connection is not leaked.
func TestLateResponseBodyIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Timeout: 100 * time.Millisecond})
		body := &ctxBody{ctx: context.Background(), r: strings.NewReader("late")}
		resp, err := timeout.Do(context.Background(), p, func(ctx context.Context) (*http.Response, error) {
			time.Sleep(200 * time.Millisecond)
			return &http.Response{StatusCode: 200, Body: body}, nil
		})
		assert.Nil(t, resp)
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.True(t, body.closed)
	})
}

func timeoutConfig(name string, d time.Duration) timeout.Config {
	return timeout.Config{Name: name, Timeout: d}
}

// A response returned in time with an error (a retry inside the timeout gave
// up on a 503 and returns it, for the caller to read as the server's answer)
// keeps its context until its body is read or closed, as a successful
// response does: cancelling it when Do returns made the body unreadable.
func TestResponseWithErrorStaysReadable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, timeout.Config{Timeout: time.Second})
		var callCtx context.Context
		resp, err := timeout.Do(context.Background(), p, func(ctx context.Context) (*http.Response, error) {
			callCtx = ctx
			return &http.Response{StatusCode: 503, Body: &ctxBody{ctx: ctx, r: strings.NewReader("busy")}}, errBoom
		})
		require.ErrorIs(t, err, errBoom)
		require.NotNil(t, resp)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "the failed call's response is still readable")
		assert.Equal(t, "busy", string(body))
		assert.ErrorIs(t, callCtx.Err(), context.Canceled, "reading to the end releases the context")
		require.NoError(t, resp.Body.Close())
	})
}
