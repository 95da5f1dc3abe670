package lua

import (
	"errors"
	"os"
	"path/filepath"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// Files over a conn: c:send_file and c:recv_file, the bytes moved by Go.

// fileOptions reads the options of send_file and recv_file.
func fileOptions(L *glua.LState, opts *glua.LTable) engine.FileOptions {
	o := engine.FileOptions{
		Dir:       optString(L, opts, "dir", ""),
		Hash:      optString(L, opts, "hash", ""),
		Size:      optInt(L, opts, "size", -1),
		Expect:    optString(L, opts, "expect", ""),
		Overwrite: optBool(L, opts, "overwrite", false),
		Unique:    optBool(L, opts, "unique", false),
	}
	if _, err := engine.NewHash(o.Hash); err != nil {
		L.RaiseError("%v", err)
	}
	if o.Expect != "" && o.Hash == "" {
		L.RaiseError("option expect needs option hash")
	}
	return o
}

func pushTransfer(L *glua.LState, r engine.FileResult, withName bool) int {
	L.Push(glua.LNumber(r.N))
	if r.Sum == "" {
		L.Push(glua.LNil)
	} else {
		L.Push(glua.LString(r.Sum))
	}
	if !withName {
		return 2
	}
	L.Push(glua.LString(r.Name))
	return 3
}

func connSendFile(L *glua.LState) int {
	c, path, opts := checkConn(L, 1), L.CheckString(2), optTable(L, 3, "hash", "dir", "size", "progress", "head", "timeout")
	o := fileOptions(L, opts)
	if optBool(L, opts, "progress", false) {
		if size, err := fileSize(o, path); err == nil {
			o.Progress = newProgress(L, "send", size)
		}
	}
	o.Head = []byte(optString(L, opts, "head", ""))
	r, err := c.SendFile(opContext(L, opts), path, o)
	if err != nil {
		fail(L, err)
		L.Push(glua.LNumber(r.Sent)) // 0: the connection is as it was
		return 3
	}
	return pushTransfer(L, r, false)
}

// fileSize is the size send_file will send, for its progress bar.
func fileSize(o engine.FileOptions, path string) (int64, error) {
	if o.Size >= 0 {
		return o.Size, nil
	}
	if o.Dir != "" {
		path = filepath.Join(o.Dir, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// DefaultMinRate is recv_file's default min_rate: 1 KiB a second.
const DefaultMinRate = 1024

func connRecvFile(L *glua.LState) int {
	c, path, size, opts := checkConn(L, 1), L.CheckString(2), L.CheckNumber(3), optTable(L, 4, "hash", "expect", "dir", "overwrite", "unique", "progress", "min_rate", "confirm", "timeout", "max_store")
	if size < 0 || float64(size) != float64(int64(size)) {
		L.ArgError(3, "size must be a non-negative integer")
	}
	o := fileOptions(L, opts)
	if optBool(L, opts, "progress", false) {
		o.Progress = newProgress(L, "recv", int64(size))
	}
	o.MinRate = optInt(L, opts, "min_rate", DefaultMinRate)
	if o.MaxStore = optInt(L, opts, "max_store", 0); o.MaxStore < 0 {
		L.RaiseError("option max_store: a number of bytes expected, got %d", o.MaxStore)
	}
	o.Confirm = confirmOption(L, opts)
	r, err := c.RecvFile(opContext(L, opts), path, int64(size), o)
	if err != nil {
		return fail(L, err)
	}
	return pushTransfer(L, r, true)
}

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

func socketCleanPartial(L *glua.LState) int {
	n, err := engine.CleanPartial(L.CheckString(1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(n))
	return 1
}
