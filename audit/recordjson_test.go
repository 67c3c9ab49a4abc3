package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordJSONIsTheStoredLine: a Record read from a log encodes as its
// stored line, byte for byte, and decodes back through DecodeLine; an
// edited line does not decode.
func TestRecordJSONIsTheStoredLine(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 3, nil)
	lines, _ := readLines(t, dir)
	require.NotEmpty(t, lines)
	var recs []*Record
	for _, l := range lines {
		r, err := DecodeLine(l)
		require.NoError(t, err)
		recs = append(recs, r)
	}
	out, err := json.Marshal(recs)
	require.NoError(t, err)
	want := "[" + string(joinLines(lines, ",")) + "]"
	assert.Equal(t, want, string(out), "an array of records is an array of the stored lines")
	assert.NotContains(t, string(out), `"Seq"`)
	assert.NotContains(t, string(out), `"Line"`)

	var back []Record
	require.NoError(t, json.Unmarshal(out, &back))
	require.Len(t, back, len(recs))
	for i := range back {
		assert.Equal(t, recs[i].Seq, back[i].Seq)
		assert.Equal(t, recs[i].Hash, back[i].Hash)
		assert.Equal(t, string(lines[i]), string(back[i].Line))
	}
	edited := strings.Replace(string(lines[1]), `"action":"`, `"action":"x`, 1)
	var r Record
	assert.ErrorIs(t, json.Unmarshal([]byte(edited), &r), ErrHashMismatch)
}

// TestRecordJSONWithoutLine: a Record built by hand encodes as a Logger
// would write it, which DecodeLine reads back.
func TestRecordJSONWithoutLine(t *testing.T) {
	r := Record{Seq: 7, Kind: KindEvent, Time: time.Date(2026, 12, 1, 10, 0, 0, 5e8, time.UTC),
		LogID: strings.Repeat("a", 32), Prev: strings.Repeat("b", 64),
		Event: &Event{Action: "license.update", Outcome: Success, Actor: Actor{ID: "u1"}, After: map[string]any{"seats": 25}}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), `{"v":2,"seq":7,"kind":"event","time":"2026-12-01T10:00:00.5Z","log":"`), string(b))
	got, err := DecodeLine(b)
	require.NoError(t, err)
	assert.Equal(t, "license.update", got.Event.Action)
	assert.Equal(t, "u1", got.Event.Actor.ID)
}

// TestEventJSONNames: an Event encodes with the stored record's member
// names, and empty members are left out.
func TestEventJSONNames(t *testing.T) {
	b, err := json.Marshal(Event{Action: "order.create", Outcome: Success, Resource: Resource{Type: "order", ID: "ord_1"}, RequestID: "r1"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"action":"order.create","outcome":"success","resource":{"type":"order","id":"ord_1"},"request_id":"r1"}`, string(b))
}

func joinLines(lines [][]byte, sep string) []byte {
	var out []byte
	for i, l := range lines {
		if i > 0 {
			out = append(out, sep...)
		}
		out = append(out, l...)
	}
	return out
}
