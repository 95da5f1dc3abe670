//go:build race

package lua

// raceEnabled is set when the race detector, which multiplies memory, runs.
const raceEnabled = true
