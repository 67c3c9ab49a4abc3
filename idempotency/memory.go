package idempotency

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// sweepEvery is how often a MemoryStore deletes expired records, on the
// Reserve that finds the interval elapsed (no background goroutine).
const sweepEvery = time.Minute

// MemoryStore keeps records in this process's memory. It is correct only
// when every request for a key reaches the same process: with two or more
// instances behind a load balancer, use a shared store (sqlstore or
// redisstore). Records are lost when the process exits. Its clock is the
// process's clock.
//
// The zero value is not usable; call NewMemoryStore. Safe for concurrent use.
type MemoryStore struct {
	mu        sync.Mutex
	records   map[memoryKey]*memoryRecord
	nextSweep time.Time
}

type memoryKey struct{ scope, key string }

type memoryRecord struct {
	fingerprint []byte
	token       string
	completed   bool
	leaseUntil  time.Time
	expiresAt   time.Time
	outcome     Outcome
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: make(map[memoryKey]*memoryRecord)}
}

// Reserve implements Store.
func (s *MemoryStore) Reserve(_ context.Context, req ReserveRequest) (Reservation, error) {
	now := time.Now()
	k := memoryKey{req.Scope, req.Key}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	rec, ok := s.records[k]
	if ok && !rec.expired(now) {
		switch {
		case !bytes.Equal(rec.fingerprint, req.Fingerprint):
			return Reservation{Decision: Mismatch}, nil
		case rec.completed:
			return Reservation{Decision: Replay, Outcome: rec.outcome.Clone()}, nil
		default:
			return Reservation{Decision: InProgress, RetryAfter: rec.leaseUntil.Sub(now)}, nil
		}
	}
	s.records[k] = &memoryRecord{
		fingerprint: append([]byte(nil), req.Fingerprint...),
		token:       req.Token,
		leaseUntil:  now.Add(req.Lease),
		expiresAt:   now.Add(req.TTL),
	}
	return Reservation{Decision: Proceed}, nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(_ context.Context, lease Lease, outcome Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.held(lease, time.Now())
	if rec == nil {
		return ErrLeaseLost
	}
	rec.completed = true
	rec.outcome = outcome.Clone()
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, lease Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held(lease, time.Now()) == nil {
		return ErrLeaseLost
	}
	delete(s.records, memoryKey{lease.Scope, lease.Key})
	return nil
}

// Len returns the number of records held, expired ones included until the
// next sweep.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// held returns the record if lease still holds it: pending, same token,
// lease not expired.
func (s *MemoryStore) held(lease Lease, now time.Time) *memoryRecord {
	rec, ok := s.records[memoryKey{lease.Scope, lease.Key}]
	if !ok || rec.completed || rec.token != lease.Token || !now.Before(rec.leaseUntil) {
		return nil
	}
	return rec
}

// sweep deletes expired records at most once per sweepEvery, so memory stays
// bounded by the traffic of one TTL without a background goroutine.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for k, rec := range s.records {
		if rec.expired(now) {
			delete(s.records, k)
		}
	}
}

// expired reports whether the record no longer binds its key: a pending
// record whose lease ended, or any record past its retention.
func (r *memoryRecord) expired(now time.Time) bool {
	if !now.Before(r.expiresAt) {
		return true
	}
	return !r.completed && !now.Before(r.leaseUntil)
}
