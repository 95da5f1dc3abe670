package lua51

import (
	"context"
	"io"

	glua "github.com/yuin/gopher-lua"
)

// A Host is what the libraries ask of the runtime a state belongs to.
type Host interface {
	// MaxString is the longest string a library may build in L; past it
	// the call raises instead of allocating.
	MaxString(L *glua.LState) int64
	// PatternSteps is the steps that one call of find, match, gsub or of
	// a gmatch iterator may take in L, besides 64 for each byte of the
	// subject; past them it raises "pattern too complex". 0: no limit.
	PatternSteps(L *glua.LState) int64
	// Materialize makes t, a table L reads through a shared view (the
	// libraries are shared by every state), a table of L's own before a
	// library function writes to it.
	Materialize(L *glua.LState, t *glua.LTable)
	// Context is the context L's blocking calls honour (os.execute).
	Context(L *glua.LState) context.Context
	// Stdio are the standard files of L's runtime, for the programs that
	// os.execute runs.
	Stdio(L *glua.LState) (stdin io.Reader, stdout, stderr io.Writer)
}

// host is the runtime's Host, set once by SetHost.
var host Host

// SetHost sets the Host of every state; package lua calls it once, from
// init, before any state exists.
func SetHost(h Host) { host = h }
