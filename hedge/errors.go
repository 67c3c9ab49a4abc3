package hedge

import "fmt"

// Error is returned when every attempt of a hedged call failed. It keeps each
// attempt's error, in the order they failed: errors.Is and errors.As find any
// of them. A call that made one attempt returns that attempt's error as it
// is, not an *Error.
type Error struct {
	// Name is the policy's name.
	Name string
	// Errs holds every attempt's error, in the order they arrived.
	Errs []error
}

// Error names the policy, how many attempts failed, and the last error.
func (e *Error) Error() string {
	return fmt.Sprintf("hedge: %q: all %d attempts failed: %v", e.Name, len(e.Errs), e.Errs[len(e.Errs)-1])
}

// Unwrap returns every attempt's error.
func (e *Error) Unwrap() []error { return e.Errs }
