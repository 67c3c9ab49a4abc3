// Package gctest checks that an object can be garbage-collected once its
// user drops it: that nothing the object registered — a metric callback
// held by a MeterProvider, a timer, a goroutine — keeps it alive. It backs
// the house rule that metric callbacks never keep their owner alive
// (docs/CONVENTIONS.md).
package gctest

import (
	"runtime"
	"testing"
	"weak"
)

// attempts bounds the collections Collected waits through: cleanups and
// weak pointers are settled by a collection, and a few more cover objects
// freed in the second cycle after their finalizers ran.
const attempts = 50

// Collected calls build, keeps no reference to what it returns, and fails
// t unless that object is garbage-collected within a bounded number of
// collections. Whatever build registers the object with (a MeterProvider
// with a reader, say) must stay reachable from the caller during the call,
// or the check proves nothing: keep it in a variable used afterwards.
func Collected[T any](t testing.TB, build func() *T) {
	t.Helper()
	w := makeWeak(build)
	for range attempts {
		runtime.GC()
		if w.Value() == nil {
			return
		}
		runtime.Gosched()
	}
	t.Errorf("gctest: a %T dropped by its user is still reachable after %d collections: something it registered (a metric callback that captures it?) keeps it alive",
		(*T)(nil), attempts)
}

// makeWeak builds the object in a frame of its own, so that no stack slot
// of Collected's holds it.
//
//go:noinline
func makeWeak[T any](build func() *T) weak.Pointer[T] {
	return weak.Make(build())
}
