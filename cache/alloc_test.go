package cache

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetHitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	modes(t, func(t *testing.T, admission bool) {
		ints := newTestCache(t, Config[uint64, int]{Admission: admission})
		ints.Set(42, 1)
		strs := newTestCache(t, Config[string, []byte]{Admission: admission})
		key := strconv.Itoa(12345)
		strs.Set(key, []byte("v"))
		type compound struct {
			tenant string
			id     int64
		}
		structs := newTestCache(t, Config[compound, int]{Admission: admission})
		structs.Set(compound{"acme", 7}, 1)

		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			_, ok := ints.Get(42)
			require.True(t, ok)
		}), "uint64 key")
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			_, ok := strs.Get(key)
			require.True(t, ok)
		}), "string key")
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			_, ok := structs.Get(compound{"acme", 7})
			require.True(t, ok)
		}), "struct key")
	})
}
