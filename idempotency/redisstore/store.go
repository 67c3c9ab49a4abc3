package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/idempotency"
)

// DefaultPrefix starts every key the store writes when Config.Prefix is
// empty.
const DefaultPrefix = "keel:idempotency:"

// Config configures a Store.
type Config struct {
	// Client is the Redis client (a *redis.Client, *redis.ClusterClient or
	// *redis.Ring through redis.UniversalClient). Required.
	Client redis.UniversalClient
	// Prefix starts every key. Default DefaultPrefix.
	Prefix string
}

// Store is an idempotency.Store on Redis. Reserve, Complete and Release are
// each one Lua script, so each is atomic and one round trip (EVALSHA; the
// first call after a Redis restart adds an EVAL). Safe for concurrent use;
// it starts no goroutines.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// New validates cfg and returns a Store. It does not contact Redis; call
// CheckConfig at start-up to verify the eviction policy.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: Config.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	return &Store{client: cfg.Client, prefix: cfg.Prefix}, nil
}

// ErrEvictionPolicy is returned by CheckConfig when Redis may evict records.
var ErrEvictionPolicy = errors.New("redisstore: Redis maxmemory-policy must be noeviction")

// CheckConfig verifies that Redis will never evict a record: every record
// has a TTL, so any policy but noeviction (volatile-* included) may drop a
// live one under memory pressure, and a retry would then run the operation
// again. It returns ErrEvictionPolicy naming the policy found, or the error
// of CONFIG GET (some managed services disable it; check their settings by
// hand then).
func (s *Store) CheckConfig(ctx context.Context) error {
	cfg, err := s.client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return fmt.Errorf("redisstore: CONFIG GET maxmemory-policy: %w", err)
	}
	if policy := cfg["maxmemory-policy"]; policy != "noeviction" {
		return fmt.Errorf("%w, got %q", ErrEvictionPolicy, policy)
	}
	return nil
}

// key returns the record's key: prefix, the scope's length, ':', the scope,
// the key. The length makes the split unambiguous whatever the scope holds.
func (s *Store) key(scope, key string) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + 4 + len(scope) + len(key))
	b.WriteString(s.prefix)
	b.WriteString(strconv.Itoa(len(scope)))
	b.WriteByte(':')
	b.WriteString(scope)
	b.WriteString(key)
	return b.String()
}

// Reserve implements idempotency.Store.
func (s *Store) Reserve(ctx context.Context, req idempotency.ReserveRequest) (idempotency.Reservation, error) {
	reply, err := reserveScript.Run(ctx, s.client, []string{s.key(req.Scope, req.Key)},
		req.Fingerprint, req.Token, req.Lease.Milliseconds(), req.TTL.Milliseconds()).Slice()
	if err != nil {
		return idempotency.Reservation{}, fmt.Errorf("redisstore: reserve: %w", err)
	}
	return decode(reply)
}

// decode turns the reserve script's reply into a Reservation.
func decode(reply []any) (idempotency.Reservation, error) {
	bad := func(why string) (idempotency.Reservation, error) {
		return idempotency.Reservation{}, fmt.Errorf("redisstore: reserve: unexpected reply (%s)", why)
	}
	if len(reply) == 0 {
		return bad("empty")
	}
	switch reply[0] {
	case "proceed":
		return idempotency.Reservation{Decision: idempotency.Proceed}, nil
	case "mismatch":
		return idempotency.Reservation{Decision: idempotency.Mismatch}, nil
	case "busy":
		if len(reply) != 2 {
			return bad("busy without a TTL")
		}
		ms, ok := reply[1].(int64)
		if !ok {
			return bad("TTL is not an integer")
		}
		return idempotency.Reservation{Decision: idempotency.InProgress, RetryAfter: time.Duration(max(ms, 1)) * time.Millisecond}, nil
	case "replay":
		if len(reply) != 5 {
			return bad("replay of the wrong length")
		}
		code, _ := reply[1].(string)
		status, err := strconv.Atoi(code)
		if err != nil {
			return bad("status is not a number")
		}
		out := idempotency.Outcome{Status: status}
		if hdr, _ := reply[2].(string); hdr != "" {
			if err := json.Unmarshal([]byte(hdr), &out.Header); err != nil {
				return bad("header is not valid JSON")
			}
		}
		if body, _ := reply[3].(string); body != "" {
			out.Body = []byte(body)
		}
		out.BodyOmitted = reply[4] == "1"
		return idempotency.Reservation{Decision: idempotency.Replay, Outcome: out}, nil
	default:
		return bad(fmt.Sprintf("unknown decision %v", reply[0]))
	}
}

// Complete implements idempotency.Store.
func (s *Store) Complete(ctx context.Context, lease idempotency.Lease, outcome idempotency.Outcome) error {
	var hdr []byte
	if len(outcome.Header) > 0 {
		var err error
		if hdr, err = json.Marshal(outcome.Header); err != nil {
			return fmt.Errorf("redisstore: complete: encode header: %w", err)
		}
	}
	body, omit := outcome.Body, "0"
	if outcome.BodyOmitted {
		body, omit = nil, "1"
	}
	n, err := completeScript.Run(ctx, s.client, []string{s.key(lease.Scope, lease.Key)},
		lease.Token, outcome.Status, hdr, body, omit).Int()
	return held(n, err, "complete")
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, lease idempotency.Lease) error {
	n, err := releaseScript.Run(ctx, s.client, []string{s.key(lease.Scope, lease.Key)}, lease.Token).Int()
	return held(n, err, "release")
}

func held(n int, err error, op string) error {
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if n != 1 {
		return idempotency.ErrLeaseLost
	}
	return nil
}

var _ idempotency.Store = (*Store)(nil)
