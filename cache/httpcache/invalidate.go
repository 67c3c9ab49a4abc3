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
// never served afterwards. Two tags that share a slot invalidate each other:
// extra misses, never a stale hit.
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

func (v *invalidator) slot(kind byte, s string) uint16 {
	var h maphash.Hash
	h.SetSeed(v.seed)
	h.WriteByte(kind)
	h.WriteString(s)
	return uint16(h.Sum64() % slotCount)
}

// raise invalidates everything recorded under slot i before now.
func (v *invalidator) raise(i uint16) {
	s := v.seq.Add(1)
	for {
		old := v.slots[i].Load()
		if old >= s || v.slots[i].CompareAndSwap(old, s) {
			return
		}
	}
}

// valid reports whether none of slots was raised after seq.
func (v *invalidator) valid(seq uint64, slots []uint16) bool {
	for _, i := range slots {
		if v.slots[i].Load() > seq {
			return false
		}
	}
	return true
}

// pathSlots returns the slots of every prefix of path that ends at a
// segment boundary: "/a/b" has "", "/a" and "/a/b". Paths deeper than
// maxPathSegments share the slot of their first maxPathSegments segments.
func (v *invalidator) pathSlots(path string, into []uint16) []uint16 {
	into = append(into, v.slot('p', ""))
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
func (v *invalidator) prefixSlot(prefix string) uint16 {
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

func (v *invalidator) tagSlot(tag string) uint16 { return v.slot('t', tag) }

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
