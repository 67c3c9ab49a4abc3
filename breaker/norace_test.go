//go:build !race

package breaker_test

// raceEnabled is true when the race detector is on.
const raceEnabled = false
