package lua

import (
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// A class is a Go type that scripts see as userdata with methods.
type class struct {
	name     string
	doc      string
	methods  []fn
	tostring func(v any) string
}

// classes are the classes by name, set in init so that the methods, which
// make objects of classes, can refer to them.
var classes map[string]*class

func init() {
	classes = map[string]*class{}
	for _, c := range []*class{connClass, listenerClass, serverClass, udpClass, taskClass, channelClass, dictClass, penaltiesClass, blobClass, hasherClass, accountsClass, nullClass, processClass} {
		classes[c.name] = c
	}
}

// classOf returns the class of a Go object that may live in a userdata,
// or nil for values wirelab does not own.
func classOf(v any) *class {
	var name string
	switch v.(type) {
	case *engine.Conn:
		name = "conn"
	case *engine.Listener:
		name = "listener"
	case *Server:
		name = "server"
	case *engine.UDP:
		name = "udp"
	case *Task:
		name = "task"
	case *engine.Chan:
		name = "channel"
	case *engine.Dict:
		name = "dict"
	case *engine.Penalties:
		name = "penalties"
	case *engine.Blob:
		name = "blob"
	case *hasher:
		name = "hasher"
	case *engine.Accounts:
		name = "accounts"
	case *engine.Process:
		name = "process"
	case jsonNull:
		name = "json.null"
	default:
		return nil
	}
	return classes[name]
}

// classMetas are the metatables of every class, built once and shared
// by all states: a server holds a state per connection, and a metatable
// with its methods is several kilobytes. They are never written after
// this, and __metatable hides them from getmetatable, so states only ever
// read them, which is safe from many goroutines. Their functions are Go
// functions, which run on whichever state calls them.
var classMetas = sync.OnceValue(func() map[string]*glua.LTable {
	owner := glua.NewState(glua.Options{SkipOpenLibs: true})
	metas := map[string]*glua.LTable{}
	for name, c := range classes {
		mt := owner.NewTable()
		methods := owner.CreateTable(0, len(c.methods))
		for _, m := range c.methods {
			methods.RawSetString(m.name, owner.NewFunction(m.f))
		}
		// A name that is not a method raises, naming the likely one;
		// methods are found in the table itself, as fast as before.
		mm := owner.NewTable()
		mm.RawSetString("__index", owner.NewFunction(missingMethod(c)))
		owner.SetMetatable(methods, mm)
		mt.RawSetString("__index", methods)
		mt.RawSetString("__name", glua.LString(c.name))
		mt.RawSetString("__metatable", glua.LString(c.name))
		mt.RawSetString("__tostring", owner.NewFunction(func(L *glua.LState) int {
			ud := L.CheckUserData(1)
			L.Push(glua.LString(c.tostring(ud.Value)))
			return 1
		}))
		metas[name] = mt
	}
	return metas
})

// classMeta returns the shared metatable of c.
func classMeta(_ *glua.LState, c *class) *glua.LTable { return classMetas()[c.name] }

// newObject wraps a Go object of a known class in a userdata of L.
func newObject(L *glua.LState, v any) glua.LValue {
	if _, ok := v.(jsonNull); ok {
		return lookupPath(L, "json.null")
	}
	c := classOf(v)
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = classMeta(L, c)
	return ud
}
