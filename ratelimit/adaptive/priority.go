package adaptive

import (
	"context"
	"fmt"
)

// Priority is how much a call matters when the limiter must refuse some.
// Under saturation Low calls are refused first, then Normal ones; Critical
// calls are refused only when the whole limit is in use.
type Priority int8

// The priority classes. The zero value is Normal.
const (
	// Low is work that may be shed first: prefetches, batch jobs, retries
	// of background tasks. It may fill Config.LowShare of the limit.
	Low Priority = -1
	// Normal is ordinary traffic. It may fill Config.NormalShare of the
	// limit.
	Normal Priority = 0
	// Critical is work that must get through while anything does: health
	// checks of dependents, payments, the control plane. It may fill the
	// whole limit.
	Critical Priority = 1
)

// String returns "low", "normal" or "critical".
func (p Priority) String() string {
	switch p {
	case Low:
		return "low"
	case Normal:
		return "normal"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("Priority(%d)", int8(p))
}

// class maps p onto the three classes: anything below Low counts as Low and
// anything above Critical as Critical, so a stray value never panics and
// never gains room.
func (p Priority) class() Priority {
	return min(max(p, Low), Critical)
}

// index is p's position in per-class arrays (low, normal, critical).
func (p Priority) index() int { return int(p.class() - Low) }

// classCount is the number of priority classes.
const classCount = 3

type priorityKey struct{}

// WithPriority returns a copy of ctx that carries p: Limiter.Do, Acquire
// and Wrap (unless Config.RequestPriority is set) read it from there.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority ctx carries, Normal when it carries
// none.
func PriorityFrom(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}
