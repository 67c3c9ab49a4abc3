package resilience

import (
	"fmt"

	"github.com/keel-go/keel/breaker"
)

// OrderError says which two policies of a pipeline are in the wrong order,
// or which one appears twice, and why that is a mistake.
type OrderError struct {
	// Outer and Inner are the indexes, in Config.Policies, of the policies
	// concerned (Outer < Inner).
	Outer, Inner int
	// Rule is the explanation.
	Rule string
	// Pipeline is the pipeline as given.
	Pipeline string
}

// Error names the policies and the rule.
func (e *OrderError) Error() string {
	return fmt.Sprintf("resilience: Config.Policies[%d] and [%d] are out of order in %s: %s (Config.AnyOrder skips this check)",
		e.Outer, e.Inner, e.Pipeline, e.Rule)
}

// rule forbids a kind of policy outside another (outer before inner in the
// list), or the same kind twice (outer == inner).
type rule struct {
	outer, inner kind
	why          string
}

// rules are the compositions that defeat one of their own policies. Each is
// a mistake, not a taste; the package documentation explains the order they
// leave.
var rules = []rule{
	{kindRetry, kindFallback, "a fallback inside a retry answers the failures the retry exists to repeat, so it never retries: put the fallback first (outermost)"},
	{kindHedge, kindFallback, "a fallback inside a hedge answers the failures of each attempt, so a slow failure wins the race as a success: put the fallback first (outermost)"},
	{kindBreaker, kindFallback, "a fallback inside a breaker answers the failures the breaker exists to count, so it never opens: put the fallback first (outermost)"},
	{kindTimeout, kindFallback, "a fallback inside a timeout cannot answer that timeout (the deadline has ended the caller's wait): put the fallback first (outermost)"},
	{kindLimit, kindFallback, "a fallback inside a rate limit or bulkhead cannot answer its refusals: put the fallback first (outermost)"},
	{kindBreaker, kindRetry, "a retry inside a breaker hides every failed attempt but the last from the breaker, and is not told when the break ends: put the retry outside the breaker"},
	{kindRetry, kindRetry, "two retries multiply their attempts (3 × 3 = 9 calls for one): keep one"},
	{kindHedge, kindRetry, "a retry inside a hedge makes each hedged attempt a whole retry loop, running side by side: put the retry outside the hedge"},
	{kindHedge, kindHedge, "two hedges multiply their attempts: keep one"},
	{kindBreaker, kindHedge, "a hedge inside a breaker sends its extra attempts whatever the breaker's state, and the breaker sees one call for several: put the hedge outside the breaker"},
	{kindBreaker, kindLimit, "a rate limit or bulkhead inside a breaker has its refusals counted as the dependency's failures, so it opens the breaker: put it outside the breaker"},
}

// checkOrder applies the rules to every ordered pair of layers, and checks
// that a per-attempt timeout is shorter than the overall one around it.
func checkOrder(layers []layer) error {
	for i := range layers {
		for j := i + 1; j < len(layers); j++ {
			for _, r := range rules {
				if layers[i].kind == r.outer && layers[j].kind == r.inner {
					return &OrderError{Outer: i, Inner: j, Rule: r.why, Pipeline: (&Pipeline{layers: layers}).String()}
				}
			}
			if layers[i].kind == kindHedge && layers[j].kind == kindBreaker {
				if watched, _ := layers[i].hedge.Breaker().(*breaker.Breaker); watched != layers[j].breaker {
					return &OrderError{Outer: i, Inner: j, Pipeline: (&Pipeline{layers: layers}).String(),
						Rule: "the hedge does not watch this breaker (hedge.Config.Breaker), so it sends hedges while the breaker is open or half-open, where they only meet rejections or crowd its probes: give the hedge this breaker"}
				}
			}
			if layers[i].kind == kindTimeout && layers[j].kind == kindTimeout &&
				layers[j].timeout.Timeout() >= layers[i].timeout.Timeout() && repeatsBetween(layers[i+1:j]) {
				return &OrderError{Outer: i, Inner: j, Pipeline: (&Pipeline{layers: layers}).String(),
					Rule: "the per-attempt timeout is not shorter than the overall one around it, so the first attempt that times out leaves no time for another: make the inner timeout shorter"}
			}
		}
	}
	return nil
}

// repeatsBetween reports whether a retry or hedge lies in layers: a timeout
// inside one bounds an attempt; outside, the whole call.
func repeatsBetween(layers []layer) bool {
	for _, l := range layers {
		if l.kind == kindRetry || l.kind == kindHedge {
			return true
		}
	}
	return false
}
