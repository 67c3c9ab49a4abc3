package health_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
	"github.com/keel-go/keel/metrics/health"
)

func TestSQLPingAgainstPostgres(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	check := health.SQLPing(pg.DB)
	require.NoError(t, check(context.Background()))

	require.NoError(t, pg.DB.Close())
	err := check(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "health: database ping: ")
}

func TestPingAgainstRedis(t *testing.T) {
	rd := testenv.RedisPrefix(t)
	check := health.Ping(health.PingFunc(func(ctx context.Context) error { return rd.Client.Ping(ctx).Err() }))
	require.NoError(t, check(context.Background()))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := check(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestDiskSpace(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, health.DiskSpace(dir, 0, 0)(context.Background()))

	err := health.DiskSpace(dir, 1<<62, 0)(context.Background())
	require.Error(t, err)
	assert.False(t, health.IsWarning(err))
	assert.Contains(t, err.Error(), "free, below 4.0 EiB")

	err = health.DiskSpace(dir, 0, 1<<62)(context.Background())
	require.Error(t, err)
	assert.True(t, health.IsWarning(err), "below the warning threshold only")

	err = health.DiskSpace(dir+"/missing", 0, 0)(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "health: disk space of ")
}

func TestLastSuccessWithin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var last time.Time
		check := health.LastSuccessWithin(func() time.Time { return last }, 24*time.Hour)
		assert.EqualError(t, check(context.Background()), "health: no success recorded")

		last = time.Now()
		require.NoError(t, check(context.Background()))
		time.Sleep(24 * time.Hour)
		require.NoError(t, check(context.Background()), "exactly at the limit is fresh")
		time.Sleep(time.Hour)
		assert.EqualError(t, check(context.Background()), "health: last success 25h0m0s ago, older than 24h0m0s")
	})
}

func TestWarn(t *testing.T) {
	assert.NoError(t, health.Warn(nil))
	assert.False(t, health.IsWarning(context.Canceled))
	w := health.Warn(context.Canceled)
	assert.True(t, health.IsWarning(w))
	assert.ErrorIs(t, w, context.Canceled)
}
