package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

// Durations in the property test are whole milliseconds, except the hedge
// delays, timeouts and caller cancellations, which are shifted by odd
// fractions of a millisecond, so that no two events of a trial fall on the
// same instant of the bubble's clock: at one instant the order in which
// goroutines run is the scheduler's, and a call started "at the same time"
// as its context ended would be a tie, not a bug.
const (
	hedgeShift   = 234567 * time.Nanosecond
	timeoutShift = 12345 * time.Nanosecond
	cancelShift  = 777777 * time.Nanosecond
)

// trial is one random pipeline and what the checks observed while it ran.
type trial struct {
	seed        uint64
	rng         *rand.Rand
	rngMu       sync.Mutex
	policies    []resilience.Policy
	desc        []string
	attemptsMax int // the most attempts one call may make: retry attempts × (1 + hedges)
	hedges      int
	budget      *countingBudget

	violations []string
	mu         sync.Mutex
}

func (tr *trial) intn(n int) int {
	tr.rngMu.Lock()
	defer tr.rngMu.Unlock()
	return tr.rng.IntN(n)
}

func (tr *trial) violate(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.violations = append(tr.violations, fmt.Sprintf(format, args...))
}

// countingBudget is the hedge's view of a *retry.Budget that checks every
// grant: a hedge is paid for only while tokens are above half.
type countingBudget struct {
	tr        *trial
	b         *retry.Budget
	threshold float64
	granted   atomic.Int64
}

func (c *countingBudget) TryWithdraw() bool {
	before := c.b.Tokens()
	ok := c.b.TryWithdraw()
	if ok {
		c.granted.Add(1)
		if before <= c.threshold {
			c.tr.violate("a hedge was granted with %.3f tokens, at or below the threshold %.1f", before, c.threshold)
		}
	}
	return ok
}

func (c *countingBudget) Deposit() { c.b.Deposit() }

// build draws a pipeline: a random subset of policies, in the recommended
// order or, half the time, in any order (New with AnyOrder): the properties
// hold whatever the order.
func (tr *trial) build(t *testing.T) (*resilience.Pipeline, func()) {
	var closers []func()
	add := func(name string, p resilience.Policy) {
		tr.policies = append(tr.policies, p)
		tr.desc = append(tr.desc, name)
	}
	retries, hedges := 1, 0
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: float64(2 + tr.intn(8)), TokenRatio: 0.1 * float64(1+tr.intn(5))})
	if err != nil {
		t.Fatal(err)
	}
	tr.budget = &countingBudget{tr: tr, b: budget, threshold: budget.Tokens() / 2}
	shareBudget := tr.intn(2) == 0
	var b *breaker.Breaker
	if tr.intn(3) > 0 {
		b = newBreaker(t, breaker.Config{ConsecutiveFailures: 1 + tr.intn(5), OpenDuration: time.Duration(5+tr.intn(50)) * time.Millisecond})
	}
	if tr.intn(3) == 0 {
		add("fallback", newFallback(t, fallback.Config[int]{Value: -1, When: fallback.On(breaker.ErrOpen, timeout.ErrExceeded)}))
	}
	if tr.intn(3) == 0 {
		add("overall-timeout", newTimeout(t, "overall", time.Duration(40+tr.intn(60))*time.Millisecond+timeoutShift))
	}
	if tr.intn(3) > 0 {
		retries = 1 + tr.intn(4)
		cfg := retry.Config{MaxAttempts: retries, Backoff: retry.Constant{Delay: time.Duration(tr.intn(4)) * time.Millisecond}, MaxRetryAfter: 3 * time.Millisecond}
		if shareBudget {
			cfg.Budget = budget
		}
		add(fmt.Sprintf("retry(%d)", retries), newRetry(t, cfg))
	}
	if tr.intn(2) == 0 {
		hedges = 1 + tr.intn(3)
		cfg := hedge.Config{Delay: time.Duration(1+tr.intn(10))*time.Millisecond + hedgeShift, MaxHedges: hedges}
		if tr.intn(3) > 0 {
			cfg.Budget = tr.budget
		}
		if b != nil && tr.intn(2) == 0 {
			cfg.Breaker = b
		}
		add(fmt.Sprintf("hedge(%d)", hedges), newHedge(t, cfg))
	}
	if tr.intn(4) == 0 {
		l, err := ratelimit.New(ratelimit.Config{Limit: 1 + tr.intn(20), Period: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, func() { _ = l.Close() })
		add("ratelimit", l)
	}
	if tr.intn(4) == 0 {
		bh, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{MaxInFlight: 1 + tr.intn(3), MaxQueue: tr.intn(3)})
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, func() { _ = bh.Close() })
		add("bulkhead", bh)
	}
	if b != nil {
		add("breaker", b)
	}
	if tr.intn(2) == 0 {
		add("attempt-timeout", newTimeout(t, "attempt", time.Duration(5+tr.intn(30))*time.Millisecond+timeoutShift))
	}
	if len(tr.policies) == 0 {
		add("breaker", newBreaker(t, breaker.Config{}))
	}
	tr.attemptsMax, tr.hedges = retries*(1+hedges), hedges
	anyOrder := tr.intn(2) == 0
	if anyOrder {
		tr.rng.Shuffle(len(tr.policies), func(i, j int) {
			tr.policies[i], tr.policies[j] = tr.policies[j], tr.policies[i]
			tr.desc[i], tr.desc[j] = tr.desc[j], tr.desc[i]
		})
	}
	p, err := resilience.New(resilience.Config{Policies: tr.policies, AnyOrder: anyOrder})
	if err != nil {
		t.Fatalf("seed %d: %s: %v", tr.seed, strings.Join(tr.desc, " → "), err)
	}
	return p, func() {
		for _, c := range closers {
			c()
		}
	}
}

