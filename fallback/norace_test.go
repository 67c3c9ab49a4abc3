//go:build !race

package fallback_test

// raceEnabled is true when the race detector is on.
const raceEnabled = false
