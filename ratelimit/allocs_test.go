//go:build !race

package ratelimit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
)

// The race detector allocates on its own account, so this guard runs only
// without it.
func TestKeyedAllowDoesNotAllocateOnAHit(t *testing.T) {
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Limit: 10, Period: time.Second})
	require.NoError(t, err)
	defer k.Close()
	k.Allow("tracked")
	allocs := testing.AllocsPerRun(1000, func() { k.Allow("tracked") })
	assert.Zero(t, allocs)
}
