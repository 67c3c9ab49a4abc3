package mask

import "errors"

// A nil policy is a mistake in the caller's wiring (a field never set, a
// constructor's error ignored). It gets an error naming the type and the
// constructor, and the call is not made, instead of a nil-pointer panic deep
// inside the package (docs/CONVENTIONS.md, "No panic on anything a user
// passes").
var errNilPolicy = errors.New("mask: a nil *Policy was used; build one with mask.NewPolicy")
