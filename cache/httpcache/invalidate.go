package httpcache

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// Invalidation works by sequence numbers, not by finding entries: a stored
// response records the invalidation sequence read before its origin call
// started and the slots of its tags and path prefixes; an invalidation takes
// the next sequence number and raises its slot to it; a lookup finds a
// response invalid when any of its slots was raised after its origin call
// began. Memory is fixed (slotCount counters), an invalidation is O(1), and
// a response whose origin call was running when the invalidation came is
// never served afterwards. Each tag or prefix has two slots (from one hash),
// and a response counts as invalidated only when both were raised after its
// call began, as in a Bloom filter: a tag invalidates an unrelated response
// only if both its slots collide with raised ones (about one in 16 million
// for one raised tag). Such a collision costs a miss, never a stale hit.
const (
	slotCount       = 4096
	maxPathSegments = 32
	maxTags         = 32
	maxTagBytes     = 128
)

type invalidator struct {
	seed  maphash.Seed
	seq   atomic.Uint64
	slots [slotCount]atomic.Uint64
}

func newInvalidator() *invalidator {
	return &invalidator{seed: maphash.MakeSeed()}
}

// current is the sequence a response records before its origin call.
func (v *invalidator) current() uint64 { return v.seq.Load() }

// slotPair is the two slots of a tag or prefix, packed.
type slotPair uint32

func (v *invalidator) slot(kind byte, s string) slotPair {
	var h maphash.Hash
	h.SetSeed(v.seed)
	_ = h.WriteByte(kind)
	_, _ = h.WriteString(s)
	sum := h.Sum64()
	a, b := uint32(sum%slotCount), uint32((sum>>32)%slotCount)
	return slotPair(a | b<<16)
}

func (p slotPair) indices() (uint32, uint32) { return uint32(p) & 0xffff, uint32(p) >> 16 }

// raise invalidates everything recorded under p before now.
func (v *invalidator) raise(p slotPair) {
	s := v.seq.Add(1)
	a, b := p.indices()
	v.raiseSlot(a, s)
	v.raiseSlot(b, s)
}

func (v *invalidator) raiseSlot(i uint32, s uint64) {
	for {
		old := v.slots[i].Load()
		if old >= s || v.slots[i].CompareAndSwap(old, s) {
			return
		}
	}
}

// valid reports whether no pair of slots was raised, both, after seq.
func (v *invalidator) valid(seq uint64, slots []slotPair) bool {
	for _, p := range slots {
		a, b := p.indices()
		if v.slots[a].Load() > seq && v.slots[b].Load() > seq {
			return false
		}
	}
	return true
}

// pathSlots returns the slot of path itself (uriSlot) and the slots of
// every prefix of path that ends at a segment boundary: "/a/b" has "",
// "/a" and "/a/b". Paths deeper than
// maxPathSegments share the slot of their first maxPathSegments segments.
func (v *invalidator) pathSlots(path string, into []slotPair) []slotPair {
	into = append(into, v.uriSlot(path), v.slot('p', ""))
	n := 0
	for i := 1; i <= len(path); i++ {
		if i == len(path) || path[i] == '/' {
			prefix := path[:i]
			if strings.HasSuffix(prefix, "/") {
				continue // "/a/" is "/a", already there
			}
			n++
			into = append(into, v.slot('p', prefix))
			if n == maxPathSegments {
				break
			}
		}
	}
	return into
}

// prefixSlot is the slot InvalidatePrefix raises for prefix.
func (v *invalidator) prefixSlot(prefix string) slotPair {
	prefix = strings.TrimRight(prefix, "/")
	n := 0
	for i := 1; i < len(prefix); i++ {
		if prefix[i] == '/' {
			n++
			if n == maxPathSegments {
				prefix = prefix[:i]
				break
			}
		}
	}
	return v.slot('p', prefix)
}

// uriSlot is the slot of path alone (RFC 9111 §4.4's invalidation of a
// request URI), which covers no path under it.
func (v *invalidator) uriSlot(path string) slotPair { return v.slot('u', path) }

func (v *invalidator) tagSlot(tag string) slotPair { return v.slot('t', tag) }

// parseTags reads the tag field (space- or comma-separated, as
// Surrogate-Key and Cache-Tag are). ok is false for a field with more than
// maxTags tags or a tag longer than maxTagBytes.
func parseTags(lines []string) (tags []string, ok bool) {
	for _, line := range lines {
		for _, tag := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			if len(tag) > maxTagBytes || len(tags) == maxTags {
				return nil, false
			}
			tags = append(tags, tag)
		}
	}
	return tags, true
}
