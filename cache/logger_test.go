package cache

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The error path is the one least exercised: with no Logger configured, a
// failed load and a failed refresh must log nowhere and not panic.
func TestFailedLoadsWithANilLoggerDoNotPanic(t *testing.T) {
	c := newTestCache(t, Config[string, int]{Capacity: 10})
	require.NotNil(t, c.cfg.Logger, "New sets a discarding logger once")
	boom := errors.New("boom")
	failing := func(context.Context, string) (int, error) { return 0, boom }
	require.NotPanics(t, func() {
		_, err := c.GetOrLoad(context.Background(), "k", failing)
		require.ErrorIs(t, err, boom)
		_, err = c.GetOrLoadMany(context.Background(), []string{"a", "b"}, func(context.Context, []string) (map[string]int, error) {
			return nil, boom
		})
		require.ErrorIs(t, err, boom)
	})
	assert.Equal(t, uint64(2), c.Stats().LoadErrors)
}

func TestFailedLoadIsLoggedWithoutTheKey(t *testing.T) {
	var buf bytes.Buffer
	c := newTestCache(t, Config[string, int]{Capacity: 10, Name: "customers",
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	_, err := c.GetOrLoad(context.Background(), "secret-key", func(context.Context, string) (int, error) {
		return 0, errors.New("db down")
	})
	require.Error(t, err)
	assert.Contains(t, buf.String(), "cache: load failed")
	assert.Contains(t, buf.String(), "cache=customers")
	assert.NotContains(t, buf.String(), "secret-key")
}
