package lua

import glua "github.com/yuin/gopher-lua"

// debugFuncs are Lua 5.1's debug functions where gopher-lua's differ:
// traceback and getinfo (pcall.go), and those that read or write a
// function's or table's environment and metatable through the shared
// library views (libviews.go).
var debugFuncs = map[string]glua.LGFunction{
	"traceback":    debugTraceback,
	"getinfo":      debugGetinfo,
	"getmetatable": debugGetmetatable,
	"setmetatable": debugSetmetatable,
	"getfenv":      debugGetfenv,
	"setfenv":      debugSetfenv,
	"setupvalue":   debugSetupvalue,
}
