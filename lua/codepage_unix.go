//go:build !windows

package lua

// consoleEncoding is the encoding of what commands write on this system:
// UTF-8 on Unix, whose terminals and locales wirelab expects to be.
func consoleEncoding() string { return "utf-8" }
