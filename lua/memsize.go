package lua

import (
	"reflect"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
)

// What a state holds, measured for the memory budget (memory.go).
//
// The measure walks what the state's code can reach: its globals and
// registry, the registers of its main thread, of the thread running and
// of its protected calls, and from those every table, function, upvalue
// and coroutine, each once. It is an estimate in bytes of Go's memory
// (a table slot is an interface, 16 bytes; a number in it 8 more; a
// coroutine its stacks), and it stops as soon as it passes the limit
// asked, so the state that is over pays for a walk of the limit's size at
// most.
//
// gopher-lua keeps a table's array and maps and a thread's registers in
// unexported fields, so their sizes are read through reflection, the
// values only read, as vmframe.go reads a frame's registers. Each field's
// type is checked once: if a later gopher-lua reshapes them, tables are
// measured through ForEach instead and threads by a fixed estimate,
// slower or rougher, never wrong in kind.

// holds reports whether the state of s, seen from L (its main thread or
// one of its coroutines or protected calls), holds more than limit bytes.
func (s *state) holds(L *glua.LState, limit int64) bool {
	z := &sizer{limit: limit, seen: map[unsafe.Pointer]struct{}{}}
	z.push(s.L.G.Global)
	z.push(s.L.G.Registry)
	z.push(s.L)
	z.push(L)
	for _, th := range s.running {
		z.push(th.L)
	}
	return z.run()
}

// Estimated sizes, in bytes.
const (
	sizeSlot     = 16  // an LValue: an interface
	sizeBoxed    = 8   // a number or a small value behind it
	sizeTable    = 128 // an LTable and its bookkeeping
	sizeMapEntry = 48  // a map entry: key, value and the map's overhead
	sizeFunction = 96  // an LFunction
	sizeUpvalue  = 48
	sizeUserData = 64
	sizeThread   = 2048 // an LState and its first call frames
	bigString    = 1024 // strings this long are counted once however often they appear
)

type sizer struct {
	limit, total int64
	seen         map[unsafe.Pointer]struct{}
	work         []glua.LValue
}

// push schedules v, once, if it may hold others.
func (z *sizer) push(v glua.LValue) {
	var p unsafe.Pointer
	switch v := v.(type) {
	case *glua.LTable:
		p = unsafe.Pointer(v)
	case *glua.LFunction:
		p = unsafe.Pointer(v)
	case *glua.LUserData:
		p = unsafe.Pointer(v)
	case *glua.LState:
		p = unsafe.Pointer(v)
	case glua.LString:
		if len(v) >= bigString {
			if _, ok := z.seen[unsafe.Pointer(unsafe.StringData(string(v)))]; !ok {
				z.seen[unsafe.Pointer(unsafe.StringData(string(v)))] = struct{}{}
				z.total += int64(len(v))
			}
			return
		}
		z.total += int64(len(v))
		return
	default:
		return
	}
	if p == nil {
		return
	}
	if _, ok := z.seen[p]; ok {
		return
	}
	z.seen[p] = struct{}{}
	z.work = append(z.work, v)
}

// run measures what was pushed and what it reaches, and reports whether
// it passed the limit.
func (z *sizer) run() bool {
	for len(z.work) > 0 && z.total <= z.limit {
		v := z.work[len(z.work)-1]
		z.work = z.work[:len(z.work)-1]
		switch v := v.(type) {
		case *glua.LTable:
			z.table(v)
		case *glua.LFunction:
			z.function(v)
		case *glua.LUserData:
			z.total += sizeUserData
			z.push(v.Metatable)
			z.push(v.Env)
		case *glua.LState:
			z.thread(v)
		}
	}
	return z.total > z.limit
}

func (z *sizer) table(t *glua.LTable) {
	z.total += sizeTable
	z.push(t.Metatable)
	arr, dict, strdict, ok := tableParts(t)
	if !ok {
		t.ForEach(func(k, v glua.LValue) {
			z.total += sizeMapEntry
			z.push(k)
			z.push(v)
		})
		return
	}
	// The sizes first: a table of a billion numbers is over at once.
	z.total += int64(cap(arr))*sizeSlot + int64(len(arr))*sizeBoxed +
		int64(len(dict)+len(strdict))*sizeMapEntry
	if z.total > z.limit {
		return
	}
	for _, v := range arr {
		z.push(v)
	}
	for k, v := range dict {
		z.push(k)
		z.push(v)
	}
	for k, v := range strdict {
		z.push(glua.LString(k))
		z.push(v)
	}
}

