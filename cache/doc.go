// Package cache is the cache a service puts in front of its database and
// downstream APIs: a generic, size-bounded, TTL cache whose loader never
// stampedes the thing behind it.
//
// Its LRU evicts exactly as github.com/hashicorp/golang-lru/v2's does (the
// tests replay random operations against golang-lru's simplelru), on lists
// of its own linked through the entries, and it adds what golang-lru
// lacks: per-entry TTL with jitter
// and optional sliding expiry, sharding for concurrent throughput, eviction
// callbacks that run outside every lock, a cleanup goroutine stopped by
// Close, an optional TinyLFU admission filter, a loader with stampede
// protection, negative caching, refresh ahead, stale-if-error, bulk loads,
// and statistics exported as OpenTelemetry metrics.
//
// # Use
//
//	customers, err := cache.New(cache.Config[int64, Customer]{
//		Capacity: 50_000,
//		TTL:      5 * time.Minute,
//		NotFound: sql.ErrNoRows, // cache "no such customer" too (NegativeTTL)
//	})
//	if err != nil { ... }
//	defer customers.Close()
//
//	c, err := customers.GetOrLoad(ctx, id, func(ctx context.Context, id int64) (Customer, error) {
//		return db.LoadCustomer(ctx, id) // runs once however many requests miss together
//	})
//
// For a cache shared by several instances of a service, with Redis as the
// second tier and invalidation across instances, see the rediscache
// subpackage.
//
// # Eviction
//
// Capacity bounds the number of stored entries, or with Config.Weigher
// their total weight (bytes, for example), and is never exceeded, even
// under concurrent writes: the cache is split into Shards (by key hash),
// each with an exact share of Capacity and its own lock for writes. An
// entry heavier than a shard's share (MaxWeight) is refused with
// ErrTooHeavy rather than allowed to evict the whole shard. By
// default each shard is an LRU. With Config.Admission it is W-TinyLFU: new entries enter
// an LRU window (1 % of the shard at first), and when the window's oldest
// entry must move into the full main area (a segmented LRU: probation, and
// protected for entries used again) it evicts main's oldest entry only if a
// count-min sketch of recent access frequency (4-bit counters, halved
// every 10 × capacity hits and insertions, counting from the moment half
// the shard's entries were inserted, as otter's and Caffeine's) says it is
// used more often.
// Scans and one-time keys then cannot flush the hot set. The window's share
// adapts, from 1 % of the shard (where it starts: a smaller window sends
// keys requested twice in quick succession to admission, which refuses
// them, and their returns dragged the window to the whole cache on
// lirs-multi2 for some hash seeds) to all of the shard but one entry: it grows when keys
// that admission refused come back within twice the window's size of
// insertions (a window at most twice as large would have kept them) and
// shrinks when main-area entries that a candidate displaced
// come back, each kind of return weighed by how rare its decision is (as
// ARC weighs its ghost lists), and hill climbing on the hit rate checks
// the result. A referee checks both against two extremes: each shard
// simulates a plain LRU and a W-TinyLFU with a 1 % window on a sample of
// its keys (1/16 of them, all of a shard of up to 256 entries; each
// simulation holds the same fraction of the shard's entries), and every
// period (twice the shard's entries in accesses) compares their hits with
// its own on the same accesses. Bound: the window moves only towards an
// extreme that beat the shard by more than 1 point of the period's sampled
// accesses, by 4 times the lead in capacity (at most a quarter of it per
// period), and while that extreme still leads the other, the ghosts and
// the hill climber may not move it back. A shard that beats both (an
// adaptive window between them) is left to the ghosts and the climber. On
// recency-skewed and shifting workloads the window grows to the whole
// cache and the hit ratio is LRU's; on frequency-skewed ones it stays
// near 1 %. The sketch, the climber and the referee see only the hits that
// the read buffers replay (see Reads): where replays are lossy (the shard
// used concurrently), so is their view. A single goroutine's accesses are
// all replayed, within the bound on its moves between Ps (see Reads);
// when they were not (before that bound), W-TinyLFU was 4 to 6 points
// below the better of LRU and otter on arc-P3 at 100 000 and 200 000
// entries at 2 Ps (docs/BENCHMARKS.md). The ghosts cost 16 bytes per
// entry of capacity; the referee's
// simulations at most 4.2 more (12.8 KB for a shard of up to 4 096
// entries), and a sampled access (one in 16, more in a shard of fewer than
// 4 096 entries) two lookups in them under the shard's lock. See
// docs/BENCHMARKS.md for the hit ratios, against LRU and otter, on public
// and synthetic traces.
//
// # Reads
//
// A lookup takes no lock and writes no memory shared with other CPUs: it
// finds the entry in a per-shard hash table read with atomic loads, and
// records the access in a read buffer striped by P (the scheduler's
// processor the goroutine runs on). The records are
// replayed into the LRU order under the shard's lock: by the reader
// when its stripe is full (16 records) and the lock is free, and, outside
// the concurrent mode (below), before a write. While one goroutine uses a shard, every access is replayed in
// order, so the eviction order is exactly golang-lru's (docs/BENCHMARKS.md:
// the hit ratios equal golang-lru's), unless Go moves it to another P 3
// times within 16 replays of the shard (bound below). Once replays keep finding lookups made in other stripes
// (other goroutines'), the shard counts as used concurrently until
// capacity insertions and promotions pass without that, and the order
// is kept approximately, as in Caffeine: in a cache holding 4 096 entries
// or more a stripe records one lookup in 8 and only counts the others, a
// full stripe drops records, a write replays only its own P's stripe and
// looks at no other, and entries already near the front of
// their list (moved there within the last 1/16 of capacity insertions
// and promotions)
// are left in place: readers do not record them, replays and writes do
// not move them. The entries read most stay near the front, and a
// hit costs an atomic addition on the reader's own cache line instead of
// a contended lock and a list move. Goroutines running at the same time
// write different stripes (a hit keeps its goroutine on its P for the few
// instructions of the record, as sync.Pool does). A goroutine that Go
// moves to another P leaves its earlier records in the old P's stripe;
// replays in order take the other stripes first and the stripe of the
// replaying goroutine's P last, which is exact for one move between
// replays. Without admission, a hit on the entry its
// stripe recorded last, not yet replayed, is counted but not recorded
// again: replaying an entry twice in a row moves it to the front once,
// so the order is the same (exact, not a heuristic).
//
// The heuristics, each with its bound (c is the shard's capacity, a tick
// one insertion or promotion in the shard):
//
//   - Concurrent mode: entered when 4 of the last 16 replays of the
//     shard (by a reader whose stripe filled, or before a write) each
//     found lookups made, since a replay last looked, in a stripe other
//     than the replaying goroutine's P's; it lasts c ticks after the last
//     replay at which that held, and the replay that ends it replays
//     every stripe. In the mode only readers' replays look: a write
//     replays its own P's stripe and reads no other (reading every
//     stripe's counts, cache lines other CPUs write, inside the lock took
//     11 % of the CPU time of a 75/25 mix), so the mode can outlast the
//     last reader's evidence by up to c ticks of writes, as before. A
//     single goroutine makes such a finding only if Go
//     moved it to another P since its previous one, so it enters the mode
//     only if moved 3 times within 16 replays of one shard (a replay
//     comes at least every 16 of its recorded lookups on the shard, and
//     before each of its writes); the scheduler moves a goroutine at most
//     every few milliseconds, and the hit ratios of a one-goroutine replay
//     are golang-lru's at 2 Ps under load (docs/BENCHMARKS.md). Goroutines
//     reading a shard at the same time are seen at almost every replay.
//     The cleanup sweep's and Purge's replays are no evidence either way.
//     Outside the mode, every record is replayed in order.
//   - Lossy stripe: a stripe holds 16 records; while it is full (its
//     reader found the lock taken), further hits are counted in Stats but
//     not recorded. Hits are never lost from Stats.
//   - Sampling (concurrent mode only, in a cache holding 4 096 entries
//     or more: each shard once it holds 4 096 divided by the shards,
//     counted in entries, not weight, as of the last publication below;
//     the lists then no longer stay in the CPU cache, and it saves 24 % of
//     the CPU time of parallel reads, while in a smaller cache it delayed
//     promotions enough to evict hot keys, docs/BENCHMARKS.md): each
//     stripe records about one in
//     8 lookups made on its P (hits, and with admission the misses the
//     hill climber counts), chosen by a bijective mix of the stripe's
//     lookup count so that no periodic pattern of lookups escapes the
//     sample, and counts the others, so about 1 in 8 accesses reaches the
//     lists, the rate at which earlier versions replayed the 2 newest of
//     each 16 records; a stripe replays when it holds 16 records, about
//     every 128 of its lookups, and a goroutine's writes replay its
//     own stripe first, so its recorded hits reach the lists before its
//     next write. The mode's end stops the sampling at once.
//   - Near the front (concurrent mode only): with n the shard's capacity
//     (for a weighted shard, whose capacity is a weight, the entries it
//     held) when the lock holder last published its ticks to readers (it
//     does every n/128 ticks, at least every tick), a replay,
//     or a Set of an existing key, leaves in place an entry that went to
//     the front of its list within the last n/16 ticks, and a reader does
//     not record a hit on an entry that went there within 7/8 of n/16
//     ticks of the published ticks, so such an entry is at most n/16
//     ticks from the front either way
//     (TestNearFrontBoundHoldsBetweenPublications). Ticks, not places:
//     with admission, the window's resizing and protected's demotions
//     move entries to a list's front without a tick, so such an entry
//     can be more than n/16 places from it.
//
// None of them decides what is admitted or evicted beyond the order they
// keep; capacity and expiry are exact in every mode.
//
// # Loading
//
// GetOrLoad runs one load per key however many callers miss at once; the
// others wait for it. A caller whose context ends stops waiting at once
// without cancelling the load for the rest: the load runs on its own
// goroutine under the first caller's context values, Config.LoadTimeout,
// and Close. A Set or Delete of the key while its load runs wins: the load's
// result goes to its waiters but is not stored. Loader panics are recovered
// and returned as ErrLoaderPanic. Errors are not cached, except the
// Config.NotFound error, which is cached for Config.NegativeTTL. With
// Config.RefreshAhead, a hit past that fraction of the entry's TTL returns
// the value at once and starts one background refresh; no caller waits for
// it, and a failed refresh keeps the current value. With
// Config.StaleIfError, a failed load of a key that expired less than that
// long ago returns the expired value instead of the error. GetOrLoadMany
// loads all the missing keys of a list with one batch call. Memoize turns a
// loader into a cached function built on GetOrLoad.
//
// # Expiry
//
// Config.TTL gives every entry the same lifetime; Config.ExpireAfter
// computes each entry's own when it is written (expire after create or
// after update: the function is told whether the write replaces a live
// entry and how long that one had left), and SetWithTTL sets one for a
// single write.
//
// # Guarantees
//
//   - Concurrency: every method is safe for concurrent use. OnEvict is never
//     called with a lock held, so it may call back into the cache.
//   - Expiry: an entry is invisible from the instant its TTL passes (Get,
//     Len and All skip it) even before the cleanup goroutine removes it.
//     Every expiry check measures the time itself, a lookup of an entry
//     with a TTL included, so a Get that starts at or after an entry's
//     expiry instant misses, whatever the Go scheduler does: with every P
//     busy, timers and other goroutines run late, and no reading shared
//     between lookups could be trusted (issue #23 asked for no hit later
//     than TTL + 5 ms; the bound is 0). TestNoHitAfterTheExpiryWithEveryPSpinning
//     checks it with twice GOMAXPROCS goroutines spinning on Get. A TTL
//     counts from the clock reading its Set takes; ExpireAfterAccess
//     extends an entry to its TTL after a reading the hit takes. On Linux
//     on amd64, where the CPU's time-stamp counter is invariant and the
//     kernel's clock source, a lookup first reads the counter (about a
//     third of the cost of the OS clock, and no barrier to the lookup's
//     memory loads) and converts it from an anchor, a clock reading at
//     most a millisecond old. That time only ever decides that an entry
//     expiring (or, with RefreshAhead, due a refresh) more than 2 ms later
//     is live; a lookup nearer an entry's expiry, or past it, reads the
//     OS clock and decides by it. Converted time strays from the clock's
//     by under a quarter of a millisecond (the OS's own corrections of its
//     clock's rate), so lookups decide exactly as OS clock readings would:
//     no entry is served after its expiry, none reads as absent before it. The counter is measured
//     once per process over two agreeing spans, each new anchor is checked
//     against the last, and a clock whose time jumps (a testing/synctest
//     bubble's fake time) or a counter that falls behind stops being used
//     (tsc.go lists the rules; TestLookupsDecideAsTheOSClockWould checks
//     them on the real counter). A cache made in a synctest bubble reads
//     the OS clock only; one used in a bubble should be made in it. The
//     clock runs no timer: an idle cache costs nothing. Entries without a
//     TTL read no time.
//   - Hashing: every key's shard, index slot, sketch counters and ghost
//     entries come from a hash with a secret drawn per cache, so callers
//     cannot choose keys that collide: hash/maphash, or for keys that are
//     one 4- or 8-byte integer the hash Go's maps use for them on CPUs
//     without AES instructions (two 128-bit multiplies, the first of two
//     factors each XORed with a secret word), 2.4 ns against maphash's
//     5.5 (docs/BENCHMARKS.md).
//   - Faults: a failing or panicking loader reaches its callers as an error
//     (or a stale value) and is counted; nothing is retried behind the
//     caller's back.
//   - Bad input: New rejects an invalid Config with an error naming the
//     field; nil loaders return ErrNilLoader; nothing panics. A Weigher's
//     answer of 0 counts as 1, so entries are never more than Capacity
//     whatever it answers, and an entry heavier than MaxWeight is refused
//     (Set returns ErrTooHeavy; a loaded one reaches its callers unstored)
//     without evicting anything else; the key's older value is removed,
//     being out of date, and reported to OnEvict as Evicted.
//   - Weight: with a Weigher, the entries' total weight never exceeds
//     Capacity (Stats.Weight), checked after every write by
//     TestWeigherBoundsTheTotalWeight and under concurrent writes.
//   - Close stops the cleanup goroutine and every load in flight and waits
//     for them. Get, Set and Delete keep working on the memory afterwards.
//   - Cost: a Get hit takes no lock, does not allocate (its replay, which
//     moves the entry between lists, neither: the lists are linked through
//     the entries), reads the time if the entry has a TTL (the
//     time-stamp counter where it is usable, and the OS clock as well
//     within 2 ms of the expiry; with ExpireAfterAccess the OS clock
//     alone; see Expiry), and writes only its P's stripe: one atomic
//     addition when the hit is counted without a record (sampled out or near the front in
//     the concurrent mode, or outside it a repeat of the stripe's newest
//     record), an addition and a pointer store when it is recorded. A Set of a new
//     key allocates the entry's node, before it takes the shard's lock. A Set of a
//     stored key whose value is one word (a number of 8 bytes, or a
//     pointer, map, chan or func) replaces the value in the node with one
//     atomic store and allocates nothing, unless the entry has a weight
//     other than its old one, expires sooner than the old value would
//     have, is a cached NotFound, or the cache uses ExpireAfterAccess or
//     RefreshAhead (whose lock-free lookups read the entry's lifetime);
//     other values, and those cases, get a new node. A lookup may see
//     the old expiry with the new value, never a value past its own
//     expiry. Metrics are asynchronous
//     instruments read from the counters at collection time, so lookups pay
//     nothing for them.
package cache
