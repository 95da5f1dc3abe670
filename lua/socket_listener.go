package lua

import (
	"fmt"
	"reflect"

	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// The listener class: socket.listen's, whose accept gives conns.

var listenerClass = &class{
	name:   "listener",
	goType: reflect.TypeFor[*engine.Listener](),
	pass:   passRef,
	doc:    "a TCP listener",
	tostring: func(v any) string {
		l := v.(*engine.Listener)
		return fmt.Sprintf("<listener %s %s>", l.Addr(), openClosed(l.Closed()))
	},
	methods: []fn{
		{"accept", listenerAccept, "ln:accept() -> conn | nil, err -- wait for the next connection"},
		{"port", listenerPort, "ln:port() -> n -- the port listened on"},
		{"close", listenerClose, "ln:close() -- stop listening"},
	},
}

func checkListener(L *glua.LState) *engine.Listener {
	return check[*engine.Listener](L, 1, "listener")
}

func listenerAccept(L *glua.LState) int {
	c, err := checkListener(L).Accept(ctxOf(L))
	if err != nil {
		return fail(L, err)
	}
	stateOf(L).rt.traceNew(c)
	L.Push(newObject(L, c))
	return 1
}

func listenerPort(L *glua.LState) int {
	L.Push(glua.LNumber(checkListener(L).Port()))
	return 1
}

func listenerClose(L *glua.LState) int {
	checkListener(L).Close()
	return 0
}
