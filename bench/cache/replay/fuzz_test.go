package replay

import (
	"errors"
	"strings"
	"testing"
)

func FuzzReadARC(f *testing.F) {
	f.Add("10 3 0 1\n20 1 0 2\n")
	f.Add("1 0 0 0\n")
	f.Add("x")
	f.Fuzz(func(t *testing.T, input string) {
		keys, err := ReadARC(strings.NewReader(input))
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if err == nil && len(keys) > maxARCRun*(strings.Count(input, "\n")+1) {
			t.Fatalf("%d keys from %d lines", len(keys), strings.Count(input, "\n")+1)
		}
	})
}

func FuzzReadLIRS(f *testing.F) {
	f.Add("5\n*\n7\n")
	f.Add("-1\n")
	f.Fuzz(func(t *testing.T, input string) {
		if _, err := ReadLIRS(strings.NewReader(input)); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
	})
}
