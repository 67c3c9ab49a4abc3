package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkShard verifies a shard's invariants: every key in use is found at its
// own slot through the index, the index counts exactly the slots in use, no
// slot is both free and in use, and the shard holds at most its size.
func checkShard(t *testing.T, s *keyedShard) {
	t.Helper()
	used := 0
	onFreeList := map[int32]bool{}
	for _, i := range s.free {
		onFreeList[i] = true
	}
	for i := range s.slots {
		sl := &s.slots[i]
		if !sl.used {
			continue
		}
		used++
		require.False(t, onFreeList[int32(i)], "slot %d is in use and free", i)
		require.Equal(t, int32(i), s.lookup(sl.key, sl.hash), "key %q not found at its slot", sl.key)
	}
	require.Equal(t, used, s.tracked())
	require.LessOrEqual(t, len(s.slots), int(s.size))
	require.LessOrEqual(t, 2*s.tracked(), len(s.index), "index more than half full")
	cells := 0
	for _, v := range s.index {
		if v != 0 {
			cells++
		}
	}
	require.Equal(t, used, cells)
}

// TestKeyedTableSurvivesChurn drives one small shard through random inserts,
// idle expiry and CLOCK evictions and checks its index after every step.
func TestKeyedTableSurvivesChurn(t *testing.T) {
	k, err := NewKeyed(KeyedConfig{Limit: 1, Period: time.Second, MaxKeys: 50, IdleTimeout: 3 * time.Second})
	require.NoError(t, err)
	defer k.Close()
	require.Len(t, k.shards, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	var now int64
	for step := range 20_000 {
		now += rng.Int64N(int64(100 * time.Millisecond))
		key := fmt.Sprint("k", rng.IntN(200))
		k.allowAt(key, 1, now)
		s := &k.shards[0]
		require.GreaterOrEqual(t, s.lookup(key, hashOf(k, key)), int32(0), "step %d: the key just used is tracked", step)
		if step%97 == 0 {
			checkShard(t, s)
		}
	}
	checkShard(t, &k.shards[0])
	assert.Equal(t, 50, len(k.shards[0].slots))
}

func hashOf(k *Keyed, key string) uint64 {
	_, h := k.shard(key)
	return h
}

// TestKeyedClockKeepsKeysInUse checks the recency the CLOCK scheme keeps: a
// key used between every two new keys is never the one forgotten, however
// many one-off keys stream through a full limiter.
func TestKeyedClockKeepsKeysInUse(t *testing.T) {
	k, err := NewKeyed(KeyedConfig{Limit: 1, Period: time.Hour, MaxKeys: 64})
	require.NoError(t, err)
	defer k.Close()
	var now int64
	require.True(t, k.allowAt("regular", 1, now))
	for i := range 10_000 {
		now++
		k.allowAt(fmt.Sprint("once-", i), 1, now)
		require.False(t, k.allowAt("regular", 1, now), "after %d one-off keys, regular was forgotten and got a full bucket", i+1)
	}
	assert.Equal(t, 64, k.Len())
}
