//go:build race

package resilience_test

// raceEnabled is true when the race detector is on.
const raceEnabled = true
