package mask

import (
	"bytes"
	"log/slog"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dagNode is a node of a chain where each node's L and R point to the same
// child: depth+1 distinct nodes, 2^depth paths from the top.
type dagNode struct {
	L, R  *dagNode
	Email string `mask:"email"`
}

func dag(depth int) *dagNode {
	n := &dagNode{Email: "ann@example.com"}
	for range depth {
		n = &dagNode{L: n, R: n, Email: "bob@example.org"}
	}
	return n
}

// walkCount masks v with w and returns how many values the walk visited.
func walkCount(t *testing.T, w *walker, v any) (any, int) {
	t.Helper()
	out, err := w.value(v, "v")
	require.NoError(t, err)
	return out, w.visits
}

// Shared pointers made the walk exponential: a chain of 21 nodes whose L and
// R point to the same child took seconds (2^20 paths). Each pointer, map and
// slice is now copied once and its copy reused wherever it is reached again,
// so the work is linear in the distinct values, and the copy keeps the
// sharing. Counted, not timed.
func TestSharedPointersAreCopiedOnce(t *testing.T) {
	const depth = 30 // 2^30 paths: only a linear walk finishes (two levels per node, within maxDepth)
	in := dag(depth)

	out, visits := walkCount(t, &walker{}, in)
	assert.Less(t, visits, 10*(depth+1), "visits grow with the distinct nodes, not the paths")
	copied := out.(*dagNode)
	assert.Same(t, copied.L, copied.R, "the copy shares what the input shares")
	assert.NotSame(t, in, copied)
	for n := copied; n != nil; n = n.L {
		assert.NotContains(t, n.Email, "ann@")
		assert.NotContains(t, n.Email, "bob@")
	}
	leaf := in
	for leaf.L != nil {
		leaf = leaf.L
	}
	assert.Equal(t, "ann@example.com", leaf.Email, "the input is untouched")

	got, err := Struct(in)
	require.NoError(t, err)
	assert.Same(t, got.L, got.R)
	assert.Equal(t, "b***@example.org", got.Email)

	// Maps and slices shared the same way.
	var m any = map[string]any{"email": "ann@example.com"}
	var s any = []any{"x"}
	for range depth {
		m = map[string]any{"l": m, "r": m}
		s = []any{s, s}
	}
	_, visits = walkCount(t, &walker{keys: Default()}, m)
	assert.Less(t, visits, 20*(depth+1))
	_, visits = walkCount(t, &walker{keys: Default()}, s)
	assert.Less(t, visits, 20*(depth+1))

	// The same pointer under several rules is masked under each.
	type emails struct{ List []string }
	type twoRules struct {
		A *emails `mask:"email"`
		B *emails `mask:"redact"`
		C *emails
		D *emails `json:"email"` // a key name, under a Masker
	}
	e := &emails{List: []string{"ann@example.com"}}
	tr, err := Struct(twoRules{A: e, B: e, C: e, D: e})
	require.NoError(t, err)
	assert.Equal(t, []string{"a***@example.com"}, tr.A.List)
	assert.Equal(t, []string{Redacted}, tr.B.List)
	assert.Equal(t, []string{"ann@example.com"}, tr.C.List)
	assert.Same(t, tr.C, tr.D, "no rule: one copy")
	assert.NotSame(t, e, tr.C)
	mv := Default().Value("v", twoRules{A: e, C: e, D: e}).(twoRules)
	assert.Equal(t, []string{"a***@example.com"}, mv.A.List)
	assert.Equal(t, []string{"ann@example.com"}, mv.C.List)
	assert.Nil(t, mv.D.List, "the key's rule (an object under a sensitive key shows nothing), not another rule's copy")
}

// A log line writes a shared value once per path: the 19-node chain wrote
// 20 MB through Masker.Handler. A value whose sharing would expand it by
// more than maxSharedExpansion values is redacted whole (fail closed), and
// a value that is shared a little is logged as before.
func TestLogsRedactValuesThatSharingWouldBlowUp(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil)))
	l.Info("m", "n", dag(18))
	assert.Less(t, buf.Len(), 4096, "the output is bounded")
	assert.True(t, decode(t, &buf)["n"] == Redacted, "redacted whole")

	buf.Reset()
	l.Info("m", "n", dag(3))
	rec := decode(t, &buf)["n"].(map[string]any)
	assert.Equal(t, "b***@example.org", rec["Email"])
	assert.Equal(t, rec["L"], rec["R"])
	assert.NotContains(t, buf.String(), "ann@")

	// ReplaceAttr and Masker.Value, whose results are written out
	// expanded too, are bounded the same way.
	buf.Reset()
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Default().ReplaceAttr})).Info("m", "n", dag(18))
	assert.Less(t, buf.Len(), 4096)
	assert.Equal(t, Redacted, Default().Value("n", dag(18)))
	assert.IsType(t, &dagNode{}, Default().Value("n", dag(3)))
}

// A cycle is still an error for Struct and "[REDACTED]" in logs: reusing
// copies would make a cyclic copy, which a log handler cannot write.
func TestCyclesAreRefused(t *testing.T) {
	c := &dagNode{Email: "ann@example.com"}
	c.L = c
	_, err := Struct(c)
	require.ErrorContains(t, err, "mask: *mask.dagNode.L: a cycle")
	m := map[string]any{"email": "ann@example.com"}
	m["self"] = m
	assert.Equal(t, map[string]any{"map": Redacted}, Default().Map(m))
	s := []any{"x", nil}
	s[1] = s
	assert.Equal(t, Redacted, Default().Value("s", s))
	var buf bytes.Buffer
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).Info("m", "c", c)
	assert.Equal(t, Redacted, decode(t, &buf)["c"])
	assert.True(t, reflect.DeepEqual(c.L, c), "the input is untouched")
}
