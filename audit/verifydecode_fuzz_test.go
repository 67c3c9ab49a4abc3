package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sealBody turns a canonical body (a JSON object's bytes, ending with '}')
// into a line with the correct "hash" member, as seal does, without
// looking at what the body holds.
func sealBody(body []byte) []byte {
	sum := sha256.Sum256(body)
	line := append(bytes.Clone(body[:len(body)-1]), `,"hash":"`...)
	line = hex.AppendEncode(line, sum[:])
	return append(line, `"}`...)
}

// bodyOf returns what sealBody should seal for a fuzz input: the canonical
// body of a line, or the input itself when it already looks like a body.
func bodyOf(in []byte) ([]byte, bool) {
	if body, _, ok := canonicalBody(in); ok {
		return body, true
	}
	if len(in) >= 2 && in[len(in)-1] == '}' {
		return in, true
	}
	return nil, false
}

// checkFastAgrees runs the fast path on line and, when it takes the line,
// checks the invariant documented on lineDecoder: DecodeLine accepts the
// line too and reads the same members. It reports whether the fast path
// took the line.
func checkFastAgrees(t testing.TB, line []byte) bool {
	t.Helper()
	in := bytes.Clone(line)
	var r vrec
	if !newLineDecoder().fast(line, &r) {
		return false
	}
	require.Equal(t, in, line, "the fast path must not write into the line")
	rec, err := DecodeLine(line)
	require.NoError(t, err, "the fast path took a line DecodeLine rejects: %q", line)
	require.Equal(t, rec.Version, r.version, "version of %q", line)
	require.Equal(t, rec.Seq, r.seq, "seq of %q", line)
	require.Equal(t, rec.Kind, r.kind, "kind of %q", line)
	require.Equal(t, rec.LogID, string(r.log), "log of %q", line)
	require.Equal(t, rec.Prev, string(r.prev), "prev of %q", line)
	require.Equal(t, rec.Hash, string(r.hash), "hash of %q", line)
	require.Equal(t, rec.timeText, string(r.timeText), "time of %q", line)
	switch rec.Kind {
	case KindCheckpoint:
		require.NotNil(t, rec.Checkpoint)
		require.Equal(t, rec.Checkpoint.Reason, string(r.reason), "checkpoint reason of %q", line)
		require.Equal(t, rec.Checkpoint.KeyID, string(r.keyID), "checkpoint key_id of %q", line)
		require.Equal(t, rec.Checkpoint.Sig, string(r.sig), "checkpoint sig of %q", line)
	case KindGap:
		require.NotNil(t, rec.Gap)
		require.Equal(t, rec.Gap.Dropped, r.dropped, "gap dropped of %q", line)
	default:
		require.Empty(t, r.reason)
		require.Empty(t, r.keyID)
		require.Empty(t, r.sig)
		require.Zero(t, r.dropped)
	}
	// decode, which Verify calls, gives the same whichever path it takes.
	var viaDecode vrec
	require.NoError(t, newLineDecoder().decode(line, &viaDecode))
	require.Equal(t, r, viaDecode)
	return true
}

// dirLines returns a copy of every line of the log in dir, in order.
func dirLines(t testing.TB, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(t, err)
		out = append(out, bytes.Clone(line.Bytes))
	}
	return out
}

// Actions of richEvents that the fast path leaves to DecodeLine: their
// action is written with JSON escapes, or their values nest deeper than
// maxFastDepth.
const (
	actionEscaped = `license."quoted" <b>&`
	actionBadUTF8 = "license.\xffupdate"
	actionDeep    = "deep.nesting"
)

func nest(depth int, leaf any) any {
	v := leaf
	for range depth {
		v = map[string]any{"n": v}
	}
	return v
}

