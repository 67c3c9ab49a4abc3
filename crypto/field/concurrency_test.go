package field

import (
	"bytes"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Ring and BlindIndex are shared by every request of a service: they must be
// safe (and give the same answers) under concurrent use. Run with -race.
func TestConcurrentUse(t *testing.T) {
	r := newRing(t, 2, fixedKey(1, 0, 1), fixedKey(2, AES256GCM, 2))
	idx, err := NewBlindIndex(IndexConfig{Key: indexKey(1), Name: "c", Bits: 64, Normalize: NormalizeEmail})
	if err != nil {
		t.Fatal(err)
	}
	want := idx.Sum("ann@example.com")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ctx := Context("t", strconv.Itoa(g), strconv.Itoa(i))
				pt := []byte(strconv.Itoa(g*1000 + i))
				ct, err := r.Encrypt(pt, ctx)
				if err != nil {
					errs <- err.Error()
					return
				}
				got, err := r.Decrypt(ct, ctx)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- "round trip failed"
					return
				}
				if !bytes.Equal(idx.Sum("Ann@Example.com"), want) {
					errs <- "blind index differs under concurrency"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		assert.Fail(t, e)
	}
}
