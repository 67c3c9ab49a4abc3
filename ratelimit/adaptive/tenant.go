package adaptive

import "context"

type tenantKey struct{}

// WithTenant returns a copy of ctx that carries tenant: the calls of one
// tenant may hold at most Config.TenantShare of the limit at once, so that
// one tenant's burst cannot take every slot. An empty tenant means none.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantFrom returns the tenant ctx carries, "" when it carries none.
func TenantFrom(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}

// tenants counts the calls each tenant has in flight. It holds an entry
// only while that tenant has a call in flight, so it never holds more
// entries than there are calls in flight (at most Config.MaxLimit): a
// stream of distinct tenant names cannot grow it, and no LRU or idle sweep
// is needed. Guarded by the Limiter's mutex.
type tenants map[string]int

// admit reports whether tenant may start one more call under cap, and
// counts it if so.
func (t tenants) admit(tenant string, cap int) bool {
	if tenant == "" {
		return true
	}
	n := t[tenant]
	if n >= cap {
		return false
	}
	t[tenant] = n + 1
	return true
}

// release uncounts one call of tenant; it reports false when tenant had
// none in flight (a Permit released twice).
func (t tenants) release(tenant string) bool {
	if tenant == "" {
		return true
	}
	n, ok := t[tenant]
	if !ok {
		return false
	}
	if n <= 1 {
		delete(t, tenant)
	} else {
		t[tenant] = n - 1
	}
	return true
}
