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
	if opts := optTable(L, 2, "per", "grace", "max", "ceiling", "netblock"); opts != nil {
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
		if v := optField(opts, "ceiling"); v != glua.LNil {
			n, ok := v.(glua.LNumber)
			if !ok || n < 0 {
				L.RaiseError("option ceiling: failures a second (0: none) expected, got %s", glua.LVAsString(v))
			}
			p.SetCeiling(float64(n))
		}
		if v := optField(opts, "netblock"); v != glua.LNil {
			var v4, v6 int
			s, _ := v.(glua.LString)
			if _, err := fmt.Sscanf(string(s), "%d:%d", &v4, &v6); err != nil {
				L.RaiseError("option netblock: \"V4:V6\" prefix lengths expected (sshd's PerSourceNetBlockSize, as \"24:64\"), got %s", glua.LVAsString(v))
			}
			if err := p.SetNetblock(v4, v6); err != nil {
				L.RaiseError("option %v", err)
			}
		}
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
		{"wait", penaltiesWait, "p:wait() -> true | nil, err -- before a check: at once within the ceiling of all sources' failures, else wait for a slot (at most ceiling checks a second in all)"},
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

func penaltiesWait(L *glua.LState) int {
	if err := checkPenalties(L).Wait(ctxOf(L)); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}
