package fallback

import "fmt"

// Error is returned when the call failed and so did the fallback's Func.
// errors.Is and errors.As find both causes.
type Error struct {
	// Name is the policy's name.
	Name string
	// Err is the call's error, which the fallback tried to answer.
	Err error
	// FallbackErr is the error Config.Func returned.
	FallbackErr error
}

// Error names the policy and both errors.
func (e *Error) Error() string {
	return fmt.Sprintf("fallback: %q failed too (%v) after: %v", e.Name, e.FallbackErr, e.Err)
}

// Unwrap returns the call's error and the fallback's.
func (e *Error) Unwrap() []error { return []error{e.Err, e.FallbackErr} }
