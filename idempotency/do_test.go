package idempotency_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/idempotency"
)

func TestDo(t *testing.T) {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	require.NoError(t, err)
	ctx := context.Background()
	runs := 0
	fail := errors.New("payment provider timed out")
	charge := func(err error) func(context.Context) (idempotency.Outcome, error) {
		return func(context.Context) (idempotency.Outcome, error) {
			runs++
			if err != nil {
				return idempotency.Outcome{}, err
			}
			return idempotency.Outcome{Status: 200, Body: []byte("charged")}, nil
		}
	}

	_, _, err = m.Do(ctx, "jobs", "k", nil, charge(fail))
	require.ErrorIs(t, err, fail, "fn's error is returned and the key released")

	out, replayed, err := m.Do(ctx, "jobs", "k", nil, charge(nil))
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, "charged", string(out.Body))

	out, replayed, err = m.Do(ctx, "jobs", "k", nil, charge(nil))
	require.NoError(t, err)
	assert.True(t, replayed)
	assert.Equal(t, "charged", string(out.Body))
	assert.Equal(t, 2, runs, "the failed attempt and the successful one; the replay did not run fn")

	_, _, err = m.Do(ctx, "jobs", "k", []byte("other"), charge(nil))
	require.ErrorIs(t, err, idempotency.ErrMismatch)

	require.Panics(t, func() {
		_, _, _ = m.Do(ctx, "jobs", "p", nil, func(context.Context) (idempotency.Outcome, error) { panic("boom") })
	})
	_, replayed, err = m.Do(ctx, "jobs", "p", nil, charge(nil))
	require.NoError(t, err, "a panic released the key")
	assert.False(t, replayed)
}
