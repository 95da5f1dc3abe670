//go:build !linux && !darwin && !windows

package lua

// machineMemory is 0, unknown, on this system.
func machineMemory() int64 { return 0 }
