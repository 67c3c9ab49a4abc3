package breaker

import "time"

// State is a breaker's state.
type State uint8

const (
	// Closed lets calls through and counts their outcomes.
	Closed State = iota
	// Open rejects calls until its break duration has passed.
	Open
	// HalfOpen lets a limited number of probe calls through to test the
	// dependency: enough successes close the breaker, a failure opens it again.
	HalfOpen
	// ForcedOpen rejects every call until Reset or Disable (set by Open:
	// isolate the dependency).
	ForcedOpen
	// Disabled lets every call through and counts nothing (set by Disable).
	Disabled
)

var stateNames = [...]string{"closed", "open", "half-open", "forced-open", "disabled"}

// String returns the state's name as used in metrics: closed, open,
// half-open, forced-open, disabled.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// StateChange is what listeners receive.
type StateChange struct {
	Name string
	From State
	To   State
	At   time.Time
	// OpenCount is how many times the breaker has opened since it was last
	// closed (1 after the first trip). It is what Config.BreakDuration receives.
	OpenCount int
}

// The state word packs, in one atomic uint64, what the closed-state fast path
// needs: the state (8 bits), the consecutive-failure count (24 bits) and the
// generation (32 bits), bumped on every state change so that an outcome from
// an earlier generation is recognised and dropped.
const (
	stateBits   = 8
	consecBits  = 24
	consecShift = stateBits
	genShift    = stateBits + consecBits
	stateMask   = 1<<stateBits - 1
	consecMask  = 1<<consecBits - 1
	// maxConsecutive is the largest Config.ConsecutiveFailures.
	maxConsecutive = consecMask
)

func stateOf(w uint64) State   { return State(w & stateMask) }
func consecOf(w uint64) uint64 { return (w >> consecShift) & consecMask }
func genOf(w uint64) uint32    { return uint32(w >> genShift) }
func makeWord(gen uint32, consec uint64, s State) uint64 {
	return uint64(gen)<<genShift | (consec&consecMask)<<consecShift | uint64(s)
}
