package cache

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A value too heavy to store removes the key's older value, and OnEvict
// hears of it like any entry that leaves the cache; it was removed in
// silence (found in review), so accounts kept through OnEvict drifted.
func TestTooHeavyWriteReportsTheValueItRemoves(t *testing.T) {
	type evicted struct {
		key    int
		value  string
		reason EvictionReason
	}
	var got []evicted
	c := newTestCache(t, Config[int, string]{Capacity: 100, Shards: 1, Weigher: byLength,
		OnEvict: func(k int, v string, r EvictionReason) { got = append(got, evicted{k, v, r}) }})
	require.NoError(t, c.Set(1, "old"))
	require.ErrorIs(t, c.Set(1, string(make([]byte, 101))), ErrTooHeavy)
	_, ok := c.Get(1)
	assert.False(t, ok, "the out-of-date value is gone")
	assert.Equal(t, []evicted{{1, "old", Evicted}}, got)
}
