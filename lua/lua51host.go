package lua

import (
	"context"
	"io"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/lua/internal/lua51"
)

// luaHost is what the Lua 5.1 libraries (lua/internal/lua51) ask of the
// runtime of a state.
type luaHost struct{}

func init() { lua51.SetHost(luaHost{}) }

func (luaHost) MaxString(L *glua.LState) int64 { return maxString(L) }

func (luaHost) PatternSteps(L *glua.LState) int64 { return stateOf(L).rt.patternSteps }

func (luaHost) Materialize(L *glua.LState, t *glua.LTable) { materialize(L, t) }

func (luaHost) Context(L *glua.LState) context.Context { return ctxOf(L) }

func (luaHost) Stdio(L *glua.LState) (io.Reader, io.Writer, io.Writer) {
	rt := stateOf(L).rt
	return rt.stdin, rt.procOut, rt.procErr
}
