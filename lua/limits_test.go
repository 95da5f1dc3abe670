package lua

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// Tests of the limits that keep one script from taking the server down:
// the pattern matcher's step budget and its cancellation, MaxString on
// concatenation, the memory budget.

// TestPatternTooComplex: a pattern whose work grows as a power of its
// subject's length stops with "pattern too complex" past the budget, in
// every function that matches; linear work on a long subject passes
// however small the budget, since each byte of the subject adds to it.
func TestPatternTooComplex(t *testing.T) {
	opts := Options{MaxPatternSteps: 100_000}
	for _, src := range []string{
		`string.find(string.rep("a", 100000), ".-.-.-.-.-b")`,
		`string.match(string.rep("a", 100000), ".-.-.-.-.-b")`,
		`string.gsub(string.rep("a", 100000), ".-.-.-.-.-b", "")`,
		`for w in string.gmatch(string.rep("a", 100000), ".-.-.-.-.-b") do end`,
		// Each start scans to the end, finding no closing bracket.
		`string.find(string.rep("(", 100000), "%b()")`,
		// Each back-reference compares as many bytes as its capture.
		`string.find(string.rep("a", 20000) .. "b", "(a*)%1b")`,
	} {
		if _, err := runChunk(t, nil, opts, src); !strings.Contains(err, "pattern too complex") {
			t.Errorf("%s: error %q, want pattern too complex", src, err)
		}
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, 3.14 times.\n", 20000)
	for _, src := range []string{
		`assert(select(2, s:gsub("%s+", " ")) == 220000)`,
		`assert(select(2, s:gsub("%a+", "<%0>")) == 200000)`,
		`assert(s:find("%d+%.%d+x") == nil)`,
		`assert(s:match("^(.*)times") ~= nil)`,
		`local n = 0 for w in s:gmatch("%a+") do n = n + 1 end assert(n == 200000)`,
		`assert(("(" .. s .. ")"):find("%b()") == 1)`,
	} {
		if _, err := runChunk(t, nil, opts, "local s = "+fmt.Sprintf("%q", text)+"\n"+src); err != "" {
			t.Errorf("%s: %s", src, err)
		}
	}
	// The default budget stops it too, in about a second of CPU time.
	src := `return string.find(string.rep("a", 2000), ".-.-.-.-.-b")`
	if _, err := runChunk(t, nil, Options{}, src); !strings.Contains(err, "pattern too complex") {
		t.Errorf("default budget: error %q, want pattern too complex", err)
	}
	// A negative budget is none: 2^20 steps pass under a budget of 1000.
	src = `assert(string.find(string.rep("a", 20), string.rep("a?", 20) .. string.rep("a", 20)) == 1)`
	if _, err := runChunk(t, nil, Options{MaxPatternSteps: -1}, src); err != "" {
		t.Errorf("no budget: %s", err)
	}
	if _, err := runChunk(t, nil, Options{MaxPatternSteps: 1000}, src); !strings.Contains(err, "pattern too complex") {
		t.Errorf("budget 1000: error %q, want pattern too complex", err)
	}
}

// TestPatternCancelled: a catastrophic pattern in a connection handler,
// with no step budget, ends once srv:close() or the runtime's context
// (Ctrl-C) interrupts it: the call raises (the handler's next line never
// runs), and after the cancel the process uses less than 100 ms of CPU
// time before every handler is done.
func TestPatternCancelled(t *testing.T) {
	for _, c := range []struct{ name, subject, pattern string }{
		{"lazy", strings.Repeat("a", 100_000), ".-.-.-.-.-b"},
		{"balance", strings.Repeat("(", 100_000), "%b()"},
	} {
		for _, by := range []string{"close", "context"} {
			t.Run(c.name+"/"+by, func(t *testing.T) {
				testPatternCancelled(t, c.subject, c.pattern, by)
			})
		}
	}
}

func testPatternCancelled(t *testing.T, subject, pattern, by string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port, matching, closeNow, returned := make(chan int, 1), make(chan struct{}, 1), make(chan struct{}), make(chan string, 1)
	probe := Module{Name: "probe", Funcs: map[string]glua.LGFunction{
		"started":  func(L *glua.LState) int { port <- L.CheckInt(1); return 0 },
		"matching": func(L *glua.LState) int { matching <- struct{}{}; return 0 },
		"close": func(L *glua.LState) int {
			select {
			case <-closeNow:
			case <-L.Context().Done():
			}
			return 0
		},
		"returned": func(L *glua.LState) int { returned <- L.CheckString(1); return 0 },
	}}
	var out, errs strings.Builder
	rt := NewRuntime(ctx, Options{MaxPatternSteps: -1, Modules: []Module{probe}, Stdout: &out, Stderr: &errs})
	defer rt.Close()
	err := rt.Run("server", []byte(fmt.Sprintf(`
		local srv = assert(socket.serve("127.0.0.1", 0, function(c)
			local s = assert(c:recv_exact(%d))
			probe.matching()
			local ok, err = pcall(string.find, s, %q)
			probe.returned(tostring(ok) .. " " .. tostring(err))
		end))
		task.spawn(function() probe.close() srv:close() end)
		probe.started(srv:port())`, len(subject), pattern)))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", <-port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(subject)); err != nil {
		t.Fatal(err)
	}
	<-matching
	done := make(chan error, 1)
	go func() { done <- rt.Wait(context.Background()) }()
	// Let the match run for 200 ms of CPU time: it is under way.
	for mark := cpuTime(); cpuTime()-mark < 200*time.Millisecond; {
		select {
		case r := <-returned:
			t.Fatalf("the match ended before the cancel: %s", r)
		case <-done:
			t.Fatal("the runtime ended before the cancel")
		case <-time.After(time.Millisecond):
		}
	}
	before := cpuTime()
	if by == "close" {
		close(closeNow)
	} else {
		cancel()
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the match was not interrupted")
	}
	used := cpuTime() - before
	if used > 100*time.Millisecond*raceFactor {
		t.Errorf("%v of CPU time after the cancel", used)
	}
	t.Logf("%v of CPU time after the cancel", used)
	select {
	case r := <-returned:
		t.Errorf("the interrupted call returned %q to the handler", r)
	default:
	}
}

