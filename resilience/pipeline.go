package resilience

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

// Policy is anything with Keel's execution shape. Every Keel policy has it:
// *retry.Policy, *breaker.Breaker, *timeout.Policy, *hedge.Policy,
// *fallback.Policy[T], *ratelimit.Limiter, *ratelimit.Bulkhead and
// *adaptive.Limiter (ratelimit/adaptive). A policy
// of your own may join a pipeline too, provided it calls fn at most once at a
// time (the pipeline passes values through it in a variable).
type Policy interface {
	Do(ctx context.Context, fn func(ctx context.Context) error) error
}

// kind is what the pipeline knows a layer to be.
type kind uint8

const (
	kindCustom kind = iota
	kindFallback
	kindTimeout
	kindRetry
	kindHedge
	kindLimit // *ratelimit.Limiter, *ratelimit.Bulkhead or *adaptive.Limiter
	kindBreaker
)

// layer is one policy of a pipeline, with its concrete type resolved once,
// at construction, so that a call dispatches on a small integer.
type layer struct {
	kind     kind
	policy   Policy // always set; used for custom policies and fallbacks of another T
	retry    *retry.Policy
	breaker  *breaker.Breaker
	timeout  *timeout.Policy
	hedge    *hedge.Policy
	limiter  *ratelimit.Limiter
	bulkhead *ratelimit.Bulkhead
	adaptive *adaptive.Limiter
}

// Pipeline runs calls through a list of policies, the first outermost. It is
// immutable and safe for concurrent use; each policy keeps its own state,
// metrics and errors.
type Pipeline struct {
	layers []layer
}

// Config configures a pipeline built with New.
type Config struct {
	// Policies, outermost first. At least one.
	Policies []Policy
	// AnyOrder skips the order rules that With enforces (see the package
	// documentation), for a composition they forbid on purpose. Default
	// false: the rules are checked.
	AnyOrder bool
}

// With returns a pipeline of policies, outermost first, or an error that
// names a policy out of the recommended order and says why (see "Choosing
// the order" in the package documentation). It is New(Config{Policies:
// policies}).
func With(policies ...Policy) (*Pipeline, error) {
	return New(Config{Policies: policies})
}

// New returns a pipeline, or an error naming the invalid policy.
func New(cfg Config) (*Pipeline, error) {
	if len(cfg.Policies) == 0 {
		return nil, fmt.Errorf("resilience: Config.Policies is empty: a pipeline needs at least one policy")
	}
	p := &Pipeline{layers: make([]layer, len(cfg.Policies))}
	for i, pol := range cfg.Policies {
		l, err := resolve(pol)
		if err != nil {
			return nil, fmt.Errorf("resilience: Config.Policies[%d]: %w", i, err)
		}
		p.layers[i] = l
	}
	if !cfg.AnyOrder {
		if err := checkOrder(p.layers); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// resolve finds out what pol is.
func resolve(pol Policy) (layer, error) {
	if pol == nil {
		return layer{}, fmt.Errorf("is nil")
	}
	if rv := reflect.ValueOf(pol); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return layer{}, fmt.Errorf("is a nil %T", pol)
	}
	l := layer{policy: pol}
	switch v := pol.(type) {
	case *retry.Policy:
		l.kind, l.retry = kindRetry, v
	case *breaker.Breaker:
		l.kind, l.breaker = kindBreaker, v
	case *timeout.Policy:
		l.kind, l.timeout = kindTimeout, v
	case *hedge.Policy:
		l.kind, l.hedge = kindHedge, v
	case *ratelimit.Limiter:
		l.kind, l.limiter = kindLimit, v
	case *ratelimit.Bulkhead:
		l.kind, l.bulkhead = kindLimit, v
	case *adaptive.Limiter:
		l.kind, l.adaptive = kindLimit, v
	default:
		if isFallback(pol) {
			l.kind = kindFallback
		}
	}
	return l, nil
}

// isFallback reports whether pol is a *fallback.Policy[T] for some T: a
// generic type has no one type to switch on, so its package path and name
// are compared.
func isFallback(pol Policy) bool {
	t := reflect.TypeOf(pol)
	if t.Kind() != reflect.Pointer {
		return false
	}
	t = t.Elem()
	return t.PkgPath() == reflect.TypeFor[fallback.Config[int]]().PkgPath() && strings.HasPrefix(t.Name(), "Policy[")
}

// String lists the pipeline's policies, outermost first, with their names:
// "fallback(prices) → retry(payments) → breaker(payments) → timeout(2s)".
func (p *Pipeline) String() string {
	parts := make([]string, len(p.layers))
	for i, l := range p.layers {
		parts[i] = l.String()
	}
	return strings.Join(parts, " → ")
}

func (l layer) String() string {
	switch l.kind {
	case kindRetry:
		return "retry(" + l.retry.Name() + ")"
	case kindBreaker:
		return "breaker(" + l.breaker.Name() + ")"
	case kindTimeout:
		return "timeout(" + l.timeout.Name() + ", " + l.timeout.Timeout().String() + ")"
	case kindHedge:
		return "hedge(" + l.hedge.Name() + ")"
	case kindLimit:
		switch {
		case l.limiter != nil:
			return "ratelimit(" + l.limiter.Policy().Name + ")"
		case l.adaptive != nil:
			return "adaptive"
		}
		return "bulkhead"
	case kindFallback:
		if n, ok := l.policy.(interface{ Name() string }); ok {
			return "fallback(" + n.Name() + ")"
		}
	}
	return fmt.Sprintf("%T", l.policy)
}
