package lua

import (
	"reflect"
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// A class is a Go type that scripts see as userdata with methods. Each is
// declared once, in the file of its module: its name, its Go type, its
// methods and how its objects pass to another task; classList names them
// all.
type class struct {
	name     string
	doc      string
	goType   reflect.Type // the Go type of its objects
	methods  []fn
	tostring func(v any) string
	// pass is how its objects pass to another task (transfer_rules.go);
	// copy makes the receiver's copy when pass is passCopy.
	pass passing
	copy func(v any) (any, error)
	// also are other Go types whose objects are of the class too: a
	// proxy relays streams (*engine.Proxy) or datagrams (*engine.UDPProxy).
	also []reflect.Type
}

// classList is every class, the one list of them (as gopher-lua's
// linit.go lists its libraries); each is declared in the file of its
// module.
var classList = []*class{connClass, listenerClass, serverClass, udpClass, proxyClass, sessionClass, processClass, limiterClass,
	taskClass, channelClass, dictClass, penaltiesClass, blobClass, hasherClass, accountsClass, nullClass}

// classes are the classes by name, and classByType by their Go type.
var (
	classes     = map[string]*class{}
	classByType = map[reflect.Type]*class{}
)

func init() {
	for _, c := range classList {
		if c.goType == nil || classes[c.name] != nil || classByType[c.goType] != nil {
			panic("lua: class " + c.name + " declared without a Go type, or twice")
		}
		if c.pass == passCopy && c.copy == nil {
			panic("lua: class " + c.name + " is copied between tasks without a copy function")
		}
		classes[c.name] = c
		for _, t := range append([]reflect.Type{c.goType}, c.also...) {
			if classByType[t] != nil {
				panic("lua: Go type " + t.String() + " is of two classes")
			}
			classByType[t] = c
		}
	}
}

// classOf returns the class of a Go object that may live in a userdata,
// or nil for values wirelab does not own.
func classOf(v any) *class { return classByType[reflect.TypeOf(v)] }

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
