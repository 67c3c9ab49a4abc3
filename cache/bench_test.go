package cache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Package benchmarks: the cost of the hot paths on one goroutine. The
// comparisons with peer libraries live in the bench module (bench/cache).

func BenchmarkGet(b *testing.B) {
	for _, admission := range []bool{false, true} {
		b.Run(fmt.Sprintf("admission=%v", admission), func(b *testing.B) {
			// Twice the keys: shards fill unevenly (see Config.Capacity).
			c, err := New(Config[uint64, uint64]{Capacity: 1 << 17, TTL: time.Hour, Admission: admission})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for k := range uint64(1 << 16) {
				c.Set(k, k)
			}
			b.ReportAllocs()
			k := uint64(0)
			for b.Loop() {
				if _, ok := c.Get(k & (1<<16 - 1)); !ok {
					b.Fatal("miss")
				}
				k++
			}
		})
	}
}

func BenchmarkGetOrLoadHit(b *testing.B) {
	c, err := New(Config[string, int]{TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	loader := func(context.Context, string) (int, error) { return 1, nil }
	ctx := context.Background()
	if _, err := c.GetOrLoad(ctx, "customer:42", loader); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetOrLoad(ctx, "customer:42", loader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	for _, admission := range []bool{false, true} {
		b.Run(fmt.Sprintf("admission=%v", admission), func(b *testing.B) {
			c, err := New(Config[uint64, uint64]{Capacity: 1 << 14, TTL: time.Hour, Admission: admission})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			k := uint64(0)
			for b.Loop() {
				c.Set(k, k) // four times the capacity: evicts
				k = (k + 1) & (1<<16 - 1)
			}
		})
	}
}
