package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// Two instances share PostgreSQL and Redis: a customer cached on both is
// changed through one, and the other serves the new value (the Redis tier's
// pub/sub invalidation), not its stale local copy. Redis holds no PII in clear.
func TestTwoInstancesShareTheCustomerCache(t *testing.T) {
	t.Parallel()
	pg := testenv.PostgresDatabase(t)
	rd := testenv.RedisPrefix(t)
	b := backend{name: "postgres+redis", dbURL: pg.DSN, flags: []string{"-redis", rd.Addr, "-redis-prefix", rd.Prefix}}
	a := start(t, t.TempDir(), b)
	dirB := t.TempDir()
	key, err := os.ReadFile(filepath.Join(a.DataDir, "keyring.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dirB, "keyring.json"), key, 0o600))
	bInst := start(t, dirB, b)

	const email = "shared.cache@example.com"
	id := a.createCustomer(email, "+1 555 0100 10")
	for _, in := range []*instance{a, bInst} { // warm both local tiers
		r := in.call("GET", "/v1/customers/"+id, in.Admin, nil)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "E2E Ltd", r.JSON(t)["company"])
	}
	require.Equal(t, http.StatusOK, a.call("PATCH", "/v1/customers/"+id, a.Admin, map[string]string{"company": "Changed Ltd"}).Status)
	deadline := time.Now().Add(2 * time.Second) // pub/sub delivery: milliseconds on loopback
	for {
		got := bInst.call("GET", "/v1/customers/"+id, bInst.Admin, nil).JSON(t)["company"]
		if got == "Changed Ltd" {
			break
		}
		require.True(t, time.Now().Before(deadline), "instance B still serves %q 2s after the write on A", got)
		time.Sleep(20 * time.Millisecond)
	}

	keys, err := rd.Client.Keys(context.Background(), rd.Prefix+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the shared tier is in Redis")
	for _, k := range keys {
		if rd.Client.Type(context.Background(), k).Val() != "string" {
			continue
		}
		v, err := rd.Client.Get(context.Background(), k).Result()
		if errors.Is(err, redis.Nil) {
			continue // expired since KEYS listed it (a rate-limit key lives until its bucket refills)
		}
		require.NoError(t, err)
		assert.False(t, strings.Contains(v, email) || strings.Contains(v, "0100 10"), "Redis key %s holds PII in clear", k)
	}
}
