package breaker

import (
	"context"
	"log/slog"
)

// deliverIf delivers pending state changes when the caller made one.
func (b *Breaker) deliverIf(changed bool) {
	if changed {
		b.deliver()
	}
}

// deliver hands pending state changes to the metrics, the logger and the
// listeners, in the order they happened, without holding mu while they run.
// One goroutine delivers at a time; a change made meanwhile (even by a
// listener calling the breaker) is queued and delivered by that goroutine
// after the current one, so listeners never run concurrently, never out of
// order, and never deadlock.
func (b *Breaker) deliver() {
	b.mu.Lock()
	if b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	for len(b.pending) > 0 {
		change := b.pending[0]
		b.pending[0] = StateChange{}
		b.pending = b.pending[1:]
		b.mu.Unlock()
		b.announceOrStepDown(change)
		b.mu.Lock()
	}
	b.delivering = false
	b.mu.Unlock()
}

// announceOrStepDown announces c; if a listener panics, it gives up the
// delivering role before the panic continues, so that later changes are still
// delivered (by whichever goroutine makes the next one).
func (b *Breaker) announceOrStepDown(c StateChange) {
	announced := false
	defer func() {
		if !announced {
			b.mu.Lock()
			b.delivering = false
			b.mu.Unlock()
		}
	}()
	b.announce(c)
	announced = true
}

func (b *Breaker) announce(c StateChange) {
	b.metrics.transition(c.From, c.To)
	level := slog.LevelInfo
	if c.To == Open || c.To == ForcedOpen {
		level = slog.LevelWarn
	}
	b.logger.LogAttrs(context.Background(), level, "breaker: state changed",
		slog.String("breaker", c.Name), slog.String("from", c.From.String()),
		slog.String("to", c.To.String()), slog.Int("open_count", c.OpenCount))
	for _, l := range b.listeners {
		l(c)
	}
}
