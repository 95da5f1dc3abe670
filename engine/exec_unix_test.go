//go:build !windows

package engine

import "strconv"

// slow is a /bin/sh command that runs about n seconds.
func slow(n int) string { return "sleep " + strconv.Itoa(n) }
