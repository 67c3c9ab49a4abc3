package breaker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// checkInvariants fails when the breaker is in a state the design rules out.
// outstanding is the number of admitted half-open probes of the current
// generation that have not finished.
func (b *Breaker) checkInvariants(outstanding int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.word.Load()
	s := stateOf(w)
	if s > Disabled {
		return fmt.Errorf("impossible state %d", s)
	}
	if b.probes < 0 || b.probes > b.maxProbes {
		return fmt.Errorf("probes in flight %d outside [0,%d]", b.probes, b.maxProbes)
	}
	if s != HalfOpen && (b.probes != 0 || b.probeSuccesses != 0) {
		return fmt.Errorf("%s with probe counts %d/%d", s, b.probes, b.probeSuccesses)
	}
	if s == HalfOpen && b.probes != outstanding {
		return fmt.Errorf("half-open counts %d probes, %d are outstanding", b.probes, outstanding)
	}
	if s == HalfOpen && b.probeSuccesses >= b.probesToClose {
		return fmt.Errorf("half-open with %d successes, %d close it", b.probeSuccesses, b.probesToClose)
	}
	if s == Closed && b.consecutive > 0 {
		if c := consecOf(w); c >= b.consecutive {
			return fmt.Errorf("closed with %d consecutive failures (threshold %d)", c, b.consecutive)
		}
	}
	if s != Closed && consecOf(w) != 0 {
		return fmt.Errorf("%s with a consecutive count %d", s, consecOf(w))
	}
	if (s == Open || s == HalfOpen) != (b.openCount > 0) && s != ForcedOpen {
		return fmt.Errorf("%s with open count %d", s, b.openCount)
	}
	if win := b.win.Load(); b.windowed && s == Closed {
		if win.gen != genOf(w) {
			return fmt.Errorf("closed generation %d uses the window of generation %d", genOf(w), win.gen)
		}
		calls, failures, slows := win.totals(time.Now())
		if failures > calls || slows > calls {
			return fmt.Errorf("window totals calls=%d failures=%d slow=%d", calls, failures, slows)
		}
		cw, counted := win.window.(*countWindow)
		if counted && calls > len(cw.ring) {
			return fmt.Errorf("count window holds %d > %d", calls, len(cw.ring))
		}
		// A count window only changes when a call ends, so the rate that trips
		// it can never be seen while closed. (A time window's rate also moves
		// as old calls expire; it is evaluated when a call ends.)
		if counted && calls >= b.minCalls && b.failureRate > 0 && float64(failures) >= b.failureRate*float64(calls) {
			return fmt.Errorf("closed with failure rate %d/%d >= %v", failures, calls, b.failureRate)
		}
		if counted {
			var f, sl int
			for i := range cw.ring {
				m := cw.ring[i].Load()
				f += int(m & markFailed)
				sl += int(m&markSlow) >> 1
			}
			if f != failures || sl != slows {
				return fmt.Errorf("count window totals %d/%d, ring holds %d/%d", failures, slows, f, sl)
			}
		}
	}
	if len(b.pending) != 0 || b.delivering {
		return fmt.Errorf("%d undelivered changes (delivering=%v)", len(b.pending), b.delivering)
	}
	return nil
}

// FuzzStateMachine drives a breaker with random configurations, outcomes,
// interleavings of calls and passage of time, and checks after every step
// that it is in a possible state.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0}, []byte{0, 0, 9, 0, 9, 4, 50, 0, 6, 0, 1, 3})
	f.Add([]byte{3, 2, 2, 1}, []byte{6, 1, 6, 1, 6, 1, 6, 1, 4, 255, 0, 0, 0, 1, 2, 3})
	f.Add([]byte{1, 3, 1, 2}, []byte{5, 0, 5, 1, 5, 2, 6, 0, 6, 2, 4, 9, 0, 0, 7, 0})
	f.Fuzz(fuzzOnce)
}

func fuzzOnce(t *testing.T, conf, ops []byte) {
	for len(conf) < 4 {
		conf = append(conf, 0)
	}
	cfg := Config{
		ConsecutiveFailures: int(conf[0] % 4),
		HalfOpenProbes:      1 + int(conf[1]%3),
		HalfOpenSuccesses:   1 + int(conf[2]%3),
		OpenDuration:        time.Second,
		BreakDuration: func(n int) time.Duration {
			return time.Duration(n%4) * time.Second // 0 included: half-open at once
		},
	}
	switch conf[3] % 4 {
	case 1:
		cfg.FailureRate, cfg.WindowSize, cfg.MinimumCalls = 0.5, 5, 3
	case 2:
		cfg.FailureRate, cfg.WindowDuration, cfg.MinimumCalls = 0.5, 5*time.Second, 3
	case 3:
		cfg.FailureRate, cfg.SlowCallRate, cfg.SlowCallDuration, cfg.WindowSize = 0.6, 0.5, 500*time.Millisecond, 4
	}
	synctest.Test(t, func(t *testing.T) {
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var held []permit
		outstanding := func() int {
			n, gen := 0, genOf(b.word.Load())
			for _, p := range held {
				if p.state == HalfOpen && p.gen == gen {
					n++
				}
			}
			return n
		}
		errs := []error{nil, errors.New("fail"), context.Canceled}
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%8, ops[i+1]
			switch op {
			case 0, 1: // admit a call and hold it
				if p, err := b.allow(); err == nil {
					held = append(held, p)
				} else if !errors.Is(err, ErrOpen) {
					t.Fatalf("rejection %v does not wrap ErrOpen", err)
				}
			case 2, 3: // finish a held call
				if len(held) > 0 {
					k := int(arg) % len(held)
					p := held[k]
					held = append(held[:k], held[k+1:]...)
					b.done(p, errs[int(arg)%3])
				}
			case 4: // time passes
				time.Sleep(time.Duration(arg) * 20 * time.Millisecond)
			case 5: // an operator acts
				[]func(){b.Open, b.Close, b.Disable, b.Close}[arg%4]()
			default: // a whole call
				_ = b.Do(context.Background(), func(context.Context) error { return errs[int(arg)%3] })
			}
			if err := b.checkInvariants(outstanding()); err != nil {
				t.Fatalf("after op %d (%d,%d): %v", i/2, op, arg, err)
			}
		}
	})
}

// The half-open probe limit holds however many goroutines call at once.
func TestProbeLimitUnderConcurrency(t *testing.T) {
	const limit = 3
	b, err := New(Config{ConsecutiveFailures: 1, HalfOpenProbes: limit, BreakDuration: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("trip") })

	var inFlight, peak, admitted, rejected atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 500 {
				err := b.Do(context.Background(), func(context.Context) error {
					n := inFlight.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					admitted.Add(1)
					runtime.Gosched()
					inFlight.Add(-1)
					return context.Canceled // ignored: the breaker stays half-open
				})
				if errors.Is(err, ErrOpen) {
					rejected.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak concurrent probes %d, limit %d", p, limit)
	}
	if admitted.Load() == 0 || rejected.Load() == 0 {
		t.Fatalf("admitted %d, rejected %d: the test exercised nothing", admitted.Load(), rejected.Load())
	}
	if s := b.State(); s != HalfOpen {
		t.Fatalf("state %s, want half-open", s)
	}
}
