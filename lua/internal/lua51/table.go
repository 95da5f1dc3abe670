package lua51

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Lua 5.1's table library, in place of gopher-lua's: concat builds its
// result in one pass, whatever the count of pieces; insert, remove and
// sort move elements as 5.1's do, sort with 5.1's quicksort, so that an
// inconsistent order function fails the same way; and the 5.1
// compatibility functions foreach, foreachi and setn are there.

// tableConcat is table.concat(t [, sep [, i [, j]]]).
func tableConcat(L *glua.LState) int {
	sep := ""
	if L.Get(2) != glua.LNil {
		sep = L.CheckString(2)
	}
	t := TableArg(L, 1)
	i := OptIntArg(L, 3, 1)
	last := OptIntArg(L, 4, t.Len())
	if i > last {
		L.Push(glua.LString(""))
		return 1
	}
	parts := make([]string, 0, min(last-i+1, 1<<16))
	size, limit := int64(0), host.MaxString(L)
	for ; ; i++ {
		v := RawGeti(t, i)
		switch v.(type) {
		case glua.LString, glua.LNumber:
		default:
			L.RaiseError("invalid value (%s) at index %d in table for 'concat'", v.Type(), i)
		}
		s := glua.LVAsString(v)
		parts = append(parts, s)
		size += int64(len(s))
		if i == last {
			break
		}
		size += int64(len(sep))
		if size > limit {
			L.RaiseError("string too large")
		}
	}
	if size > limit {
		L.RaiseError("string too large")
	}
	var b strings.Builder
	b.Grow(int(size))
	for k, s := range parts {
		if k > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	L.Push(glua.LString(b.String()))
	return 1
}

// tableInsert is table.insert(t, [pos,] v): without pos it appends; with
// it, it moves t[pos..] up one, growing t to pos when pos is past its end.
func tableInsert(L *glua.LState) int {
	t := TableArg(L, 1)
	e := t.Len() + 1
	var pos int
	switch L.GetTop() {
	case 2:
		pos = e
	case 3:
		pos = IntArg(L, 2)
		if pos > e {
			e = pos
		}
		for i := e; i > pos; i-- {
			rawSeti(t, i, RawGeti(t, i-1))
		}
	default:
		L.RaiseError("wrong number of arguments to 'insert'")
	}
	rawSeti(t, pos, L.Get(L.GetTop()))
	return 0
}

// tableRemove is table.remove(t [, pos]): it removes and returns t[pos]
// (default the last element), moving the ones after it down; a position
// outside 1..#t removes nothing and returns nothing.
func tableRemove(L *glua.LState) int {
	t := TableArg(L, 1)
	e := t.Len()
	pos := OptIntArg(L, 2, e)
	if pos < 1 || pos > e {
		return 0
	}
	L.Push(RawGeti(t, pos))
	for ; pos < e; pos++ {
		rawSeti(t, pos, RawGeti(t, pos+1))
	}
	rawSeti(t, e, glua.LNil)
	return 1
}

// tableMaxn is table.maxn(t): the largest positive numeric key, or 0.
func tableMaxn(L *glua.LState) int {
	t := TableArg(L, 1)
	max := glua.LNumber(0)
	for k, _ := t.Next(glua.LNil); k != glua.LNil; k, _ = t.Next(k) {
		if n, ok := k.(glua.LNumber); ok && n > max {
			max = n
		}
	}
	L.Push(max)
	return 1
}

// tableGetn is table.getn(t): #t.
func tableGetn(L *glua.LState) int {
	L.Push(glua.LNumber(TableArg(L, 1).Len()))
	return 1
}

// tableSetn is table.setn, which Lua 5.1 keeps only to say it is gone.
func tableSetn(L *glua.LState) int {
	TableArg(L, 1)
	L.RaiseError("'setn' is obsolete")
	return 0
}

// tableForeach is table.foreach(t, f): f(k, v) for each pair until f
// returns a value other than nil, which it returns.
func tableForeach(L *glua.LState) int {
	t := TableArg(L, 1)
	f := L.CheckFunction(2)
	host.Materialize(L, t)
	for k, v := t.Next(glua.LNil); k != glua.LNil; k, v = t.Next(k) {
		L.Push(f)
		L.Push(k)
		L.Push(v)
		L.Call(2, 1)
		if L.Get(-1) != glua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// tableForeachi is table.foreachi(t, f): f(i, t[i]) for i = 1, #t until f
// returns a value other than nil, which it returns.
func tableForeachi(L *glua.LState) int {
	t := TableArg(L, 1)
	n := t.Len()
	f := L.CheckFunction(2)
	for i := 1; i <= n; i++ {
		L.Push(f)
		L.Push(glua.LNumber(i))
		L.Push(RawGeti(t, i))
		L.Call(2, 1)
		if L.Get(-1) != glua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// tableSort is table.sort(t [, lt]).
func tableSort(L *glua.LState) int {
	t := TableArg(L, 1)
	n := t.Len()
	s := sorter{L: L, t: t}
	if L.Get(2) != glua.LNil {
		s.lt = L.CheckFunction(2)
	}
	s.sort(1, n)
	return 0
}

// A sorter sorts t[l..u] as Lua 5.1's auxsort does: the same quicksort,
// reading and writing the table at the same steps, so that the order
// function sees the same calls and a bad one fails the same way.
type sorter struct {
	L  *glua.LState
	t  *glua.LTable
	lt *glua.LFunction // nil: the < operator
}

func (s *sorter) less(a, b glua.LValue) bool {
	if s.lt == nil {
		return s.L.LessThan(a, b)
	}
	s.L.Push(s.lt)
	s.L.Push(a)
	s.L.Push(b)
	s.L.Call(2, 1)
	r := glua.LVAsBool(s.L.Get(-1))
	s.L.Pop(1)
	return r
}

func (s *sorter) get(i int) glua.LValue { return RawGeti(s.t, i) }

func (s *sorter) set(i int, v glua.LValue) { rawSeti(s.t, i, v) }

func (s *sorter) sort(l, u int) {
	for l < u {
		// Order a[l], a[(l+u)/2] and a[u]; the middle one is the pivot.
		a, b := s.get(l), s.get(u)
		if s.less(b, a) {
			s.set(l, b)
			s.set(u, a)
		}
		if u-l == 1 {
			return
		}
		i := (l + u) / 2
		a, b = s.get(i), s.get(l)
		if s.less(a, b) {
			s.set(i, b)
			s.set(l, a)
		} else if c := s.get(u); s.less(c, a) {
			s.set(i, c)
			s.set(u, a)
		}
		if u-l == 2 {
			return
		}
		p := s.get(i)
		s.set(i, s.get(u-1))
		s.set(u-1, p)
		// Invariant: a[l..i] <= p <= a[j..u].
		i, j := l, u-1
		for {
			for i++; ; i++ {
				if a = s.get(i); !s.less(a, p) {
					break
				}
				if i > u {
					s.L.RaiseError("invalid order function for sorting")
				}
			}
			for j--; ; j-- {
				if b = s.get(j); !s.less(p, b) {
					break
				}
				if j < l {
					s.L.RaiseError("invalid order function for sorting")
				}
			}
			if j < i {
				break
			}
			s.set(i, b)
			s.set(j, a)
		}
		a, b = s.get(u-1), s.get(i)
		s.set(u-1, b)
		s.set(i, a)
		// Sort the smaller part in a call, the larger in the loop.
		if i-l < u-i {
			s.sort(l, i-1)
			l = i + 1
		} else {
			s.sort(i+1, u)
			u = i - 1
		}
	}
}

// RawGeti is t[i], raw. gopher-lua's RawGetInt sees only the array part,
// missing t[0] and negative keys.
func RawGeti(t *glua.LTable, i int) glua.LValue {
	if v := t.RawGetInt(i); v != glua.LNil {
		return v
	}
	return t.RawGet(glua.LNumber(i))
}

// rawSeti sets t[i], raw.
func rawSeti(t *glua.LTable, i int, v glua.LValue) { t.RawSet(glua.LNumber(i), v) }

// TableFuncs are Lua 5.1's table functions where gopher-lua's differ.
var TableFuncs = map[string]glua.LGFunction{
	"concat":   tableConcat,
	"insert":   tableInsert,
	"remove":   tableRemove,
	"sort":     tableSort,
	"maxn":     tableMaxn,
	"getn":     tableGetn,
	"setn":     tableSetn,
	"foreach":  tableForeach,
	"foreachi": tableForeachi,
}
