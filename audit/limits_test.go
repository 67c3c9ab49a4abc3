package audit

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHugeRequestFieldsAreCappedBeforeTheyAreStored is issue #15's fourth
// attack: an unauthenticated request with a 400 KB User-Agent and a 400 KB
// path wrote about 800 KB durably per request into the log.
func TestHugeRequestFieldsAreCappedBeforeTheyAreStored(t *testing.T) {
	dir := t.TempDir()
	l, _ := newFileLogger(t, dir, nil)
	ua, path := strings.Repeat("U", 400<<10), "/"+strings.Repeat("p", 400<<10)
	nested := map[string]any{"note": strings.Repeat("n", 5000), strings.Repeat("k", 3000): "v",
		"list": []any{strings.Repeat("l", 3000), 7}, "tags": []string{strings.Repeat("t", 3000)},
		"labels": map[string]string{"x": strings.Repeat("x", 3000)}}
	e := Event{Action: "http.request", Outcome: Denied, Reason: strings.Repeat("r", 9000),
		Actor:    Actor{ID: "anonymous", IP: "203.0.113.7", UserAgent: ua},
		Resource: Resource{Type: "route", ID: path}, Metadata: nested}
	require.NoError(t, l.Log(context.Background(), e))
	require.NoError(t, l.Close())

	lines, _ := readLines(t, dir)
	r, err := DecodeLine(lines[0])
	require.NoError(t, err)
	assert.Less(t, len(lines[0]), 20<<10, "the record is a few KiB, not 800 KB")
	for name, v := range map[string]string{"user agent": r.Event.Actor.UserAgent, "path": r.Event.Resource.ID, "reason": r.Event.Reason,
		"metadata value": r.Event.Metadata["note"].(string), "list item": r.Event.Metadata["list"].([]any)[0].(string),
		"[]string item": r.Event.Metadata["tags"].([]any)[0].(string), "map[string]string value": r.Event.Metadata["labels"].(map[string]any)["x"].(string)} {
		assert.LessOrEqual(t, len(v), DefaultMaxFieldSize, name)
		assert.Regexp(t, `…\[truncated: \d+ bytes\]$`, v, name)
	}
	assert.True(t, strings.HasSuffix(r.Event.Actor.UserAgent, "…[truncated: 409600 bytes]"), "the marker gives the whole size")
	assert.Equal(t, "anonymous", r.Event.Actor.ID, "short fields are untouched")
	for k := range r.Event.Metadata {
		assert.LessOrEqual(t, len(k), DefaultMaxFieldSize, "keys are capped too")
	}
	// The caller's values are not changed.
	assert.Len(t, nested["note"], 5000)
	assert.Len(t, nested["list"].([]any)[0], 3000)
	assert.Len(t, nested["tags"].([]string)[0], 3000)
	assert.Len(t, nested["labels"].(map[string]string)["x"], 3000)
	_, ok := nested[strings.Repeat("k", 3000)]
	assert.True(t, ok)
}

func TestEventsOverMaxEventSizeAreRefused(t *testing.T) {
	l, _ := newFileLogger(t, t.TempDir(), func(c *Config, _ *FileSinkConfig) { c.MaxFieldSize, c.MaxEventSize = 100, 1000 })
	defer func() { require.NoError(t, l.Close()) }()
	many := map[string]any{}
	for i := range 20 {
		many[strings.Repeat("k", i+1)] = strings.Repeat("v", 90)
	}
	err := l.Log(context.Background(), Event{Action: "x", Outcome: Success, After: many})
	require.ErrorIs(t, err, ErrInvalidEvent)
	assert.Contains(t, err.Error(), "Config.MaxEventSize (1000)")
	require.NoError(t, l.Log(context.Background(), Event{Action: "x", Outcome: Success, After: map[string]any{"one": strings.Repeat("v", 5000)}}),
		"one long field is cut, not refused")
}

func TestSizeLimitsAreValidated(t *testing.T) {
	sink, err := NewFileSink(FileSinkConfig{Dir: t.TempDir()})
	require.NoError(t, err)
	for _, c := range []struct {
		field, event int
		want         string
	}{
		{10, 0, "Config.MaxFieldSize must be at least 96"},
		{-1, 0, "Config.MaxFieldSize must be at least 96"},
		{4096, 1024, "Config.MaxEventSize must be between"},
		{0, maxLineSize, "Config.MaxEventSize must be between"},
	} {
		_, err := New(Config{Sinks: []Sink{sink}, SigningKey: testKey(t), MaxFieldSize: c.field, MaxEventSize: c.event})
		assert.ErrorContains(t, err, c.want)
	}
}

func TestTruncateTextCutsOnARuneBoundary(t *testing.T) {
	for _, s := range []string{strings.Repeat("é", 100), strings.Repeat("日本", 50), strings.Repeat("🙂", 40) + "x", strings.Repeat("a", 64)} {
		for limit := minFieldSize; limit <= minFieldSize+16; limit++ {
			got := truncateText(s, limit)
			assert.LessOrEqual(t, len(got), limit)
			assert.True(t, utf8.ValidString(got), "%q cut to %d", s, limit)
			if len(s) <= limit {
				assert.Equal(t, s, got)
			} else {
				assert.True(t, strings.HasPrefix(s, strings.TrimSuffix(got, truncatedMarker(len(s)))))
			}
		}
	}
}
