package cache

// segment is one LRU list of a shard (the window, probation or protected),
// linked through the nodes themselves: a node holds its neighbours and the
// list it is in, so that moving an entry is a few pointer writes with no
// lookup and no allocation, and the shard's index is the only one to map
// keys to entries. The links are read and written only under the shard's
// lock; lookups never touch them.
type segment[K comparable, V any] struct {
	// root is the sentinel: root.next is the most recent node, root.prev
	// the oldest. It is never an entry.
	root node[K, V]
	n    int
	// weight is the sum of the nodes' weights (n without a Weigher).
	weight int
}

func newSegment[K comparable, V any]() *segment[K, V] {
	s := &segment[K, V]{}
	s.root.next = &s.root
	s.root.prev = &s.root
	return s
}

// Len is the number of nodes in the list.
func (s *segment[K, V]) Len() int { return s.n }

// Weight is the sum of the nodes' weights.
func (s *segment[K, V]) Weight() int { return s.weight }

// pushFront links n, in no list, as the most recent node.
func (s *segment[K, V]) pushFront(n *node[K, V]) {
	s.insertAfter(n, &s.root)
}

func (s *segment[K, V]) insertAfter(n, at *node[K, V]) {
	n.prev = at
	n.next = at.next
	at.next.prev = n
	at.next = n
	n.seg = s
	s.n++
	s.weight += int(n.weight)
}

// remove unlinks n, which is in this list.
func (s *segment[K, V]) remove(n *node[K, V]) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next, n.seg = nil, nil, nil
	s.n--
	s.weight -= int(n.weight)
}

// moveToFront makes n, in this list, the most recent node.
func (s *segment[K, V]) moveToFront(n *node[K, V]) {
	if s.root.next == n {
		return
	}
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev = &s.root
	n.next = s.root.next
	s.root.next.prev = n
	s.root.next = n
}

// replace puts n, in no list, where old, in this list, is; old leaves it.
func (s *segment[K, V]) replace(old, n *node[K, V]) {
	n.prev, n.next, n.seg = old.prev, old.next, s
	old.prev.next = n
	old.next.prev = n
	old.prev, old.next, old.seg = nil, nil, nil
	s.weight += int(n.weight) - int(old.weight)
}

// oldest returns the least recent node, or nil if the list is empty.
func (s *segment[K, V]) oldest() *node[K, V] {
	if s.n == 0 {
		return nil
	}
	return s.root.prev
}

// removeOldest unlinks and returns the least recent node, or nil.
func (s *segment[K, V]) removeOldest() *node[K, V] {
	n := s.oldest()
	if n != nil {
		s.remove(n)
	}
	return n
}

// purge unlinks every node, so that a record of one still in a read
// buffer is recognised as gone.
func (s *segment[K, V]) purge() {
	for n := s.root.next; n != &s.root; {
		next := n.next
		n.prev, n.next, n.seg = nil, nil, nil
		n = next
	}
	s.root.next, s.root.prev, s.n, s.weight = &s.root, &s.root, 0, 0
}

// Keys returns the keys, oldest first (tests).
func (s *segment[K, V]) Keys() []K {
	keys := make([]K, 0, s.n)
	for n := s.root.prev; n != &s.root; n = n.prev {
		keys = append(keys, n.key)
	}
	return keys
}
