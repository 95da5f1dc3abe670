package lua

import (
	"fmt"
	"reflect"
	"time"

	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// Channels between tasks: task.channel and the channel class.

// maxChannelSize bounds a channel's buffer, which Go allocates at once.
const maxChannelSize = 1 << 20

func taskChannel(L *glua.LState) int {
	size := L.OptNumber(1, 0)
	switch {
	case size < 0:
		L.ArgError(1, "negative size")
	case size > maxChannelSize:
		L.ArgError(1, fmt.Sprintf("size too large (at most %d)", maxChannelSize))
	}
	L.Push(newObject(L, engine.NewChan(int(size))))
	return 1
}

var channelClass = &class{
	name:   "channel",
	goType: reflect.TypeFor[*engine.Chan](),
	// What tasks share on purpose.
	pass: passRef,
	doc:  "a channel between tasks",
	tostring: func(v any) string {
		return fmt.Sprintf("<channel %p, %d waiting>", v, v.(*engine.Chan).Len())
	},
	methods: []fn{
		{"send", chanSend, "ch:send(v [, timeout]) -> true | nil, err -- deliver v (copied), waiting for room at most timeout seconds (0: not at all; nil: as long as it takes)"},
		{"recv", chanRecv, "ch:recv([timeout]) -> v | nil, \"closed\" or \"timeout\" -- the next value"},
		{"close", chanClose, "ch:close() -- no more sends; receivers drain what is left"},
	},
}

func checkChan(L *glua.LState) *engine.Chan { return check[*engine.Chan](L, 1, "channel") }

func chanSend(L *glua.LState) int {
	ch := checkChan(L)
	v, err := freezeValues(L, L.CheckAny(2))
	if err != nil {
		L.ArgError(2, err.Error())
	}
	timeout := time.Duration(-1)
	if L.Get(3) != glua.LNil {
		timeout = seconds(L, L.Get(3), "timeout")
	}
	if err := ch.SendTimeout(ctxOf(L), v[0], timeout); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}

func chanRecv(L *glua.LState) int {
	ch := checkChan(L)
	v, err := ch.Recv(ctxOf(L), seconds(L, L.Get(2), "timeout"))
	if err != nil {
		return fail(L, err)
	}
	L.Push(thawValues(L, []any{v})[0])
	return 1
}

func chanClose(L *glua.LState) int {
	checkChan(L).Close()
	return 0
}
