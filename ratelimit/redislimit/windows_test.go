package redislimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/redislimit"
)

type weighedStep struct {
	pause time.Duration
	cost  int
}

// TestWindowsAndCostSameDecisionsAsInProcess replays random weighted takes
// through ratelimit.Keyed and redislimit with the same windows (and through
// a single window with weights): the same decisions, the same remaining
// units per window, durations within the script's microsecond rounding.
func TestWindowsAndCostSameDecisionsAsInProcess(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	steps := make([]weighedStep, 400)
	for i := range steps {
		if rng.IntN(3) > 0 {
			steps[i].pause = time.Duration(rng.IntN(3000)) * time.Millisecond
		}
		steps[i].cost = 1 + rng.IntN(3)
	}
	tests := []struct {
		name    string
		windows []ratelimit.Window
		single  ratelimit.Window
	}{
		{name: "per second and per minute", windows: []ratelimit.Window{
			{Name: "per-second", Limit: 3, Period: time.Second, Burst: 5},
			{Name: "per-minute", Limit: 40, Period: time.Minute},
		}},
		{name: "three windows", windows: []ratelimit.Window{
			{Name: "a", Limit: 7, Period: 3 * time.Second, Burst: 4},
			{Name: "b", Limit: 30, Period: time.Minute, Burst: 10},
			{Name: "c", Limit: 100, Period: time.Hour},
		}},
		{name: "one window, weighted", single: ratelimit.Window{Limit: 2, Period: time.Second, Burst: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testenv.RedisPrefix(t)
			kcfg := ratelimit.KeyedConfig{Windows: tt.windows, Limit: tt.single.Limit, Period: tt.single.Period, Burst: tt.single.Burst}
			var want []ratelimit.Decision
			synctest.Test(t, func(t *testing.T) {
				keyed, err := ratelimit.NewKeyed(kcfg)
				require.NoError(t, err)
				defer keyed.Close()
				for _, s := range steps {
					time.Sleep(s.pause)
					d, err := keyed.TakeN(context.Background(), "k", s.cost)
					require.NoError(t, err)
					want = append(want, d)
				}
			})
			l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Windows: tt.windows,
				Limit: tt.single.Limit, Period: tt.single.Period, Burst: tt.single.Burst})
			now := time.Unix(1_700_000_000, 0)
			redislimit.SetClock(l, func() time.Time { return now })
			allowed := 0
			for i, s := range steps {
				now = now.Add(s.pause)
				g, err := l.TakeN(context.Background(), "k", s.cost)
				require.NoError(t, err)
				w := want[i]
				require.Equal(t, w.Allowed, g.Allowed, "step %d", i)
				require.Equal(t, w.Remaining, g.Remaining, "step %d", i)
				require.InDelta(t, w.RetryAfter, g.RetryAfter, float64(10*time.Microsecond), "step %d", i)
				require.InDelta(t, w.Reset, g.Reset, float64(10*time.Microsecond), "step %d", i)
				require.Len(t, g.Policies, len(w.Policies), "step %d", i)
				for j := range w.Policies {
					require.Equal(t, w.Policies[j].Remaining, g.Policies[j].Remaining, "step %d window %d", i, j)
				}
				if g.Allowed {
					allowed++
				}
			}
			assert.Greater(t, allowed, 20, "the sequence exercises refill")
			assert.Less(t, allowed, len(steps), "the sequence exercises refusals")
		})
	}
}

func TestWindowsTakeOneRoundTrip(t *testing.T) {
	r := testenv.RedisPrefix(t)
	counter := &commandCounter{}
	r.Client.AddHook(counter)
	l := newLimiter(t, redislimit.Config{Client: r.Client, Prefix: r.Prefix, Windows: []ratelimit.Window{
		{Name: "per-minute", Limit: 100, Period: time.Minute},
		{Name: "per-hour", Limit: 1000, Period: time.Hour},
	}})
	_, err := l.TakeN(context.Background(), "warm", 2) // may load the script
	require.NoError(t, err)
	counter.n.Store(0)
	for i := range 20 {
		d, err := l.TakeN(context.Background(), fmt.Sprint("k", i%3), 2)
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	assert.Equal(t, int64(20), counter.n.Load())
	assert.Equal(t, []ratelimit.Quota{
		{Name: "per-minute", Quota: 100, Window: time.Minute, Burst: 100},
		{Name: "per-hour", Quota: 1000, Window: time.Hour, Burst: 1000},
	}, l.Policies())
	// The key's state expires when every window is full again: the hour
	// window's 2 units (7.2 s) for k0, which took 14 units (50.4 s).
	ttl, err := r.Client.PTTL(context.Background(), r.Prefix+"default:k0").Result()
	require.NoError(t, err)
	assert.InDelta(t, 50400*time.Millisecond, ttl, float64(2*time.Second))
}

func TestTakeNRejectsImpossibleCosts(t *testing.T) {
	l := newLimiter(t, redislimit.Config{Client: unreachableClient(t), Windows: []ratelimit.Window{
		{Name: "a", Limit: 10, Period: time.Second},
		{Name: "b", Limit: 100, Period: time.Minute, Burst: 5},
	}})
	for _, n := range []int{0, 6} {
		_, err := l.TakeN(context.Background(), "k", n)
		assert.ErrorIs(t, err, ratelimit.ErrInvalidCost, "cost %d", n)
	}
}

func TestNewRejectsInvalidWindows(t *testing.T) {
	client := unreachableClient(t)
	for _, tt := range []struct {
		cfg  redislimit.Config
		want string
	}{
		{redislimit.Config{Client: client, Limit: 1, Windows: []ratelimit.Window{{Name: "a", Limit: 1}}}, "either Limit, Period and Burst or Windows"},
		{redislimit.Config{Client: client, Windows: []ratelimit.Window{{Limit: 1}}}, "Config.Windows[0].Name is required"},
		{redislimit.Config{Client: client, Windows: []ratelimit.Window{{Name: "a", Limit: 1}, {Name: "a", Limit: 1}}}, `Config.Windows[1].Name "a" is used`},
		{redislimit.Config{Client: client, Windows: []ratelimit.Window{{Name: "a"}}}, "Config.Windows[0].Limit must be > 0"},
	} {
		_, err := redislimit.New(tt.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
	}
}