// richEvents are events with every JSON type in before, after and
// metadata, unicode, escapes, fields the redactor treats, values the
// writer truncates, and the shapes the fast path declines.
func richEvents() []Event {
	base := time.Date(2026, 11, 21, 5, 21, 22, 0, time.UTC)
	all := map[string]any{
		"string": "plain", "empty": "", "int": 42, "neg": -7, "zero": 0, "float": 3.25, "tiny": 1e-300, "huge": 1e300,
		"number": json.Number("123456789012345678901234567890"), "exp": json.Number("-1.5E+7"),
		"true": true, "false": false, "null": nil,
		"array":  []any{1, "a", nil, true, []any{}, map[string]any{}, []any{[]any{2.5}}},
		"object": map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": false}}}},
		"emptyo": map[string]any{}, "emptya": []any{},
		"escapes": "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f ctl\x01\x1f del\x7f html<>&",
		"unicode": "Zoë 日本語 🎉 \u2028\u2029 \ufeff",
		"badutf8": "a\xffb\xc3(",
		"bytes":   []byte("hi\x00there"),
		"strings": []string{"x", "y"},
		"k\"ey\\": "key with escapes", "ключ": "значение", "": "empty key", "\u2028": "separator key",
	}
	long := strings.Repeat("ü", 300) // cut to MaxFieldSize on a rune boundary
	return []Event{
		{
			Time:      base.Add(123 * time.Millisecond),
			Actor:     Actor{ID: "u-1", Type: "user", IP: "203.0.113.9", UserAgent: `Mozilla/5.0 (X11) "quoted" ü`},
			Action:    "license.update",
			Resource:  Resource{Type: "license", ID: "lic-7/ü"},
			Outcome:   Success,
			Reason:    "line1\nline2\t\"q\" \\ <b>&amp;",
			Tenant:    "tenant-ü-日本",
			RequestID: "req-1",
			TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736",
			SpanID:    "00f067aa0ba902b7",
			Before:    all,
			After:     map[string]any{"seats": 25, "nested": all},
			Metadata:  map[string]any{"source": "api", "tags": []any{"a", "b"}},
		},
		{Time: base.Add(time.Second), Action: "customer.read", Outcome: Failure},
		{Time: base.Add(time.Nanosecond), Action: "customer.delete", Outcome: Denied, Reason: "not an admin", Actor: Actor{ID: "u-2"}},
		{Time: base.Add(2 * time.Second), Action: "lizenz.änderung", Outcome: Success, Resource: Resource{ID: "only-id"}, Actor: Actor{UserAgent: "curl/8"}},
		{Time: base.Add(3 * time.Second), Action: actionEscaped, Outcome: Success},
		{Time: base.Add(4 * time.Second), Action: actionBadUTF8, Outcome: Success},
		{Time: base.Add(5 * time.Second), Action: actionDeep, Outcome: Success, After: map[string]any{"deep": nest(maxFastDepth+20, "leaf")}},
		{Time: base.Add(6 * time.Second), Action: "shallow.nesting", Outcome: Success, After: map[string]any{"deep": nest(maxFastDepth-5, []any{1})}},
		{
			Time: base.Add(7 * time.Second), Action: "payment.update", Outcome: Success,
			Actor:  Actor{ID: "ann", IP: "198.51.100.7"},
			Reason: "card replaced",
			Before: map[string]any{"card": "4111111111111111", "email": "ann@example.com", "list": []any{map[string]any{"email": "b@example.com"}}},
			After:  map[string]any{"card": "5500000000000004", "email": 12345},
		},
		{
			Time: base.Add(8 * time.Second), Action: "bulk." + long, Outcome: Success,
			Resource: Resource{Type: long, ID: long}, Tenant: long,
			Metadata: map[string]any{long: long, "list": []any{long}},
		},
	}
}

// writeRichLog writes a log of several segments holding every kind of
// record: the events of richEvents, periodic, rotate, gap, recovery,
// rollback and close checkpoints, a gap (a sink failure), a recovery (a
// torn last line found on reopening) and a rollback (the log found behind
// its witness, the loss accepted). It returns the witness file.
func writeRichLog(t testing.TB, dir string) string {
	t.Helper()
	ctx := context.Background()
	witnessPath := filepath.Join(t.TempDir(), "witness.json")
	fw, err := NewFileWitness(witnessPath)
	require.NoError(t, err)
	open := func(accept *AcceptRollback) (*Logger, *faultySink) {
		fs, err := NewFileSink(FileSinkConfig{Dir: dir, MaxSize: 4 << 10})
		require.NoError(t, err)
		sink := &faultySink{FileSink: fs}
		l, err := New(Config{
			Sinks: []Sink{sink}, Witnesses: []Witness{fw}, AcceptRollback: accept,
			SigningKey: testKey(t), CheckpointEvery: 4, MaxFieldSize: 256,
			Sensitive: []SensitiveField{
				{Name: "card", Treatment: Mask, KeepLast: 4}, {Name: "email", Treatment: HMAC},
				{Name: "actor.ip", Treatment: HMAC}, {Name: "reason", Treatment: Mask},
			},
			HMACKey: bytes.Repeat([]byte{9}, 32),
		})
		require.NoError(t, err)
		return l, sink
	}
	l, sink := open(nil)
	for _, e := range richEvents() {
		require.NoError(t, l.Log(ctx, e))
	}
	sink.fail.Store(true)
	require.ErrorIs(t, l.Log(ctx, event(100)), ErrSink)
	require.ErrorIs(t, l.Log(ctx, event(101)), ErrSink)
	sink.fail.Store(false)
	for i := range 6 {
		require.NoError(t, l.Log(ctx, event(i))) // the first write records the gap
	}
	require.NoError(t, l.Close())

	// Cut the close checkpoint off (the witness holds it) and leave a torn
	// line: reopening records a recovery and, accepted, a rollback.
	names, err := listSegments(dir)
	require.NoError(t, err)
	path := filepath.Join(dir, names[len(names)-1])
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-2] // the last element is empty
	require.NoError(t, os.WriteFile(path, append(bytes.Join(lines, nil), `{"v":2,"seq":9`...), 0o600))
	head, err := fw.Head(ctx)
	require.NoError(t, err)
	l, _ = open(&AcceptRollback{LogID: head.LogID, WitnessedSeq: head.Seq, WitnessedHash: head.Hash, Reason: "test: cut back on purpose"})
	for i := range 3 {
		require.NoError(t, l.Log(ctx, event(200+i)))
	}
	require.NoError(t, l.Close())
	return witnessPath
}

