package cache

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRejectsBadConfigNamingTheField(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config[string, int]
		want string
	}{
		{"negative capacity", Config[string, int]{Capacity: -1}, "Config.Capacity must be >= 0, got -1"},
		{"negative shards", Config[string, int]{Shards: -2}, "Config.Shards must be >= 0, got -2"},
		{"more shards than capacity", Config[string, int]{Capacity: 4, Shards: 8}, "Config.Shards (8) must not exceed Config.Capacity (4)"},
		{"negative ttl", Config[string, int]{TTL: -time.Second}, "Config.TTL must be >= 0"},
		{"sliding without ttl", Config[string, int]{ExpireAfterAccess: true}, "Config.ExpireAfterAccess needs Config.TTL > 0"},
		{"jitter of one", Config[string, int]{TTL: time.Second, TTLJitter: 1}, "Config.TTLJitter must be in [0,1), got 1"},
		{"negative jitter", Config[string, int]{TTLJitter: -0.1}, "Config.TTLJitter must be in [0,1)"},
		{"refresh of one", Config[string, int]{TTL: time.Second, RefreshAhead: 1}, "Config.RefreshAhead must be in [0,1), got 1"},
		{"refresh without ttl", Config[string, int]{RefreshAhead: 0.5}, "Config.RefreshAhead needs Config.TTL > 0"},
		{"refresh with sliding", Config[string, int]{TTL: time.Second, RefreshAhead: 0.5, ExpireAfterAccess: true}, "Config.RefreshAhead cannot be combined with Config.ExpireAfterAccess"},
		{"negative stale", Config[string, int]{StaleIfError: -1}, "Config.StaleIfError must be >= 0"},
		{"negative negative ttl", Config[string, int]{NegativeTTL: -1}, "Config.NegativeTTL must be >= 0"},
		{"negative load timeout", Config[string, int]{LoadTimeout: -1}, "Config.LoadTimeout must be >= 0"},
		{"ttl and expire after", Config[string, int]{TTL: time.Second, ExpireAfter: func(string, int, Write) time.Duration { return 0 }}, "Config.TTL (1s) and Config.ExpireAfter are exclusive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
			assert.Regexp(t, "^cache: ", err.Error())
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config[string, int]{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, DefaultCapacity, cfg.Capacity)
	assert.Equal(t, DefaultLoadTimeout, cfg.LoadTimeout)
	assert.Equal(t, DefaultCleanupInterval, cfg.CleanupInterval)
	assert.Equal(t, 10*time.Second, cfg.NegativeTTL)
	assert.Equal(t, DefaultName, cfg.Name)
	assert.GreaterOrEqual(t, cfg.Shards, 1)

	cfg, err = Config[string, int]{TTL: time.Minute}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 6*time.Second, cfg.NegativeTTL, "a tenth of the TTL")
}

func TestShardCountKeepsShardsLargeEnough(t *testing.T) {
	cases := []struct{ capacity, cpus, want int }{
		{1, 8, 1},
		{1000, 8, 1},
		{8191, 8, 1},
		{8192, 8, 2},
		{100_000, 2, 8},
		{100_000, 64, 24},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, shardCount(tc.capacity, tc.cpus), "capacity %d cpus %d", tc.capacity, tc.cpus)
	}
}
