//go:build !race

package lua

// raceEnabled is set when the race detector, which multiplies memory, runs.
const raceEnabled = false

// raceFactor is how many times the CPU time of a test may grow under the
// race detector: 1, since it does not run.
const raceFactor = 1
