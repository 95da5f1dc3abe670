// Package testbin holds what the tests of every package share: the
// wirelab command built once per test process, for the end-to-end tests
// of the packages that run it (the command's own, repl, scripts), a
// locked buffer for output that goroutines write while a test reads it,
// waits on a condition (WaitFor) or for a process to be gone, and what
// tells Windows and Wine apart (Wine, SkipWine). It imports none of the
// project's packages but internal/winefix, so that the tests of any of
// them, engine's included, may import it.
package testbin