func (z *sizer) function(f *glua.LFunction) {
	z.total += sizeFunction + int64(len(f.Upvalues))*sizeUpvalue
	z.push(f.Env)
	for _, uv := range f.Upvalues {
		if uv != nil {
			z.push(uv.Value())
		}
	}
	if f.Proto != nil {
		if _, ok := z.seen[unsafe.Pointer(f.Proto)]; !ok {
			z.proto(f.Proto)
		}
	}
}

func (z *sizer) proto(p *glua.FunctionProto) {
	z.seen[unsafe.Pointer(p)] = struct{}{}
	z.total += int64(len(p.Code))*8 + int64(len(p.Constants))*sizeSlot
	for _, c := range p.Constants {
		z.push(c)
	}
	for _, sub := range p.FunctionPrototypes {
		if _, ok := z.seen[unsafe.Pointer(sub)]; !ok {
			z.proto(sub)
		}
	}
}

func (z *sizer) thread(L *glua.LState) {
	z.total += sizeThread + int64(L.Options.CallStackSize)
	z.push(L.Env)
	regs, top, ok := registers(L)
	if !ok {
		z.total += int64(L.Options.RegistrySize) * sizeSlot
		return
	}
	z.total += int64(cap(regs)) * sizeSlot
	for _, v := range regs[:min(top, len(regs))] {
		z.push(v)
	}
}

// The layouts read through reflection, checked once.
var (
	lvaluesType = reflect.TypeOf([]glua.LValue(nil))
	dictType    = reflect.TypeOf(map[glua.LValue]glua.LValue(nil))
	strdictType = reflect.TypeOf(map[string]glua.LValue(nil))

	tableFields = func() (f struct{ array, dict, strdict uintptr }) {
		t := reflect.TypeOf(glua.LTable{})
		a, okA := t.FieldByName("array")
		d, okD := t.FieldByName("dict")
		s, okS := t.FieldByName("strdict")
		if !okA || !okD || !okS || a.Type != lvaluesType || d.Type != dictType || s.Type != strdictType {
			return f
		}
		f.array, f.dict, f.strdict = a.Offset, d.Offset, s.Offset
		return f
	}()
	tableLayoutKnown = tableFields.dict != 0

	regFields = func() (f struct {
		reg, array, top uintptr
		ok              bool
	}) {
		r, ok := reflect.TypeOf(glua.LState{}).FieldByName("reg")
		if !ok || r.Type.Kind() != reflect.Pointer || r.Type.Elem().Kind() != reflect.Struct {
			return f
		}
		a, okA := r.Type.Elem().FieldByName("array")
		t, okT := r.Type.Elem().FieldByName("top")
		if !okA || !okT || a.Type != lvaluesType || t.Type.Kind() != reflect.Int {
			return f
		}
		f.reg, f.array, f.top, f.ok = r.Offset, a.Offset, t.Offset, true
		return f
	}()
)

// tableParts returns t's array and maps, only to be read.
func tableParts(t *glua.LTable) (arr []glua.LValue, dict map[glua.LValue]glua.LValue, strdict map[string]glua.LValue, ok bool) {
	if !tableLayoutKnown {
		return nil, nil, nil, false
	}
	p := unsafe.Pointer(t)
	arr = *(*[]glua.LValue)(unsafe.Add(p, tableFields.array))
	dict = *(*map[glua.LValue]glua.LValue)(unsafe.Add(p, tableFields.dict))
	strdict = *(*map[string]glua.LValue)(unsafe.Add(p, tableFields.strdict))
	return arr, dict, strdict, true
}

// registers returns L's registers and the index of the first unused one,
// only to be read.
func registers(L *glua.LState) (regs []glua.LValue, top int, ok bool) {
	if !regFields.ok {
		return nil, 0, false
	}
	reg := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), regFields.reg))
	if reg == nil {
		return nil, 0, false
	}
	regs = *(*[]glua.LValue)(unsafe.Add(reg, regFields.array))
	top = *(*int)(unsafe.Add(reg, regFields.top))
	return regs, max(top, 0), true
}
