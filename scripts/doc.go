// Package scripts holds wirelab's bundled Lua scripts: the tutorials'
// servers and clients, wire-compatible with the Python originals, and the
// sticky-packet demo. Each script's first line is a comment that says
// what it teaches; List shows it.
package scripts
