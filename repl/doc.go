// Package repl is wirelab's interactive prompt: a Lua prompt (peterh/liner)
// where expressions print their values, servers and tasks keep running in
// the background, and Ctrl-C interrupts whatever the last line started.
package repl
