package lua_test

import (
	"context"
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/lua"
)

// A runtime without exec (so without os.execute and io.popen too) and
// with a module of the program's own, which tasks get as well.
func ExampleRuntime_sandbox() {
	rt := lua.NewRuntime(context.Background(), lua.Options{
		Omit: []string{"exec"},
		Modules: []lua.Module{{Name: "greet", Funcs: map[string]glua.LGFunction{
			"hello": func(L *glua.LState) int {
				L.Push(glua.LString("hello, " + L.CheckString(1)))
				return 1
			},
		}}},
	})
	defer rt.Close()
	err := rt.Run("main", []byte(`
		print(greet.hello("world"), exec, os.execute, io.popen)
		print(task.spawn(function() return greet.hello("task") end):wait())`))
	fmt.Println(err)
	// Output:
	// hello, world	nil	nil	nil
	// true	hello, task
	// <nil>
}
