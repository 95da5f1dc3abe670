package lua

import (
	"context"
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestSharedLibrariesStayPrivate runs tasks that change their libraries
// in every way a script can, side by side: each sees only its own
// changes, and -race sees no write to what they share.
func TestSharedLibrariesStayPrivate(t *testing.T) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	err := Run(L, "private", []byte(`
		local tasks = {}
		for id = 1, 16 do
			tasks[id] = task.spawn(function()
				for round = 1, 50 do
					function string.mine() return id end
					assert(("x"):mine() == id)
					assert(string.format("%d", id) == tostring(id))
					if id % 4 == 0 then for k in pairs(string) do end end
					if id % 4 == 1 then for k in pairs(_G) do end end
					if id % 4 == 2 then setmetatable(_G, nil) end
					if id % 4 == 3 then table.insert = nil; assert(table.insert == nil) end
					print = function() end
					assert(type(print) == "function")
				end
				return id
			end)
		end
		for id, t in ipairs(tasks) do local ok, v = t:wait(); assert(ok and v == id, tostring(v)) end
		assert(string.mine == nil and ("x").mine == nil, "a task's addition leaked")
		assert(type(table.insert) == "function")
	`), nil)
	if err != nil {
		t.Fatal(err)
	}
}

// TestStateMemory measures a fresh state's heap: the shared libraries
// keep it to gopher-lua's own structures, mostly the index of the call
// stack (12 KiB for 12,000 frames).
func TestStateMemory(t *testing.T) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	rt.newState(noContext).Close() // the shared libraries, once
	const n = 2000
	states := make([]any, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range states {
		states[i] = rt.newState(noContext)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(states)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("a fresh state: %.1f KiB", per/1024)
	if per > 20<<10 {
		t.Errorf("a fresh state costs %.1f KiB, over 20", per/1024)
	}
}

// serveEcho sends every connection ln accepts its own bytes back until the
// peer closes, each on a goroutine of its own; it returns at once. The
// copy goes through one buffer made per connection, so a round trip
// allocates nothing on this side (the allocation tests count the whole
// process).
func serveEcho(ln net.Listener) {
	testbin.ServeOn(ln, func(c net.Conn) {
		io.CopyBuffer(c, struct{ io.Reader }{c}, make([]byte, 256<<10))
	})
}
