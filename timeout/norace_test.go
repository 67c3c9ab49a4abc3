//go:build !race

package timeout_test

// raceEnabled is true when the race detector is on.
const raceEnabled = false
