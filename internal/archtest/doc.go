// Package archtest enforces the one rule of the house: the primitive packages
// (retry, breaker, ratelimit, cache, idempotency, timeout, fallback, hedge,
// crypto/field, crypto/mask, crypto/password, audit, backup, metrics) do not
// import one another, nor the composers: cmd/, examples/ and resilience/.
// They meet only in the composers and the user's code; resilience is the one
// library package allowed to import them.
//
// The rule is checked on the build graph that `go list -deps` reports, so an
// indirect import (retry → some/internal/pkg → breaker) is caught too. Test
// files are outside the rule: an external _test package may compose two
// primitives to show how they fit together, the way a user would.
package archtest
