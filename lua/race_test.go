//go:build race

package lua

// raceEnabled is set when the race detector, which multiplies memory, runs.
const raceEnabled = true

// raceFactor is how many times the CPU time of a test may grow under the
// race detector (2 to 20 times, its documentation says; about 10 here).
const raceFactor = 10