// call makes one logical call, checks it, and returns its error.
func (tr *trial) call(callNo int, p *resilience.Pipeline) error {
	ctx := context.Background()
	var cancel context.CancelFunc = func() {}
	var cancelledAt time.Time
	switch tr.intn(4) {
	case 0:
		ctx, cancel = context.WithCancel(ctx)
		after := time.Duration(tr.intn(60))*time.Millisecond + cancelShift
		cancelledAt = time.Now().Add(after)
		stop := time.AfterFunc(after, cancel)
		defer stop.Stop()
	case 1:
		ctx, cancel = context.WithTimeout(ctx, time.Duration(tr.intn(60))*time.Millisecond+cancelShift)
	}
	defer cancel()

	var attempts atomic.Int64
	// The bubble's clock does not move while any goroutine can run, so
	// "at the same instant" is exact. A policy decides at the instant an
	// attempt returns (a hedge's winner) or a timer fires; an attempt that
	// starts at such an instant, on a goroutine the scheduler ran late, ties
	// with the decision and is not a violation. One that starts at a later
	// instant is.
	var (
		instantsMu sync.Mutex
		decisions  = map[time.Time]bool{}
		returnedAt time.Time
	)
	tie := func(now time.Time) bool {
		instantsMu.Lock()
		defer instantsMu.Unlock()
		return decisions[now]
	}
	fn := func(ctx context.Context) (int, error) {
		n := attempts.Add(1)
		now := time.Now()
		instantsMu.Lock()
		late := !returnedAt.IsZero() && now.After(returnedAt)
		instantsMu.Unlock()
		if late {
			tr.violate("call %d: attempt %d started after Do returned", callNo, n)
		}
		if err := ctx.Err(); err != nil {
			deadline, hasDeadline := ctx.Deadline()
			switch {
			case hasDeadline && deadline.Before(now):
				tr.violate("call %d: attempt %d started after its deadline", callNo, n)
			case !cancelledAt.IsZero() && cancelledAt.Before(now):
				tr.violate("call %d: attempt %d started after the caller cancelled", callNo, n)
			case hasDeadline && deadline.Equal(now), cancelledAt.Equal(now), tie(now):
			default:
				tr.violate("call %d: attempt %d started with its context done (%v)", callNo, n, err)
			}
		}
		defer func() {
			instantsMu.Lock()
			decisions[time.Now()] = true
			instantsMu.Unlock()
		}()
		latency := time.Duration(tr.intn(20)) * time.Millisecond
		switch tr.intn(20) {
		case 0, 1, 2: // ignores its context
			time.Sleep(latency)
			return 1, nil
		case 3, 4, 5, 6, 7, 8, 9:
			if err := sleep(ctx, latency); err != nil {
				return 0, err
			}
			return 0, errBoom
		}
		if err := sleep(ctx, latency); err != nil {
			return 0, err
		}
		return 1, nil
	}
	_, err := resilience.Do(ctx, p, fn)
	instantsMu.Lock()
	returnedAt = time.Now()
	instantsMu.Unlock()
	if n := attempts.Load(); n > int64(tr.attemptsMax) {
		tr.violate("call %d: %d attempts, more than %d", callNo, n, tr.attemptsMax)
	}
	if err != nil && !isExpected(err) {
		tr.violate("call %d: unexpected error %v", callNo, err)
	}
	return err
}

