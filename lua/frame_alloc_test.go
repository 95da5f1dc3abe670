package lua

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
)

// luaFrameAllocs bounds the allocations per echoed frame in Lua,
// c:send_frame(m) then c:recv_frame(), as README states it: the payload
// becomes a Lua string (one allocation: the bytes are read straight into
// it), which is boxed into a Lua value (one), and send_frame returns a
// Lua number (one); the half is slack for the loop's own numbers and the
// runtime's background work. The engine below allocates nothing
// (engine.TestFrameEchoAllocatesNothing).
const luaFrameAllocs = 3.5

// luaFrameAllocsWindows is the bound on Windows, where sockets are not
// read through their RawConn and 3.1 to 3.5 a round trip were measured
// under Wine (the cause of the extra half is not known).
const luaFrameAllocsWindows = 4

// TestLuaFrameEchoAllocations counts the allocations of a Lua loop of
// send_frame and recv_frame against a peer that echoes bytes back, per
// round trip, at sizes from 64 bytes to 64 KiB.
func TestLuaFrameEchoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveEcho(ln)
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: os.Stderr})
	defer func() { rt.Close(); rt.Wait(context.Background()) }()
	L := rt.NewState(rt.Context())
	defer L.Close()
	err = Run(L, "echo", []byte(fmt.Sprintf(`
		local c = assert(socket.connect("127.0.0.1", %d))
		function echo(m, n)
			for i = 1, n do
				assert(c:send_frame(m))
				m = assert(c:recv_frame())
			end
			return m
		end`, ln.Addr().(*net.TCPAddr).Port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(m string, n int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := L.DoString(fmt.Sprintf("assert(#echo(string.rep('x', %d), %d) == %d)", len(m), n, len(m))); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	for _, size := range []int{64, 1024, 16 << 10, 64 << 10} {
		m := string(make([]byte, size))
		run(m, 100) // warm up
		base, loop := run(m, 0), run(m, 2000)
		per := float64(loop-base) / 2000
		t.Logf("%d bytes: %.2f allocations per round trip", size, per)
		bound := luaFrameAllocs
		if runtime.GOOS == "windows" {
			bound = luaFrameAllocsWindows
		}
		if per > bound {
			t.Errorf("%d bytes: %.2f allocations per round trip in Lua, want at most %v", size, per, bound)
		}
	}
}
