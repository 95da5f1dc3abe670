// Package lua51 is wirelab's Lua 5.1 compatibility layer: the string
// (with its pattern matcher), table, math, io and os libraries corrected
// so that gopher-lua behaves as Lua 5.1 does, messages included. Package
// lua applies them when a library opens (its libs.go lists them) and is
// this package's Host. A reader of wirelab's own modules need not read
// this package; a Lua purist can read only it.
//
// What is here and why it is not gopher-lua's: pattern.go matches Lua 5.1
// patterns as the reference does (gopher-lua's fails pm.lua of the Lua 5.1
// suite); string.go formats numbers and %q as Lua 5.1 does and bounds
// what string.rep and string.format may build; table.go sorts with Lua
// 5.1's errors ("invalid order function for sorting") and bounds concat;
// io.go gives closed files, read formats, seek and setvbuf Lua 5.1's
// results; os.go is os.date, os.time and the rest in C's terms; math.go
// is math.fmod, math.modf, math.random and friends with Lua 5.1's edge
// cases.
package lua51