// isExpected reports whether err is one the policies or fn produce.
func isExpected(err error) bool {
	for _, e := range []error{errBoom, context.Canceled, context.DeadlineExceeded, breaker.ErrOpen,
		timeout.ErrExceeded, ratelimit.ErrLimited, retry.ErrMaxAttempts} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Random pipelines, random outcomes: no attempt starts once its context is
// done or after the call returned, no call makes more attempts than its
// retry and hedge allow (MaxAttempts × (1 + MaxHedges): a hedge that sent one
// too many would exceed it in the trials without a retry), no hedge is paid
// for at or below the budget's threshold, only Keel's errors and the
// function's come out, and every goroutine ends (synctest.Test fails
// otherwise).
func TestPropertyRandomPipelines(t *testing.T) {
	trials := 300
	if testing.Short() {
		trials = 50
	}
	var hedged, exceeded, cancelled, opened atomic.Int64
	for seed := range uint64(trials) {
		synctest.Test(t, func(t *testing.T) {
			tr := &trial{seed: seed, rng: rand.New(rand.NewPCG(seed, 0x6b65656c))}
			p, closeAll := tr.build(t)
			defer closeAll()
			for i := range 20 {
				switch err := tr.call(i, p); {
				case errors.Is(err, timeout.ErrExceeded):
					exceeded.Add(1)
				case errors.Is(err, breaker.ErrOpen):
					opened.Add(1)
				case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
				}
			}
			hedged.Add(tr.budget.granted.Load())
			// A hedge's losers that ignore their context run on after Do
			// returns (the hedge does not wait for them); let them end.
			time.Sleep(time.Second)
			synctest.Wait()
			if g := tr.budget.granted.Load(); g > 0 && tr.hedges == 0 {
				tr.violate("%d hedges paid for without a hedge policy", g)
			}
			for _, v := range tr.violations {
				t.Errorf("seed %d, pipeline %s: %s", seed, strings.Join(tr.desc, " → "), v)
			}
		})
	}
	// The trials must have met what the properties are about; if the random
	// draws stopped producing them, the test would pass without testing.
	t.Logf("paid hedges %d; calls ended by a timeout %d, an open breaker %d, the caller %d",
		hedged.Load(), exceeded.Load(), opened.Load(), cancelled.Load())
	for what, n := range map[string]int64{"paid hedges": hedged.Load(), "timeouts": exceeded.Load(),
		"breaker rejections": opened.Load(), "caller cancellations": cancelled.Load()} {
		if n == 0 {
			t.Errorf("no trial produced %s", what)
		}
	}
}
