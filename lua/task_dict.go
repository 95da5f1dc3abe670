package lua

import (
	"fmt"
	"reflect"

	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// Dictionaries shared by tasks: task.shared and the dict class.

func taskShared(L *glua.LState) int {
	L.Push(newObject(L, stateOf(L).rt.dicts.Dict(L.CheckString(1))))
	return 1
}

var dictClass = &class{
	name:   "dict",
	goType: reflect.TypeFor[*engine.Dict](),
	// What tasks share on purpose.
	pass: passRef,
	doc:  "a dictionary shared by all tasks",
	tostring: func(v any) string {
		return fmt.Sprintf("<dict %p, %d keys>", v, len(v.(*engine.Dict).Keys()))
	},
	methods: []fn{
		{"get", dictGet, "d:get(key) -> value | nil -- a copy of the value under key"},
		{"set", dictSet, "d:set(key, value) -- store a copy of value (nil deletes)"},
		{"add", dictAdd, "d:add(key, value) -> bool -- store only if key is absent"},
		{"incr", dictIncr, "d:incr(key [, delta]) -> n | nil, err -- add delta (default 1) to a number, atomically"},
		{"delete", dictDelete, "d:delete(key) -> old value -- remove key"},
		{"keys", dictKeys, "d:keys() -> {key, ...} -- sorted"},
	},
}

func checkDict(L *glua.LState) *engine.Dict { return check[*engine.Dict](L, 1, "dict") }

func dictValue(L *glua.LState, n int) any {
	v, err := freezeValues(L, L.Get(n))
	if err != nil {
		L.ArgError(n, err.Error())
	}
	return v[0]
}

func dictGet(L *glua.LState) int {
	v, _ := checkDict(L).Get(L.CheckString(2))
	L.Push(thawValues(L, []any{v})[0])
	return 1
}

func dictSet(L *glua.LState) int {
	d, key := checkDict(L), L.CheckString(2)
	d.Set(key, dictValue(L, 3))
	return 0
}

func dictAdd(L *glua.LState) int {
	d, key := checkDict(L), L.CheckString(2)
	L.Push(glua.LBool(d.Add(key, dictValue(L, 3))))
	return 1
}

func dictIncr(L *glua.LState) int {
	d, key, delta := checkDict(L), L.CheckString(2), L.OptNumber(3, 1)
	n, err := d.Incr(key, float64(delta))
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(n))
	return 1
}

func dictDelete(L *glua.LState) int {
	d, key := checkDict(L), L.CheckString(2)
	L.Push(thawValues(L, []any{d.Delete(key)})[0])
	return 1
}

func dictKeys(L *glua.LState) int {
	keys := checkDict(L).Keys()
	t := L.CreateTable(len(keys), 0)
	for _, k := range keys {
		t.Append(glua.LString(k))
	}
	L.Push(t)
	return 1
}
