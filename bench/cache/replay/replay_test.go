package replay

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-go/keel/bench/harness"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadARCExpandsRuns(t *testing.T) {
	keys, err := ReadARC(strings.NewReader("10 3 0 1\n\n20 1 0 2\n"))
	require.NoError(t, err)
	assert.Equal(t, []uint64{10, 11, 12, 20}, keys)
}

func TestReadLIRSSkipsMarkers(t *testing.T) {
	keys, err := ReadLIRS(strings.NewReader("5\n*\n7\n 5 \n"))
	require.NoError(t, err)
	assert.Equal(t, []uint64{5, 7, 5}, keys)
}

func TestMalformedTracesAreErrorsNamingTheLine(t *testing.T) {
	cases := []struct {
		name  string
		read  func(string) error
		input string
		want  string
	}{
		{"arc one field", arc, "1 1 0 0\n5\n", "line 2"},
		{"arc bad start", arc, "x 1 0 0\n", "line 1: start"},
		{"arc zero count", arc, "1 0 0 0\n", "count must be in"},
		{"arc huge count", arc, "1 99999999999 0 0\n", "count must be in"},
		{"lirs not a number", lirs, "1\n2\nabc\n", "line 3: key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(tc.input)
			require.ErrorIs(t, err, ErrMalformed)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func arc(s string) error  { _, err := ReadARC(strings.NewReader(s)); return err }
func lirs(s string) error { _, err := ReadLIRS(strings.NewReader(s)); return err }

func TestLoadChoosesTheFormatByName(t *testing.T) {
	dir := t.TempDir()
	arcPath := filepath.Join(dir, "t.lis.zst")
	f, err := os.Create(arcPath)
	require.NoError(t, err)
	zw, err := zstd.NewWriter(f)
	require.NoError(t, err)
	_, err = zw.Write([]byte("100 2 0 0\n"))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	lirsPath := filepath.Join(dir, "t.trace.gz")
	f, err = os.Create(lirsPath)
	require.NoError(t, err)
	gw := gzip.NewWriter(f)
	_, err = gw.Write([]byte("3\n*\n4\n"))
	require.NoError(t, err)
	require.NoError(t, gw.Close())
	require.NoError(t, f.Close())

	keys, err := Load(arcPath)
	require.NoError(t, err)
	assert.Equal(t, []uint64{100, 101}, keys)
	keys, err = Load(lirsPath)
	require.NoError(t, err)
	assert.Equal(t, []uint64{3, 4}, keys)

	_, err = Load(filepath.Join(dir, "t.csv"))
	assert.ErrorContains(t, err, "unknown trace format")
	_, err = Load(filepath.Join(dir, "absent.lis.zst"))
	assert.Error(t, err)
}

func TestReplayCountsHitsOnAKnownPattern(t *testing.T) {
	// A loop over 4 keys, 10 times: an LRU of 3 never hits (each key is
	// evicted just before it returns); an LRU of 4 hits all but the first
	// pass.
	var keys []uint64
	for range 10 {
		keys = append(keys, 1, 2, 3, 4)
	}
	for _, name := range []string{"keel", "golang-lru"} {
		c := contender(t, name)
		p, err := c.New(3)
		require.NoError(t, err)
		res := Replay(keys, p)
		p.Close()
		assert.Zero(t, res.HitRatio, name)
		assert.LessOrEqual(t, res.MaxLen, 3, name)

		p, err = c.New(4)
		require.NoError(t, err)
		res = Replay(keys, p)
		p.Close()
		assert.InDelta(t, 36.0/40, res.HitRatio, 1e-12, name)
		assert.Equal(t, 4, res.MaxLen, name)
	}
	assert.Zero(t, Replay(nil, nil).HitRatio)
}

func TestEveryContenderReplaysASyntheticTraceWithinCapacity(t *testing.T) {
	keys, err := harness.ScrambledZipf(20_000, 1.1, 5_000, 1)
	require.NoError(t, err)
	ratios := map[string]float64{}
	for _, c := range Contenders {
		p, err := c.New(500)
		require.NoError(t, err)
		res := Replay(keys, p)
		p.Close()
		ratios[c.Name] = res.HitRatio
		assert.Greater(t, res.HitRatio, 0.2, c.Name)
		assert.Less(t, res.HitRatio, 1.0, c.Name)
		assert.LessOrEqual(t, res.MaxLen, 500, c.Name)
	}
	assert.Equal(t, ratios["golang-lru"], ratios["keel"], "Keel without admission is exactly LRU")
	assert.Greater(t, ratios["keel-tinylfu"], ratios["keel"], "TinyLFU wins on a skewed trace")
}

func contender(t *testing.T, name string) Contender {
	for _, c := range Contenders {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no contender %q", name)
	return Contender{}
}
