package ratelimit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
)

func perMinuteAndHour(t *testing.T) *ratelimit.Keyed {
	t.Helper()
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Windows: []ratelimit.Window{
		{Name: "per-minute", Limit: 100, Period: time.Minute},
		{Name: "per-hour", Limit: 1000, Period: time.Hour},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// TestKeyedMinuteAndHourWindows: 100 per minute with 1,000 per hour (burst
// 1,000) lets a client that tries 150 times a minute through at 100 a minute
// until the hour window runs dry (minute 11), then at the hour window's
// refill rate, 1000/60 a minute.
func TestKeyedMinuteAndHourWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := perMinuteAndHour(t)
		var perMinute []int
		total := 0
		for range 20 {
			n := 0
			for range 150 {
				if k.Allow("alice") {
					n++
				}
			}
			perMinute = append(perMinute, n)
			total += n
			time.Sleep(time.Minute)
		}
		for m := range 11 {
			assert.Equal(t, 100, perMinute[m], "minute %d: the minute window binds", m)
		}
		// Minute 11: 1000 - 1100 + 11·1000/60 = 83.3 units left in the hour window.
		assert.Equal(t, 83, perMinute[11])
		for m := 12; m < 20; m++ {
			assert.Contains(t, []int{16, 17}, perMinute[m], "minute %d: the hour window binds", m)
		}
		// Whole units restored by the hour window in 19 minutes, plus its burst.
		assert.Equal(t, 1000+19*1000/60, total)

		d, err := k.Take(context.Background(), "alice")
		require.NoError(t, err)
		require.Len(t, d.Policies, 2)
		assert.Equal(t, "per-hour", d.Policies[0].Policy, "the most restrictive window comes first")
		assert.Equal(t, d.Policies[0].Remaining, d.Remaining)
		assert.Equal(t, []ratelimit.Quota{
			{Name: "per-minute", Quota: 100, Window: time.Minute, Burst: 100},
			{Name: "per-hour", Quota: 1000, Window: time.Hour, Burst: 1000},
		}, k.Policies())
	})
}

// TestKeyedWindowsAreTakenAtomically: a call refused by one window takes
// nothing from the others.
func TestKeyedWindowsAreTakenAtomically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Windows: []ratelimit.Window{
			{Name: "burst", Limit: 10, Period: time.Second, Burst: 5},
			{Name: "daily", Limit: 20, Period: 24 * time.Hour},
		}})
		require.NoError(t, err)
		defer k.Close()
		ctx := context.Background()
		for range 5 {
			require.True(t, k.Allow("a"))
		}
		d, err := k.Take(ctx, "a")
		require.NoError(t, err)
		assert.False(t, d.Allowed)
		assert.Equal(t, 100*time.Millisecond, d.RetryAfter)
		assert.Equal(t, []string{"burst"}, d.Violated("unused"))
		for _, p := range d.Policies {
			if p.Policy == "daily" {
				assert.Equal(t, 15, p.Remaining, "the refused call took nothing from the daily window")
				assert.Zero(t, p.RetryAfter)
			}
		}
	})
}

func TestKeyedTakeNWeighsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "reports", Limit: 10, Period: time.Second})
		require.NoError(t, err)
		defer k.Close()
		ctx := context.Background()
		d, err := k.TakeN(ctx, "a", 7)
		require.NoError(t, err)
		assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 3, Reset: 100 * time.Millisecond}, d)
		d, err = k.TakeN(ctx, "a", 5)
		require.NoError(t, err)
		assert.False(t, d.Allowed)
		assert.Equal(t, 200*time.Millisecond, d.RetryAfter, "two more units are due in 200ms")
		assert.True(t, k.AllowN("a", 3))
		assert.False(t, k.AllowN("a", 1))

		for _, n := range []int{0, -1, 11} {
			_, err = k.TakeN(ctx, "b", n)
			assert.ErrorIs(t, err, ratelimit.ErrInvalidCost, "cost %d", n)
			assert.False(t, k.AllowN("b", n))
		}
		assert.True(t, k.AllowN("b", 10), "an invalid cost took nothing")
	})
}

