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

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

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
	retries     int
	hedges      int
	hedgeDelay  time.Duration // 0 without a hedge
	hedgePaid   bool          // the hedge spends tr.budget
	budget      *countingBudget
	hedgeReader *sdkmetric.ManualReader // the hedge's own count of the hedges it sent
	hedgesSeen  int64                   // that count at the end of the previous call

	violations []string
	mu         sync.Mutex

	// The current call's caller: when its deadline comes, or when it
	// cancels (zero: never). Guarded by mu.
	callerDeadline, callerCancel time.Time
}

// callerGone reports, at a hedge's purchase, whether the current call's
// caller has gone: its deadline has come, or it cancelled before now (a
// cancellation at this very instant is a tie: nothing could know it yet).
func (tr *trial) callerGone() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	now := time.Now()
	switch {
	case !tr.callerDeadline.IsZero() && !tr.callerDeadline.After(now):
		return "at or after its caller's deadline"
	case !tr.callerCancel.IsZero() && tr.callerCancel.Before(now):
		return "after its caller cancelled"
	}
	return ""
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
	if gone := c.tr.callerGone(); gone != "" {
		c.tr.violate("a hedge was bought %s", gone)
	}
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
	tr.hedgeReader = sdkmetric.NewManualReader()
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: float64(2 + tr.intn(8)), TokenRatio: 0.1 * float64(1+tr.intn(5))})
	if err != nil {
		t.Fatal(err)
	}
	tr.budget = &countingBudget{tr: tr, b: budget, threshold: budget.Tokens() / 2}
	shareBudget := tr.intn(2) == 0
	anyOrder := tr.intn(2) == 0
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
		cfg := hedge.Config{Delay: time.Duration(1+tr.intn(10))*time.Millisecond + hedgeShift, MaxHedges: hedges,
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(tr.hedgeReader))}
		tr.hedgeDelay = cfg.Delay
		if tr.intn(3) > 0 {
			cfg.Budget = tr.budget
			tr.hedgePaid = true
		}
		if b != nil && (!anyOrder || tr.intn(2) == 0) {
			cfg.Breaker = b // New refuses a hedge outside a breaker it does not watch, unless AnyOrder
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
	tr.attemptsMax, tr.retries, tr.hedges = retries*(1+hedges), retries, hedges
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
	switch tr.intn(5) {
	case 0:
		ctx, cancel = context.WithCancel(ctx)
		after := time.Duration(tr.intn(60))*time.Millisecond + cancelShift
		cancelledAt = time.Now().Add(after)
		stop := time.AfterFunc(after, cancel)
		defer stop.Stop()
	case 1:
		ctx, cancel = context.WithTimeout(ctx, time.Duration(tr.intn(60))*time.Millisecond+cancelShift)
	case 2:
		// A deadline on an instant where a policy wakes up to start an
		// attempt: a hedge's delay (or a multiple of it), or a whole
		// millisecond, where attempts end and retries' waits run out. At
		// that instant the caller's context has ended, though its own timer
		// may not have said so yet: an attempt started then is a violation
		// (a hedge or a retry started at its caller's deadline did, before
		// they checked it).
		d := time.Duration(1+tr.intn(40)) * time.Millisecond
		if tr.hedgeDelay > 0 && tr.intn(2) == 0 {
			d = time.Duration(1+tr.intn(tr.hedges)) * tr.hedgeDelay
		}
		ctx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()
	deadline, _ := ctx.Deadline()
	tr.mu.Lock()
	tr.callerDeadline, tr.callerCancel = deadline, cancelledAt
	tr.mu.Unlock()

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
		// The deadline is checked whatever ctx.Err() says: at the deadline's
		// instant the context's timer may not have ended it yet, and an
		// attempt started then is the very mistake to catch.
		if deadline, ok := ctx.Deadline(); ok && !deadline.After(now) {
			tr.violate("call %d: attempt %d started at or after its deadline", callNo, n)
		} else if err := ctx.Err(); err != nil {
			switch {
			case !cancelledAt.IsZero() && cancelledAt.Before(now):
				tr.violate("call %d: attempt %d started after the caller cancelled", callNo, n)
			case cancelledAt.Equal(now), tie(now):
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
	if tr.hedges > 0 {
		// The hedge's own count of what it sent: at most MaxHedges per hedged
		// call, of which there are at most as many as the retry's attempts.
		sent := tr.hedgesSent()
		if d := sent - tr.hedgesSeen; d > int64(tr.retries*tr.hedges) {
			tr.violate("call %d: %d hedges sent, more than %d", callNo, d, tr.retries*tr.hedges)
		}
		tr.hedgesSeen = sent
	}
	if err != nil && !isExpected(err) {
		tr.violate("call %d: unexpected error %v", callNo, err)
	}
	return err
}

// hedgesSent reads keel.hedge.hedges, the hedges the trial's hedge sent.
func (tr *trial) hedgesSent() int64 {
	var rm metricdata.ResourceMetrics
	if err := tr.hedgeReader.Collect(context.Background(), &rm); err != nil {
		tr.violate("collecting the hedge's metrics: %v", err)
		return 0
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "keel.hedge.hedges" {
				var n int64
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}
				return n
			}
		}
	}
	return 0
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
// done, at or after its deadline (even before the context's timer has said
// so), or after the call returned; no hedge is bought once its caller has
// gone; with a budget, every hedge sent was paid for; no call sends more
// than MaxHedges hedges per retry attempt, nor makes more attempts than its
// retry and hedge allow (MaxAttempts × (1 + MaxHedges)); no hedge is paid
// for at or below the budget's threshold; only Keel's errors and the
// function's come out; and every goroutine ends (synctest.Test fails
// otherwise).
//
// Each property was shown to fail on a mutant (run once, then reverted): a
// hedge bought at the caller's deadline, a retry started at it, one hedge
// more than MaxHedges, a hedge that does not pay. One mistake it cannot
// see: an attempt goroutine that runs fn on a call already decided. In the
// bubble such a goroutine always starts at the instant of the decision (the
// clock stands while anything can run), which is a tie, not a lateness;
// hedge's own tests cover it.
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
			if tr.hedgePaid {
				// Every hedge sent was paid for, and none was paid for and
				// not sent (a hedge bought for a caller that had gone).
				if sent, paid := tr.hedgesSent(), tr.budget.granted.Load(); sent != paid {
					tr.violate("%d hedges sent, %d paid for", sent, paid)
				}
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
