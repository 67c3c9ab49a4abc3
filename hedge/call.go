package hedge

import (
	"context"
	"sync"
)

// result is one attempt's outcome.
type result[T any] struct {
	attempt    int
	v          T
	err        error
	panicked   bool
	panicValue any
}

// call is the state one hedged call shares with its attempts' goroutines.
// Once it is decided, an attempt that finishes discards its own result
// rather than send it: nobody will read it, and an *http.Response must have
// its body closed. mu makes "decided" and "sent" exclusive, so no result is
// ever both delivered and discarded, or neither.
type call[T any] struct {
	mu      sync.Mutex
	decided bool
	results chan result[T]
	cancels []context.CancelFunc // per attempt; used by the caller's goroutine only
}

// launch starts the next attempt on a goroutine of its own.
func (c *call[T]) launch(ctx context.Context, fn func(context.Context) (T, error)) {
	actx, cancel := context.WithCancel(ctx)
	c.cancels = append(c.cancels, cancel)
	go c.attempt(actx, len(c.cancels)-1, fn)
}

func (c *call[T]) attempt(ctx context.Context, i int, fn func(context.Context) (T, error)) {
	r := result[T]{attempt: i}
	defer func() {
		if v := recover(); v != nil {
			r.panicked, r.panicValue = true, v
		}
		if !c.deliver(r) && r.panicked {
			panic(r.panicValue) // the call was decided: no caller to hand the panic to
		}
	}()
	if err := ctx.Err(); err != nil {
		r.err = err // decided, or the caller gave up, before this goroutine ran: fn is not called
		return
	}
	r.v, r.err = fn(ctx)
}

// deliver sends r to the caller, or discards it when the call is decided.
func (c *call[T]) deliver(r result[T]) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decided {
		discard(&r.v)
		return false
	}
	c.results <- r
	return true
}

// ready returns a result already delivered, if there is one.
func (c *call[T]) ready() (result[T], bool) {
	select {
	case r := <-c.results:
		return r, true
	default:
		return result[T]{}, false
	}
}

// decide ends the call: later results are discarded by their attempts,
// results delivered but not read are discarded here, and every attempt but
// the winner (-1: none) is cancelled. A panic among the unread results is
// re-raised on the caller's goroutine.
func (c *call[T]) decide(winner int) {
	var panicValue any
	panicked := false
	c.mu.Lock()
	c.decided = true
	for {
		r, ok := c.ready()
		if !ok {
			break
		}
		if r.panicked && !panicked {
			panicked, panicValue = true, r.panicValue
		}
		discard(&r.v)
	}
	c.mu.Unlock()
	for i, cancel := range c.cancels {
		if i != winner {
			cancel()
		}
	}
	if panicked {
		panic(panicValue)
	}
}
