package resilience

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/keel-go/keel/idempotency"
)

// keyContext carries an idempotency key for the Transport.
type keyContext struct{}

// WithIdempotencyKey returns a context that makes Transport send key as the
// Idempotency-Key of a request made with it that has none of its own. Use it
// when a key comes from elsewhere than the request (a message id, an order
// number): every retry and hedge of the request carries it.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyContext{}, key)
}

// WithDerivedKey is WithIdempotencyKey with idempotency.DerivedKey(scope,
// key, step): the key for one downstream call (step) made while handling a
// request that itself carried key in scope. A retry of that request derives
// the same key, so the downstream service deduplicates too; different steps
// get unrelated keys.
func WithDerivedKey(ctx context.Context, scope, key, step string) context.Context {
	return WithIdempotencyKey(ctx, idempotency.DerivedKey(scope, key, step))
}

func keyFromContext(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(keyContext{}).(string)
	return k, ok
}

// newKey returns 128 bits from crypto/rand as 22 characters of unpadded
// base64url: a bare Idempotency-Key that Keel's and Stripe's servers accept.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}
