package lua

import (
	"fmt"
	"math"
	"reflect"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// exec.limiter and the limiter class: a cap on how many commands run at
// once, shared by every task that holds it (exec.run's limiter option).

// limiterFunc is exec.limiter, registered with the exec module (exec.go).
var limiterFunc = fn{"limiter", execLimiter, "exec.limiter([n]) -> limiter -- let at most n commands run at once (default exec.default_max_running, four per core); exec.run(cmd, {limiter = l}) waits in its line, first come first served"}

func execLimiter(L *glua.LState) int {
	n := float64(L.OptNumber(1, glua.LNumber(engine.DefaultMaxRunning())))
	if n < 1 || n != math.Trunc(n) || n > math.MaxInt32 {
		L.ArgError(1, fmt.Sprintf("a whole number of commands, at least 1, expected, got %v", glua.LNumber(n)))
	}
	L.Push(newObject(L, engine.NewLimiter(int(n))))
	return 1
}

// limiterClass: a limiter is shared on purpose, by reference: the handlers
// of a server each get the same line to wait in.
var limiterClass = &class{
	name:   "limiter",
	goType: reflect.TypeFor[*engine.Limiter](),
	pass:   passRef,
	doc:    "a cap on the commands run at once, with a first-come-first-served line",
	tostring: func(v any) string {
		l := v.(*engine.Limiter)
		return fmt.Sprintf("<limiter %d of %d running, %d waiting>", l.Running(), l.Max(), l.Waiting())
	},
	methods: []fn{
		{"running", limiterRunning, "l:running() -> n -- how many commands hold a slot now"},
		{"waiting", limiterWaiting, "l:waiting() -> n -- how many wait in line for one"},
		{"max", limiterMax, "l:max() -> n -- how many may run at once"},
	},
}

func checkLimiter(L *glua.LState) *engine.Limiter {
	return check[*engine.Limiter](L, 1, "limiter")
}

func limiterRunning(L *glua.LState) int {
	L.Push(glua.LNumber(checkLimiter(L).Running()))
	return 1
}

func limiterWaiting(L *glua.LState) int {
	L.Push(glua.LNumber(checkLimiter(L).Waiting()))
	return 1
}

func limiterMax(L *glua.LState) int {
	L.Push(glua.LNumber(checkLimiter(L).Max()))
	return 1
}
