package adaptive

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Permit released twice while another call is in flight frees one slot,
// not two: the limit still holds. Counting in-flight calls alone let the
// second release through, and two more calls were admitted over a limit of
// 2 (found in review).
func TestSecondReleaseIsIgnoredWhileOthersAreInFlight(t *testing.T) {
	l, err := New(Config{InitialLimit: 2, MinLimit: 2, MaxLimit: 2})
	require.NoError(t, err)
	ctx := WithPriority(context.Background(), Critical)
	a, err := l.Acquire(ctx)
	require.NoError(t, err)
	_, err = l.Acquire(ctx) // still running
	require.NoError(t, err)
	a.Release()
	a.Release()
	admitted := 0
	for range 5 {
		if _, err := l.Acquire(ctx); err == nil {
			admitted++
		}
	}
	assert.Equal(t, 1, admitted, "one slot was freed")
	assert.Equal(t, 2, l.InFlight())
}

// The same for a tenant's cap: a double release does not give the tenant a
// second slot.
func TestSecondReleaseDoesNotRaiseATenantsShare(t *testing.T) {
	l, err := New(Config{InitialLimit: 10, MinLimit: 10, MaxLimit: 10, TenantShare: 0.2})
	require.NoError(t, err)
	ctx := WithPriority(WithTenant(context.Background(), "t1"), Critical)
	a, err := l.Acquire(ctx)
	require.NoError(t, err)
	_, err = l.Acquire(ctx)
	require.NoError(t, err)
	a.Release()
	a.Release()
	admitted := 0
	for range 5 {
		if _, err := l.Acquire(ctx); err == nil {
			admitted++
		}
	}
	assert.Equal(t, 1, admitted, "the tenant's cap is 2 and one call is in flight")
}

// A Permit released after its slot was taken again by another call does
// not free that call's slot.
func TestStaleReleaseDoesNotFreeAnotherCallsSlot(t *testing.T) {
	l, err := New(Config{InitialLimit: 1, MinLimit: 1, MaxLimit: 1})
	require.NoError(t, err)
	ctx := WithPriority(context.Background(), Critical)
	a, err := l.Acquire(ctx)
	require.NoError(t, err)
	a.Release()
	_, err = l.Acquire(ctx) // takes a's slot again
	require.NoError(t, err)
	a.Release() // stale
	_, err = l.Acquire(ctx)
	assert.Error(t, err, "the second call still holds the only slot")
	assert.Equal(t, 1, l.InFlight())
}