// allocated returns the bytes f allocates on the heap, in all.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestConcatLimit: a concatenation longer than MaxString raises "string
// length overflow" (Lua 5.1's words) before it is built, in a chain, in a
// loop, past a metamethod and in a function whose environment has no
// globals at all; one up to MaxString is built.
func TestConcatLimit(t *testing.T) {
	opts := Options{MaxString: 1024}
	for _, src := range []string{
		`local s = string.rep("x", 600) return s .. s`,
		`local s = "x" while true do s = s .. s end`,
		`local s = string.rep("x", 512) return s .. 1 .. s`,
		`local t = {s = string.rep("x", 600)} t.s = t.s .. t.s`,
		`local s = string.rep("x", 600) local o = setmetatable({}, {__concat = function(a, b) return s end}) return s .. o .. "y"`,
		`local s = string.rep("x", 600) setfenv(1, {}) return s .. s`,
		`local s = string.rep("x", 600) return (function(...) return s .. ... end)(s)`,
	} {
		if _, err := runChunk(t, nil, opts, src); !strings.Contains(err, "string length overflow") {
			t.Errorf("%s: error %q, want string length overflow", src, err)
		}
	}
	for _, src := range []string{
		`local s = string.rep("x", 512) assert(#(s .. s) == 1024)`,
		`local s = string.rep("x", 511) assert(#(s .. 1 .. s) == 1023)`,
		`local s, assert = string.rep("x", 512), assert setfenv(1, {}) assert(#(s .. s) == 1024)`,
		// A parameter given its own concatenation (udp_echo_server's logger).
		`local function f(p) p = p .. "x" return p end assert(f("a") == "ax")`,
		`local function f(a, p) p = p .. a .. p return p end assert(f(1, "b") == "b1b")`,
		`local function f(...) return "<" .. ... end assert(f("a", "b") == "<a" and select("#", f("a", "b")) == 1)`,
		`assert(select("#", ("a"):rep(2) .. "b") == 1)`,
		`local t = {"a" .. "b", "c" .. (function() return "d", "e" end)()} assert(#t == 2 and t[2] == "cd")`,
	} {
		if _, err := runChunk(t, nil, opts, src); err != "" {
			t.Errorf("%s: %s", src, err)
		}
	}
	// Refused before it is built: 64 MiB asked, far less allocated.
	var err string
	n := allocated(func() {
		_, err = runChunk(t, nil, Options{MaxString: 1 << 20},
			`local s = string.rep("x", 2^20) local t = {} for i = 1, 64 do t[i] = "s" end
			return loadstring("local s = ... return " .. table.concat(t, " .. "))(s)`)
	})
	if !strings.Contains(err, "string length overflow") {
		t.Errorf("64 operands: error %q", err)
	}
	if n > 32<<20 {
		t.Errorf("64 operands of 1 MiB: %d MiB allocated", n>>20)
	}
}

// TestBuildersLimit: gsub and struct.pack refuse a result longer than
// MaxString before building it.
func TestBuildersLimit(t *testing.T) {
	opts := Options{MaxString: 1024}
	for _, c := range []struct{ src, want string }{
		{`return string.gsub(string.rep("x", 100), ".+", string.rep("%0", 11))`, "resulting string too large"},
		{`return string.gsub(string.rep("x", 100), "(.+)", string.rep("%1", 11))`, "resulting string too large"},
		{`return string.gsub("x", "x", string.rep("y", 1025))`, "resulting string too large"},
		{`return struct.pack("1025s", "a")`, "struct.pack: resulting string too large"},
		{`return struct.pack("512s512sB", "a", "b", 1)`, "struct.pack: resulting string too large"},
	} {
		if _, err := runChunk(t, nil, opts, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: error %q, want %s", c.src, err, c.want)
		}
	}
	for _, src := range []string{
		`assert(#string.gsub(string.rep("x", 100), ".+", string.rep("%0", 10)) == 1000)`,
		`assert(#struct.pack("1024s", "a") == 1024)`,
	} {
		if _, err := runChunk(t, nil, opts, src); err != "" {
			t.Errorf("%s: %s", src, err)
		}
	}
	// A replacement of 1 GiB past a MaxString of 4 MiB fails having
	// allocated little more than the limit; so does a struct of 2 GB
	// under the default limit.
	for _, c := range []struct {
		opts Options
		src  string
	}{
		{Options{MaxString: 4 << 20}, `return string.gsub(string.rep("x", 1024), ".+", string.rep("%0", 2^20))`},
		{Options{}, `return struct.pack("1000000000s1000000000s", "a", "b")`},
	} {
		var err string
		n := allocated(func() { _, err = runChunk(t, nil, c.opts, c.src) })
		if !strings.Contains(err, "resulting string too large") {
			t.Errorf("%s: error %q", c.src, err)
		}
		if n > 64<<20 {
			t.Errorf("%s: %d MiB allocated", c.src, n>>20)
		}
	}
}
