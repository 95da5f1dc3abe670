package lua

import (
	"fmt"
	"reflect"
	"time"

	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// Penalty boxes for failed logins: task.penalties and its class.

func taskPenalties(L *glua.LState) int {
	p := stateOf(L).rt.dicts.Penalties(L.CheckString(1))
	if opts := optTable(L, 2, "per", "grace", "max"); opts != nil {
		dur := func(name string, def time.Duration) time.Duration {
			if v := optField(opts, name); v != glua.LNil {
				return seconds(L, v, name)
			}
			return def
		}
		per := dur("per", engine.DefaultPenaltyPer)
		if per <= 0 {
			L.RaiseError("option per must be positive")
		}
		p.Set(per, dur("grace", engine.DefaultPenaltyGrace), dur("max", engine.DefaultPenaltyMax))
	}
	L.Push(newObject(L, p))
	return 1
}

var penaltiesClass = &class{
	name:   "penalties",
	goType: reflect.TypeFor[*engine.Penalties](),
	// What tasks share on purpose.
	pass: passRef,
	doc:  "penalties per source address, for failed logins",
	tostring: func(v any) string {
		return fmt.Sprintf("<penalties %p>", v)
	},
	methods: []fn{
		{"fail", penaltiesFail, "p:fail(source) -- count a failure, or a try while blocked, against source"},
		{"blocked", penaltiesBlocked, "p:blocked(source) -> s | nil -- seconds source stays blocked, nil when it is not"},
		{"clear", penaltiesClear, "p:clear(source) -- forget source's penalty"},
	},
}

func checkPenalties(L *glua.LState) *engine.Penalties {
	return check[*engine.Penalties](L, 1, "penalties")
}

func penaltiesFail(L *glua.LState) int {
	checkPenalties(L).Fail(L.CheckString(2))
	return 0
}

func penaltiesBlocked(L *glua.LState) int {
	d := checkPenalties(L).Blocked(L.CheckString(2))
	if d <= 0 {
		L.Push(glua.LNil)
	} else {
		L.Push(glua.LNumber(d.Seconds()))
	}
	return 1
}

func penaltiesClear(L *glua.LState) int {
	checkPenalties(L).Clear(L.CheckString(2))
	return 0
}
