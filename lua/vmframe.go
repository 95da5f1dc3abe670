package lua

import (
	"reflect"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
)

// Reading a failing frame, for error messages that name the variable.
//
// Lua 5.1 names what it failed on ("attempt to index local 'x'") from the
// failing instruction and the registers of its frame. gopher-lua keeps both
// (a frame's pc and the state's registers) in unexported fields and offers
// no accessor, so this file reads them through reflection, read-only and
// only while an error is being worded. Every access checks what it finds:
// if a later gopher-lua renames or reshapes these fields, the messages lose
// the name ("attempt to index a nil value") and nothing else changes;
// TestErrors51 says so loudly.

// A luaFrame is a Lua function's frame as it stood when an error was
// raised in it.
type luaFrame struct {
	L     *glua.LState
	fn    *glua.LFunction
	proto *glua.FunctionProto
	pc    int // the instruction that failed (or that called the Go function that did)
	base  int // register 0 of the frame in L's registry
}

// luaFrameAt returns the frame level levels up L's stack when it is a Lua
// function's.
func luaFrameAt(L *glua.LState, level int) (*luaFrame, bool) {
	dbg, ok := L.GetStack(level)
	if !ok {
		return nil, false
	}
	f, _ := L.GetInfo("f", dbg, glua.LNil)
	fn, ok := f.(*glua.LFunction)
	if !ok || fn.IsG || fn.Proto == nil {
		return nil, false
	}
	cf := reflect.ValueOf(dbg).Elem().FieldByName("frame")
	if !cf.IsValid() || cf.Kind() != reflect.Pointer || cf.IsNil() {
		return nil, false
	}
	pc, okPc := intField(cf.Elem(), "Pc")
	base, okBase := intField(cf.Elem(), "LocalBase")
	if !okPc || !okBase || pc < 1 || pc > len(fn.Proto.Code) {
		return nil, false
	}
	return &luaFrame{L: L, fn: fn, proto: fn.Proto, pc: pc - 1, base: base}, true
}

func intField(v reflect.Value, name string) (int, bool) {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Int {
		return 0, false
	}
	return int(f.Int()), true
}

// reg returns register r of the frame, and whether it could be read.
func (f *luaFrame) reg(r int) (glua.LValue, bool) {
	regs := reflect.ValueOf(f.L).Elem().FieldByName("reg")
	if !regs.IsValid() || regs.Kind() != reflect.Pointer || regs.IsNil() {
		return nil, false
	}
	arr := regs.Elem().FieldByName("array")
	if !arr.IsValid() || arr.Kind() != reflect.Slice {
		return nil, false
	}
	i := f.base + r
	if i < 0 || i >= arr.Len() {
		return nil, false
	}
	e := arr.Index(i)
	if e.Type() != reflect.TypeOf((*glua.LValue)(nil)).Elem() {
		return nil, false
	}
	// An unexported field's value cannot be taken with Interface; its
	// address can, and the value is only read.
	v, _ := reflect.NewAt(e.Type(), unsafe.Pointer(e.UnsafeAddr())).Elem().Interface().(glua.LValue)
	if v == nil {
		v = glua.LNil
	}
	return v, true
}

// rk returns the value of an RK operand: a constant or a register.
func (f *luaFrame) rk(x int) (glua.LValue, bool) {
	if x&rkConst != 0 {
		i := x &^ rkConst
		if i < len(f.proto.Constants) {
			return f.proto.Constants[i], true
		}
		return nil, false
	}
	return f.reg(x)
}

// The fields of gopher-lua's instructions (Lua 5.1's layout: opcode in the
// top 6 bits, then A, C and B; Bx and sBx in the low 18 bits).
const rkConst = 1 << 8 // an RK operand naming a constant

func opOf(i uint32) int   { return int(i >> 26) }
func argA(i uint32) int   { return int(i>>18) & 0xff }
func argB(i uint32) int   { return int(i & 0x1ff) }
func argC(i uint32) int   { return int(i>>9) & 0x1ff }
func argBx(i uint32) int  { return int(i & 0x3ffff) }
func argSBx(i uint32) int { return argBx(i) - (1<<18-1)>>1 }
