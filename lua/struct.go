package lua

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/netproto"
)

// structModule is the struct module.
var structModule = &module{
	name: "struct",
	doc:  "Python's struct: pack and unpack binary data (byte order @ = < > !, codes x c b B ? h H i I l L q Q n N e f d s p)",
	funcs: []fn{
		{"pack", structPack, "struct.pack(fmt, ...) -> bytes -- as Python's struct.pack"},
		{"unpack", structUnpack, "struct.unpack(fmt, data [, pos]) -> values..., next_pos -- as Python's struct.unpack, from byte pos (default 1)"},
		{"calcsize", structCalcsize, "struct.calcsize(fmt) -> n -- the size fmt packs to"},
	},
}

// compileFormat returns the compiled format of argument n, raising on a
// bad one.
func compileFormat(L *glua.LState, n int) *netproto.Format {
	src := L.CheckString(n)
	if f, ok := formats.Load("struct:" + src); ok {
		return f.(*netproto.Format)
	}
	f, err := netproto.CompileFormat(src)
	if err != nil {
		L.ArgError(n, err.Error())
	}
	formats.Store("struct:"+src, f)
	return f
}

func structPack(L *glua.LState) int {
	f := compileFormat(L, 1)
	// The size is known from the format: refuse before allocating it.
	if int64(f.Size()) > maxString(L) {
		L.RaiseError("struct.pack: resulting string too large")
	}
	vals := make([]any, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		switch v := L.Get(i).(type) {
		case glua.LNumber:
			vals = append(vals, float64(v))
		case glua.LString:
			vals = append(vals, string(v))
		case glua.LBool:
			vals = append(vals, bool(v))
		case *glua.LNilType:
			vals = append(vals, nil)
		default:
			L.ArgError(i, "number, string or boolean expected, got "+v.Type().String())
		}
	}
	b, err := f.Pack(vals...)
	if err != nil {
		L.RaiseError("struct.pack: %v", err)
	}
	L.Push(lstring(b))
	return 1
}

func structUnpack(L *glua.LState) int {
	f := compileFormat(L, 1)
	data := L.CheckString(2)
	pos := L.OptInt(3, 1)
	if pos < 1 || pos > len(data)+1 {
		L.ArgError(3, "position out of range")
	}
	vals, err := f.Unpack(sbytes(data[pos-1:]))
	if err != nil {
		L.RaiseError("struct.unpack: %v", err)
	}
	for _, v := range vals {
		switch v := v.(type) {
		case int64:
			L.Push(glua.LNumber(v))
		case uint64:
			L.Push(glua.LNumber(v))
		case float64:
			L.Push(glua.LNumber(v))
		case bool:
			L.Push(glua.LBool(v))
		case []byte:
			L.Push(lstring(v))
		}
	}
	L.Push(glua.LNumber(pos + f.Size()))
	return len(vals) + 1
}

func structCalcsize(L *glua.LState) int {
	L.Push(glua.LNumber(compileFormat(L, 1).Size()))
	return 1
}
