package lua

import (
	"errors"

	glua "github.com/yuin/gopher-lua"
)

// confirmOption reads recv_file's confirm option: a Lua function that
// recv_file calls with the digest once the bytes are on disk, before the
// file takes its name. A true result keeps the file; false or nil, err
// drops it, and recv_file returns nil, err ("not confirmed" without err).
// A Lua error raised in it drops the file and goes on up.
func confirmOption(L *glua.LState, opts *glua.LTable) func(string) error {
	switch fn := optField(opts, "confirm").(type) {
	case *glua.LNilType:
		return nil
	case *glua.LFunction:
		return func(sum string) error {
			var arg glua.LValue = glua.LNil
			if sum != "" {
				arg = glua.LString(sum)
			}
			L.CallByParam(glua.P{Fn: fn, NRet: 2, Protect: false}, arg)
			ok, msg := L.Get(-2), L.Get(-1)
			L.Pop(2)
			if glua.LVAsBool(ok) {
				return nil
			}
			if s, isStr := msg.(glua.LString); isStr && s != "" {
				return errors.New(string(s))
			}
			return errors.New("not confirmed")
		}
	default:
		L.RaiseError("option confirm: function expected, got %s", fn.Type())
		return nil
	}
}