// fastCase is a hand-made line for the fast path.
type fastCase struct {
	name string
	line []byte
	fast int // 1: the fast path must take it; -1: must not; 0: either
}

const (
	tLog  = "0123456789abcdef0123456789abcdef"
	tPrev = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	tTime = "2026-11-21T05:21:22.123Z"
)

// handMadeCases are edge cases around the layout the fast path reads.
// Most are sealed with their correct hash, so that the fast path reaches
// its parsing, not only its hash check.
func handMadeCases(t testing.TB) []fastCase {
	hdr := func(v, seq, kind string) string {
		return `{"v":` + v + `,"seq":` + seq + `,"kind":` + kind + `,"time":"` + tTime + `","log":"` + tLog + `","prev":"` + tPrev + `"`
	}
	ev := hdr("2", "7", `"event"`)
	const evTail = `,"actor":{"id":"u-1","type":"user","ip":"10.0.0.1","user_agent":"ua"},"action":"license.update","resource":{"type":"license","id":"lic-7"},"outcome":"success","after":{"seats":25}}`
	cp := hdr("2", "8", `"checkpoint"`)
	keyID := KeyID(pub(testKey(t)))
	const sig = "c2lnbmF0dXJlIGJ5dGVzIGhlcmUgYW5kIHRoZXJlIGFuZCBldmVyeXdoZXJlIGFuZCBtb3JlIG1vcmUgbW9yZQ=="
	cpTail := `,"checkpoint":{"reason":"count","key_id":"` + keyID + `","sig":"` + sig + `"}}`
	var cases []fastCase
	add := func(name, body string, fast int) {
		cases = append(cases, fastCase{name: name, line: sealBody([]byte(body)), fast: fast})
	}
	raw := func(name, line string, fast int) { // not sealed
		cases = append(cases, fastCase{name: name, line: []byte(line), fast: fast})
	}
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	deepArr := func(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

	add("event", ev+evTail, 1)
	add("event version 1", hdr("1", "7", `"event"`)+evTail, 1)
	add("checkpoint", cp+cpTail, 1)
	add("checkpoint version 1", hdr("1", "8", `"checkpoint"`)+cpTail, 1)
	add("minimal event", ev+`,"action":"a","outcome":"denied"}`, 1)
	add("event with every member", ev+`,"actor":{"id":"a"},"action":"x","resource":{"id":"r"},"outcome":"failure","reason":"r\n\"","tenant":"t","request_id":"q","trace_id":"tr","span_id":"sp","before":{"a":[1,-2.5e+3,true,false,null,{},[]]},"after":{},"metadata":{"m":"\u00e9\ud83c\udf89"}}`, 1)
	add("max seq", hdr("2", "18446744073709551615", `"event"`)+evTail, 1)
	add("unicode action", ev+`,"action":"lizenz.änderung","outcome":"success"}`, 1)
	add("del in action", ev+",\"action\":\"a\x7fb\",\"outcome\":\"success\"}", 0)

	// Escapes in the members the fast path reads as plain strings.
	add("escaped action", ev+`,"action":"license.\u0075pdate","outcome":"success"}`, -1)
	add("escaped quote in action", ev+`,"action":"a\"b","outcome":"success"}`, -1)
	add("escaped outcome", ev+`,"action":"a","outcome":"succ\u0065ss"}`, -1)
	add("escaped kind", hdr("2", "7", `"ev\u0065nt"`)+evTail, -1)
	add("escaped time", `{"v":2,"seq":7,"kind":"event","time":"2026-11-21T05:21:22.123\u005a","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("escaped checkpoint reason", cp+`,"checkpoint":{"reason":"c\u006funt","key_id":"`+keyID+`","sig":"`+sig+`"}}`, -1)
	add("escaped sig", cp+`,"checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":"\u0063`+sig[1:]+`"}}`, -1)
	add("escaped member name", ev+`,"\u0061ction":"a","outcome":"success"}`, -1)
	add("escaped actor member name", ev+`,"actor":{"\u0069d":"u"},"action":"a","outcome":"success"}`, -1)
	add("raw tab in action", ev+",\"action\":\"a\tb\",\"outcome\":\"success\"}", -1)
	add("raw newline in before", ev+",\"action\":\"a\",\"outcome\":\"success\",\"before\":{\"x\":\"a\nb\"}}", -1)
	add("bad escape in before", ev+`,"action":"a","outcome":"success","before":{"x":"\q"}}`, -1)
	add("short unicode escape", ev+`,"action":"a","outcome":"success","before":{"x":"\u12"}}`, -1)
	add("lone surrogate escape", ev+`,"action":"a","outcome":"success","before":{"x":"\ud800"}}`, 0)

	// Nulls.
	add("null actor", ev+`,"actor":null,"action":"a","outcome":"success"}`, -1)
	add("null action", ev+`,"action":null,"outcome":"success"}`, -1)
	add("null reason", ev+`,"action":"a","outcome":"success","reason":null}`, -1)
	add("null before", ev+`,"action":"a","outcome":"success","before":null}`, -1)
	add("null actor member", ev+`,"actor":{"id":null},"action":"a","outcome":"success"}`, -1)
	add("null checkpoint", cp+`,"checkpoint":null}`, -1)
	add("null sig", cp+`,"checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":null}}`, -1)
	add("null seq", hdr("2", "null", `"event"`)+evTail, -1)
	add("null inside before", ev+`,"action":"a","outcome":"success","before":{"x":null,"y":[null]}}`, 1)

	// Member names in another case (encoding/json matches them anyway).
	add("Action", ev+`,"Action":"a","outcome":"success"}`, -1)
	add("OUTCOME", ev+`,"action":"a","OUTCOME":"success"}`, -1)
	add("Seq", `{"v":2,"Seq":7,"kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("V", `{"V":2,"seq":7,"kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("long s in seq", `{"v":2,"ſeq":7,"kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("kelvin sign in kind", `{"v":2,"seq":7,"Kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("actor ID", ev+`,"actor":{"ID":"u"},"action":"a","outcome":"success"}`, -1)
	add("checkpoint Reason", cp+`,"checkpoint":{"Reason":"count","key_id":"`+keyID+`","sig":"`+sig+`"}}`, -1)
	add("Checkpoint", cp+`,"Checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":"`+sig+`"}}`, -1)
	add("action case variant after action", ev+`,"action":"a","outcome":"success","ACTION":"b"}`, -1)

	// Duplicate members (encoding/json keeps the last).
	add("duplicate action", ev+`,"action":"a","action":"b","outcome":"success"}`, -1)
	add("duplicate outcome", ev+`,"action":"a","outcome":"success","outcome":"denied"}`, -1)
	add("duplicate seq", ev+`,"action":"a","outcome":"success","seq":9}`, -1)
	add("duplicate kind", ev+`,"action":"a","outcome":"success","kind":"checkpoint"}`, -1)
	add("duplicate log", ev+`,"action":"a","outcome":"success","log":"ffffffffffffffffffffffffffffffff"}`, -1)
	add("duplicate time", ev+`,"action":"a","outcome":"success","time":"2027-01-01T00:00:00Z"}`, -1)
	add("duplicate prev", ev+`,"action":"a","outcome":"success","prev":"`+strings.Repeat("f", 64)+`"}`, -1)
	add("duplicate v", ev+`,"action":"a","outcome":"success","v":1}`, -1)
	add("duplicate actor member", ev+`,"actor":{"id":"a","id":"b"},"action":"a","outcome":"success"}`, -1)
	add("duplicate before", ev+`,"action":"a","outcome":"success","before":{},"before":{}}`, -1)
	add("duplicate key inside before", ev+`,"action":"a","outcome":"success","before":{"k":1,"k":2}}`, 1)
	add("duplicate checkpoint reason", cp+`,"checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":"`+sig+`","reason":"close"}}`, -1)
	add("checkpoint twice", cp+cpTail[:len(cpTail)-1]+`,"checkpoint":{"reason":"close","key_id":"`+keyID+`","sig":"`+sig+`"}}`, -1)
	add("hash member in body", ev+`,"action":"a","outcome":"success","hash":"`+strings.Repeat("0", 64)+`"}`, -1)

	// Numbers.
	add("exponent in before", ev+`,"action":"a","outcome":"success","before":{"a":1e5,"b":-1.5E-3,"c":0e0,"d":1E+400,"e":-0}}`, 1)
	add("exponent seq", hdr("2", "7e0", `"event"`)+evTail, -1)
	add("fraction seq", hdr("2", "7.0", `"event"`)+evTail, -1)
	add("negative seq", hdr("2", "-7", `"event"`)+evTail, -1)
	add("v 2.0", hdr("2.0", "7", `"event"`)+evTail, -1)
	add("v 2e0", hdr("2e0", "7", `"event"`)+evTail, -1)
	add("v 20", hdr("20", "7", `"event"`)+evTail, -1)
	add("v 3", hdr("3", "7", `"event"`)+evTail, -1)
	add("v 0", hdr("0", "7", `"event"`)+evTail, -1)
	add("v 02", hdr("02", "7", `"event"`)+evTail, -1)
	add("v as string", hdr(`"2"`, "7", `"event"`)+evTail, -1)
	add("seq 0", hdr("2", "0", `"event"`)+evTail, -1)
	add("seq 00", hdr("2", "00", `"event"`)+evTail, -1)
	add("leading zero seq", hdr("2", "07", `"event"`)+evTail, -1)
	add("seq overflow", hdr("2", "18446744073709551616", `"event"`)+evTail, -1)
	add("seq 21 digits", hdr("2", "100000000000000000000", `"event"`)+evTail, -1)
	add("seq as string", hdr("2", `"7"`, `"event"`)+evTail, -1)
	add("leading zero number in before", ev+`,"action":"a","outcome":"success","before":{"a":01}}`, -1)
	add("bare minus in before", ev+`,"action":"a","outcome":"success","before":{"a":-}}`, -1)
	add("dot number in before", ev+`,"action":"a","outcome":"success","before":{"a":1.}}`, -1)
	add("exponent without digits", ev+`,"action":"a","outcome":"success","before":{"a":1e}}`, -1)
	add("plus number", ev+`,"action":"a","outcome":"success","before":{"a":+1}}`, -1)
	add("hex number", ev+`,"action":"a","outcome":"success","before":{"a":0x1}}`, -1)
	add("NaN", ev+`,"action":"a","outcome":"success","before":{"a":NaN}}`, -1)

	// Nesting.
	add("nesting 90", ev+`,"action":"a","outcome":"success","before":{"d":`+deep(90)+`}}`, 1)
	add("nesting 99", ev+`,"action":"a","outcome":"success","before":{"d":`+deep(98)+`}}`, 0)
	add("nesting 100", ev+`,"action":"a","outcome":"success","before":{"d":`+deep(99)+`}}`, 0)
	add("nesting 101", ev+`,"action":"a","outcome":"success","before":{"d":`+deep(100)+`}}`, 0)
	add("nesting 150", ev+`,"action":"a","outcome":"success","before":{"d":`+deep(150)+`}}`, -1)
	add("arrays 150", ev+`,"action":"a","outcome":"success","before":{"d":`+deepArr(150)+`}}`, -1)
	add("nesting 10001", ev+`,"action":"a","outcome":"success","before":{"d":`+deep(10001)+`}}`, -1)
	add("unclosed nesting", ev+`,"action":"a","outcome":"success","before":{"d":`+strings.Repeat(`{"a":`, 5)+`1}}`, -1)

	// Invalid UTF-8 (encoding/json replaces it with U+FFFD).
	add("invalid UTF-8 in action", ev+",\"action\":\"a\xffb\",\"outcome\":\"success\"}", 0)
	add("invalid UTF-8 in before", ev+",\"action\":\"a\",\"outcome\":\"success\",\"before\":{\"k\xfe\":\"v\xc3(\"}}", 0)
	add("invalid UTF-8 in actor", ev+",\"actor\":{\"id\":\"\xff\"},\"action\":\"a\",\"outcome\":\"success\"}", 0)
	add("invalid UTF-8 in kind", hdr("2", "7", "\"event\xff\"")+evTail, -1)
	add("invalid UTF-8 in time", "{\"v\":2,\"seq\":7,\"kind\":\"event\",\"time\":\"2026-11-21T05:21:22.123Z\xff\",\"log\":\""+tLog+"\",\"prev\":\""+tPrev+"\""+evTail, -1)
	add("invalid UTF-8 in member name", ev+",\"act\xffion\":\"a\",\"outcome\":\"success\"}", -1)
	add("invalid UTF-8 in checkpoint reason", cp+",\"checkpoint\":{\"reason\":\"count\xff\",\"key_id\":\""+keyID+"\",\"sig\":\""+sig+"\"}}", 0)
	add("invalid UTF-8 in sig", cp+",\"checkpoint\":{\"reason\":\"count\",\"key_id\":\""+keyID+"\",\"sig\":\"\xc3"+sig+"\"}}", 0)
	add("overlong UTF-8 in checkpoint reason", cp+",\"checkpoint\":{\"reason\":\"\xc0\xafclose\",\"key_id\":\""+keyID+"\",\"sig\":\""+sig+"\"}}", 0)
	add("surrogate UTF-8 in checkpoint reason", cp+",\"checkpoint\":{\"reason\":\"\xed\xa0\x80\",\"key_id\":\""+keyID+"\",\"sig\":\""+sig+"\"}}", 0)

	// Whitespace.
	add("space after colon", `{"v": 2,"seq":7,"kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("space before member", ev+`, "action":"a","outcome":"success"}`, -1)
	add("space in before", ev+`,"action":"a","outcome":"success","before":{ "a" : 1 }}`, -1)
	add("trailing space in body", ev+`,"action":"a","outcome":"success" }`, -1)
	add("leading space", ` `+ev+`,"action":"a","outcome":"success"}`, -1)
	add("newline in body", ev+",\"action\":\"a\",\n\"outcome\":\"success\"}", -1)
	line := sealBody([]byte(ev + evTail))
	raw("trailing space after the hash", string(line)+" ", -1)
	raw("trailing newline after the hash", string(line)+"\n", -1)
	raw("CR after the hash", string(line)+"\r", -1)
	raw("leading space before the record", " "+string(line), -1)
	raw("uppercase hash", strings.ToUpper(string(line[:len(line)-66]))+string(bytes.ToUpper(line[len(line)-66:len(line)-2]))+`"}`, -1)
	other := sealBody([]byte(ev + `,"action":"a","outcome":"success"}`))
	raw("hash of another body", ev+`,"action":"b","outcome":"success"`+string(other[len(other)-hashSuffixLen:]), -1)
	raw("flipped hash digit", string(line[:len(line)-3])+"x\"}", -1)
	raw("empty", "", -1)
	raw("braces", "{}", -1)
	raw("only the suffix", `{,"hash":"`+strings.Repeat("0", 64)+`"}`, -1)

	// Members the fast path does not read, and the rules DecodeLine applies.
	add("unknown member", ev+`,"action":"a","outcome":"success","extra":1}`, -1)
	add("unknown actor member", ev+`,"actor":{"name":"x"},"action":"a","outcome":"success"}`, -1)
	add("unknown resource member", ev+`,"resource":{"uid":"x"},"action":"a","outcome":"success"}`, -1)
	add("unknown checkpoint member", cp+`,"checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":"`+sig+`","x":1}}`, -1)
	add("members out of order", ev+`,"outcome":"success","action":"a"}`, -1)
	add("actor members out of order", ev+`,"actor":{"type":"user","id":"u"},"action":"a","outcome":"success"}`, -1)
	add("checkpoint members out of order", cp+`,"checkpoint":{"key_id":"`+keyID+`","reason":"count","sig":"`+sig+`"}}`, -1)
	add("header out of order", `{"seq":7,"v":2,"kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, -1)
	add("no action", ev+`,"outcome":"success"}`, -1)
	add("empty action", ev+`,"action":"","outcome":"success"}`, -1)
	add("no outcome", ev+`,"action":"a"}`, -1)
	add("bad outcome", ev+`,"action":"a","outcome":"maybe"}`, -1)
	add("outcome case", ev+`,"action":"a","outcome":"Success"}`, -1)
	add("actor not an object", ev+`,"actor":"u","action":"a","outcome":"success"}`, -1)
	add("actor member a number", ev+`,"actor":{"id":1},"action":"a","outcome":"success"}`, -1)
	add("before an array", ev+`,"action":"a","outcome":"success","before":[1]}`, -1)
	add("before a string", ev+`,"action":"a","outcome":"success","before":"x"}`, -1)
	add("reason a number", ev+`,"action":"a","outcome":"success","reason":1}`, -1)
	add("empty objects", ev+`,"actor":{},"action":"a","resource":{},"outcome":"success","before":{},"after":{},"metadata":{}}`, 1)
	add("empty strings", ev+`,"action":"a","outcome":"success","reason":"","tenant":"","request_id":"","trace_id":"","span_id":""}`, 1)
	add("event with checkpoint member", ev+`,"action":"a","outcome":"success","checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":"`+sig+`"}}`, -1)
	add("checkpoint with event member", cp+cpTail[:len(cpTail)-1]+`,"action":"a"}`, -1)
	add("checkpoint with action before", cp+`,"action":"a"`+cpTail, -1)
	add("checkpoint empty reason", cp+`,"checkpoint":{"reason":"","key_id":"`+keyID+`","sig":"`+sig+`"}}`, -1)
	add("checkpoint empty sig", cp+`,"checkpoint":{"reason":"count","key_id":"`+keyID+`","sig":""}}`, -1)
	add("checkpoint uppercase key_id", cp+`,"checkpoint":{"reason":"count","key_id":"`+strings.ToUpper(keyID)+`","sig":"`+sig+`"}}`, -1)
	add("checkpoint short key_id", cp+`,"checkpoint":{"reason":"count","key_id":"`+keyID[1:]+`","sig":"`+sig+`"}}`, -1)
	add("checkpoint without checkpoint", cp+`}`, -1)
	add("unknown kind", hdr("2", "7", `"note"`)+evTail, -1)
	add("gap", hdr("2", "7", `"gap"`)+`,"gap":{"dropped":3,"cause":"queue_full"}}`, 0)
	add("gap dropped 0", hdr("2", "7", `"gap"`)+`,"gap":{"dropped":0,"cause":"queue_full"}}`, -1)
	add("gap dropped exponent", hdr("2", "7", `"gap"`)+`,"gap":{"dropped":3e0,"cause":"queue_full"}}`, -1)
	add("recovery", hdr("2", "7", `"recovery"`)+`,"recovery":{"segment":"s","offset":1,"discarded_bytes":2,"discarded_sha256":"x"}}`, 0)
	add("rollback", hdr("2", "7", `"rollback"`)+`,"rollback":{"witnessed_log":"`+tLog+`","witnessed_seq":3,"witnessed_hash":"`+tPrev+`","reason":"r"}}`, 0)
	add("rollback version 1", hdr("1", "7", `"rollback"`)+`,"rollback":{"witnessed_log":"`+tLog+`","witnessed_seq":3,"witnessed_hash":"`+tPrev+`","reason":"r"}}`, -1)
	add("uppercase log", `{"v":2,"seq":7,"kind":"event","time":"`+tTime+`","log":"`+strings.ToUpper(tLog)+`","prev":"`+tPrev+`"`+evTail, -1)
	add("short prev", `{"v":2,"seq":7,"kind":"event","time":"`+tTime+`","log":"`+tLog+`","prev":"`+tPrev[1:]+`"`+evTail, -1)
	add("long log", `{"v":2,"seq":7,"kind":"event","time":"`+tTime+`","log":"`+tLog+`0","prev":"`+tPrev+`"`+evTail, -1)
	for _, tm := range []string{"2026-11-21T05:21:22Z", "2026-11-21T05:21:22.000000001Z", "2026-11-21T05:21:22.1230Z", "2026-11-21T06:21:22+01:00",
		"2026-11-21t05:21:22z", "2026-11-21 05:21:22Z", "2026-11-21T05:21:22", "2026-13-21T05:21:22Z", "2026-02-30T05:21:22Z", "2026-11-21T24:00:00Z",
		"2026-11-21T05:21:60Z", "+2026-11-21T05:21:22Z", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-11-21T05:21:22.Z", "2026-11-21T05:21:22,5Z", ""} {
		add("time "+tm, `{"v":2,"seq":7,"kind":"event","time":"`+tm+`","log":"`+tLog+`","prev":"`+tPrev+`"`+evTail, 0)
	}
	add("data after the record", ev+evTail[:len(evTail)-1]+`}{}`, -1)
	add("truncated body", ev+`,"action":"a","outcome":"success"`, -1)
	return cases
}

func TestFastDecodeAgreesWithDecodeLine(t *testing.T) {
	t.Run("hand-made lines", func(t *testing.T) {
		for _, c := range handMadeCases(t) {
			t.Run(c.name, func(t *testing.T) {
				taken := checkFastAgrees(t, c.line)
				switch c.fast {
				case 1:
					assert.True(t, taken, "the fast path should take %q", c.line)
				case -1:
					assert.False(t, taken, "the fast path should leave %q to DecodeLine", c.line)
				}
			})
		}
	})

	t.Run("a writer's ordinary log", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 40, func(c *Config, f *FileSinkConfig) { c.CheckpointEvery = 3; f.MaxSize = 2 << 10 })
		names, err := listSegments(dir)
		require.NoError(t, err)
		require.Greater(t, len(names), 2, "several segments: rotate checkpoints")
		lines := dirLines(t, dir)
		taken := 0
		for _, line := range lines {
			ok := checkFastAgrees(t, line)
			assert.True(t, ok, "the fast path should take the writer's %q", line)
			if ok {
				taken++
			}
		}
		t.Logf("the fast path took %d of %d lines", taken, len(lines))
		require.Equal(t, len(lines), taken)
	})

	t.Run("a writer's rich log", func(t *testing.T) {
		dir := t.TempDir()
		writeRichLog(t, dir)
		_, err := verifyDir(t, dir, false)
		require.NoError(t, err, "the rich log verifies")
		byKind := map[Kind][2]int{} // taken, all
		fallbackActions := map[string]bool{}
		for _, line := range dirLines(t, dir) {
			rec, err := DecodeLine(line)
			require.NoError(t, err)
			taken := checkFastAgrees(t, line)
			n := byKind[rec.Kind]
			n[1]++
			if taken {
				n[0]++
			}
			byKind[rec.Kind] = n
			switch rec.Kind {
			case KindCheckpoint:
				assert.True(t, taken, "the fast path should take the writer's checkpoint %q", line)
			case KindEvent:
				// Whether the stored action holds an escape depends on the
				// encoder (Go 1.26 writes invalid UTF-8 as \ufffd, Go 1.27
				// as the raw replacement character): read the line itself.
				at := bytes.Index(line, []byte(`"action":"`)) + len(`"action":"`)
				raw := line[at : at+bytes.IndexByte(line[at:], '"')]
				plain := !bytes.ContainsRune(raw, '\\') && rec.Event.Action != actionDeep
				if !plain {
					fallbackActions[rec.Event.Action] = true
				}
				assert.Equal(t, plain, taken, "the fast path should take the writer's event %q unless its action is escaped or it nests deeper than %d", line, maxFastDepth)
			default:
				assert.False(t, taken, "the fast path reads events and checkpoints only: %q", line)
			}
		}
		t.Logf("fast path taken/lines by kind: %v", byKind)
		for _, k := range []Kind{KindEvent, KindCheckpoint, KindGap, KindRecovery, KindRollback} {
			assert.Positive(t, byKind[k][1], "the rich log holds a %s record", k)
		}
		// The escaped action and the deep nesting always take DecodeLine's
		// path; the invalid UTF-8 action does where the encoder escapes it.
		assert.True(t, fallbackActions[actionDeep], "the deep event took DecodeLine's path: %v", fallbackActions)
		assert.GreaterOrEqual(t, len(fallbackActions), 2, "the events meant to take DecodeLine's path: %v", fallbackActions)
	})
}

// TestFastDecodeInvalidUTF8ChangesTheSignedReason shows what the
// disagreement on invalid UTF-8 means for a verdict: a checkpoint whose
// reason holds a byte that is not UTF-8, signed over the raw bytes,
// verifies through the fast path, while every decoder of the format
// (DecodeLine, and so verify.py and any encoding/json reader) reads the
// reason as U+FFFD, over which the signature does not verify.
func TestFastDecodeInvalidUTF8ChangesTheSignedReason(t *testing.T) {
	key := testKey(t)
	const reason = "close\xff"
	tm := formatTime(time.Date(2026, 11, 21, 5, 21, 22, 0, time.UTC))
	cp := signCheckpoint(key, KeyID(pub(key)), tLog, 1, genesisHash, reason, tm)
	body := fmt.Sprintf(`{"v":2,"seq":1,"kind":"checkpoint","time":%q,"log":%q,"prev":%q,"checkpoint":{"reason":"%s","key_id":%q,"sig":%q}}`,
		tm, tLog, genesisHash, reason, cp.KeyID, cp.Sig)
	line := sealBody([]byte(body))

	rec, err := DecodeLine(line)
	require.NoError(t, err)
	assert.Equal(t, "close\uFFFD", rec.Checkpoint.Reason, "what encoding/json reads")
	var fromDecodeLine vrec
	fromDecodeLine.version, fromDecodeLine.seq, fromDecodeLine.kind = rec.Version, rec.Seq, rec.Kind
	fromDecodeLine.log, fromDecodeLine.prev, fromDecodeLine.timeText = []byte(rec.LogID), []byte(rec.Prev), []byte(rec.timeText)
	fromDecodeLine.reason, fromDecodeLine.keyID, fromDecodeLine.sig = []byte(rec.Checkpoint.Reason), []byte(rec.Checkpoint.KeyID), []byte(rec.Checkpoint.Sig)
	keys := map[string]ed25519.PublicKey{KeyID(pub(key)): pub(key)}
	sigErr := verifySignature(keys, &fromDecodeLine)
	require.ErrorIs(t, sigErr, ErrBadSignature, "the signature does not cover the reason a decoder reads")

	_, err = Verify(context.Background(), linesSource{line}, VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(key)}, Live: true})
	require.ErrorIs(t, err, ErrBadSignature, "Verify must judge the record DecodeLine reads, whose signature does not verify")
}

// FuzzFastDecode checks the fast path's invariant on any input, as given
// and sealed with its correct hash (so that the fuzzer reaches the parsing
// behind the hash check, as FuzzDecodeSealedBody does for DecodeLine).
func FuzzFastDecode(f *testing.F) {
	dir := f.TempDir()
	writeRichLog(f, dir)
	plain := f.TempDir()
	writeLog(f, plain, 12, func(c *Config, fc *FileSinkConfig) { c.CheckpointEvery = 3; fc.MaxSize = 1 << 10 })
	for _, d := range []string{dir, plain} {
		for _, line := range dirLines(f, d) {
			f.Add(line)
		}
	}
	for _, c := range handMadeCases(f) {
		f.Add(c.line)
		if body, ok := bodyOf(c.line); ok {
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkFastAgrees(t, in)
		if body, ok := bodyOf(in); ok {
			checkFastAgrees(t, sealBody(body))
		}
	})
}
