package lua51

import glua "github.com/yuin/gopher-lua"

// Argument checks as Lua 5.1's lauxlib makes them.

// NumArg is luaL_checknumber: argument n as a number, from a number or
// a numeric string. Unlike gopher-lua's CheckNumber, it tells a missing
// argument ("got no value") from a nil.
func NumArg(L *glua.LState, n int) glua.LNumber {
	if n > L.GetTop() {
		L.ArgError(n, "number expected, got no value")
	}
	return L.CheckNumber(n)
}

// IntArg is luaL_checkint: argument n as an int, truncated.
func IntArg(L *glua.LState, n int) int { return int(NumArg(L, n)) }

// TableArg is luaL_checktype(L, n, LUA_TTABLE): argument n as a table.
func TableArg(L *glua.LState, n int) *glua.LTable {
	if n > L.GetTop() {
		L.ArgError(n, "table expected, got no value")
	}
	return L.CheckTable(n)
}

// OptIntArg is luaL_optint: argument n as an int, or d when it is nil or
// absent.
func OptIntArg(L *glua.LState, n, d int) int {
	if L.Get(n) == glua.LNil {
		return d
	}
	return IntArg(L, n)
}