func TestNewKeyedRejectsInvalidWindows(t *testing.T) {
	w := func(name string, limit int) ratelimit.Window {
		return ratelimit.Window{Name: name, Limit: limit, Period: time.Minute}
	}
	tests := []struct {
		name string
		cfg  ratelimit.KeyedConfig
		want string
	}{
		{"both", ratelimit.KeyedConfig{Limit: 1, Windows: []ratelimit.Window{w("a", 1)}}, "either Limit, Period and Burst or Windows"},
		{"no name", ratelimit.KeyedConfig{Windows: []ratelimit.Window{w("", 1)}}, "KeyedConfig.Windows[0].Name is required"},
		{"duplicate", ratelimit.KeyedConfig{Windows: []ratelimit.Window{w("a", 1), w("a", 2)}}, `Windows[1].Name "a" is used by another window`},
		{"bad name", ratelimit.KeyedConfig{Windows: []ratelimit.Window{w("per\nminute", 1)}}, "Windows[0].Name"},
		{"zero limit", ratelimit.KeyedConfig{Windows: []ratelimit.Window{w("a", 1), w("b", 0)}}, "KeyedConfig.Windows[1].Limit must be > 0"},
		{"too many", ratelimit.KeyedConfig{Windows: func() []ratelimit.Window {
			var ws []ratelimit.Window
			for i := range 9 {
				ws = append(ws, w(fmt.Sprint("w", i), 1))
			}
			return ws
		}()}, "at most 8 windows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ratelimit.NewKeyed(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, k)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestMiddlewareReportsEveryPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Windows: []ratelimit.Window{
			{Name: "per-minute", Limit: 2, Period: time.Minute},
			{Name: "per-hour", Limit: 10, Period: time.Hour},
		}})
		require.NoError(t, err)
		defer k.Close()
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: k, Key: ratelimit.HeaderKey("X-Tenant")})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		tenant := func(r *http.Request) { r.Header.Set("X-Tenant", "acme") }

		rec := serve(h, tenant)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, `"per-minute";q=2;w=60, "per-hour";q=10;w=3600`, rec.Header().Get("RateLimit-Policy"))
		assert.Equal(t, `"per-minute";r=1;t=30, "per-hour";r=9;t=360`, rec.Header().Get("RateLimit"))
		for _, item := range splitList(rec.Header().Get("RateLimit")) {
			assert.Regexp(t, sfItem, item)
		}
		serve(h, tenant)
		rec = serve(h, tenant)
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, `"per-minute";r=0;t=30, "per-hour";r=8;t=360`, rec.Header().Get("RateLimit"))
		assert.Equal(t, "30", rec.Header().Get("Retry-After"))
		body := decodeProblem(t, rec)
		assert.Equal(t, []any{"per-minute"}, body["violated-policies"])
	})
}

func TestMiddlewareCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 10, Period: time.Minute})
		require.NoError(t, err)
		defer k.Close()
		mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
			Limiter: k, Key: ratelimit.HeaderKey("X-Tenant"),
			Cost: func(r *http.Request) int {
				if r.URL.Path == "/export" {
					return 6
				}
				if r.URL.Path == "/broken" {
					return 11
				}
				return 1
			},
		})
		require.NoError(t, err)
		h := mw.Wrap(okHandler())
		at := func(path string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("X-Tenant", "acme"); r.URL.Path = path }
		}
		assert.Equal(t, http.StatusOK, serve(h, at("/export")).Code)
		rec := serve(h, at("/export"))
		assert.Equal(t, http.StatusTooManyRequests, rec.Code, "6 + 6 > 10")
		assert.Equal(t, `"api";r=4;t=6`, rec.Header().Get("RateLimit"))
		assert.Equal(t, "12", rec.Header().Get("Retry-After"), "two more units at 6 s each")
		assert.Equal(t, http.StatusOK, serve(h, at("/orders")).Code)

		rec = serve(h, at("/broken"))
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
		assert.Equal(t, "rate_limit_cost_invalid", decodeProblem(t, rec)["code"])
	})
}

func TestMiddlewareCostNeedsACostTaker(t *testing.T) {
	_, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
		Limiter: onlyTake{}, Cost: func(*http.Request) int { return 2 },
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MiddlewareConfig.Cost needs a Limiter with TakeN")
}

type onlyTake struct{}

func (onlyTake) Take(context.Context, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true}, nil
}
func (onlyTake) Policy() ratelimit.Quota {
	return ratelimit.Quota{Name: "x", Quota: 1, Window: time.Second}
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	return body
}

// splitList splits a Structured Field List on its ", " separators (the
// middleware's names hold no commas).
func splitList(v string) []string { return strings.Split(v, ", ") }
