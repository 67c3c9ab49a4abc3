//go:build !race

package retry_test

// raceEnabled is true when the race detector is on.
const raceEnabled = false
