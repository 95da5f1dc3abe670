package lua

import (
	"context"
	"fmt"
	"net"
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
	if used := cpuTime() - before; used > 100*time.Millisecond*raceFactor {
		t.Errorf("%v of CPU time after the cancel", used)
	}
	select {
	case r := <-returned:
		t.Errorf("the interrupted call returned %q to the handler", r)
	default:
	}
}
