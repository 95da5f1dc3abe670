package lua

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/internal/testbin"
	"github.com/wirelab/wirelab/lua/internal/lua51"
)

// The Lua-level checks are in testdata/strings51.lua; these are the ones
// that need Go: exact floats, print's output, the size limit, interrupts.

func TestNumberText(t *testing.T) {
	// Each text is what lua5.1 prints for the number.
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1, "1"}, {-1, "-1"}, {100, "100"},
		{0.1, "0.1"}, {1.0 / 3, "0.33333333333333"}, {1.5, "1.5"}, {0.30000000000000004, "0.3"},
		{1700000000.5, "1700000000.5"}, {1e14, "1e+14"}, {1e15, "1e+15"},
		{99999999999999, "99999999999999"}, {123456789012345, "1.2345678901234e+14"},
		{12345678901234.5, "12345678901234"}, {1e-4, "0.0001"}, {1e-5, "1e-05"},
		{1 << 53, "9.007199254741e+15"}, {1 << 63, "9.2233720368548e+18"}, {1e100, "1e+100"},
		{5e-324, "4.9406564584125e-324"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
		{math.NaN(), "nan"}, {math.Copysign(math.NaN(), -1), "-nan"},
	} {
		if got := lua51.NumberText(c.f); got != c.want {
			t.Errorf("lua51.NumberText(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

// runChunk runs src in a fresh state of a runtime with opts, and returns
// what it printed and its error text, if any.
func runChunk(t *testing.T, ctx context.Context, opts Options, src string) (string, string) {
	t.Helper()
	var out testbin.Buffer
	opts.Stdout, opts.Stderr = &out, io.Discard
	rt := NewRuntime(context.Background(), opts)
	defer rt.Close()
	L := rt.NewState(ctx)
	defer L.Close()
	if err := Run(L, "chunk", []byte(src), nil); err != nil {
		return out.String(), ErrorText(L.Context(), err)
	}
	return out.String(), ""
}

func TestPrintNumbers(t *testing.T) {
	out, err := runChunk(t, nil, Options{}, `local z = 0
print(1e15, 1700000000.5, setmetatable({}, {__tostring = function() return "T" end}), nil, true, "s", -z)
print(setmetatable({}, {__tostring = function() return 42 end}))
print(setmetatable({}, {__tostring = function() return {} end}))`)
	if want := "1e+15\t1700000000.5\tT\tnil\ttrue\ts\t-0\n42\n"; out != want {
		t.Errorf("print wrote %q, want %q", out, want)
	}
	if !strings.Contains(err, "'tostring' must return a string to 'print'") {
		t.Errorf("error %q", err)
	}
}

func TestStringLimit(t *testing.T) {
	opts := Options{MaxString: 1024}
	for _, src := range []string{
		`return string.rep("x", 1025)`,
		`return string.rep("abc", 342)`,
		`local s = "x" while true do s = s:rep(2) end`, // growing in a loop
		`return string.format("%s%s", string.rep("x", 512), string.rep("x", 513))`,
		`return string.format("%99d%99d%99d%99d%99d%99d%99d%99d%99d%99d%99d", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)`,
		`return string.gsub(string.rep("x", 600), "x", "xx")`,
		`return string.gsub(string.rep("x", 600), "x", function() return "yy" end)`,
	} {
		if _, err := runChunk(t, nil, opts, src); !strings.Contains(err, "resulting string too large") {
			t.Errorf("%s: error %q, want resulting string too large", src, err)
		}
	}
	for _, src := range []string{
		`assert(#string.rep("x", 1024) == 1024)`,
		`assert(#string.rep("abc", 341) == 1023)`,
		`assert(#string.gsub(string.rep("x", 512), "x", "xx") == 1024)`,
		`assert(#string.format("%s%s", string.rep("x", 512), string.rep("x", 512)) == 1024)`,
	} {
		if _, err := runChunk(t, nil, opts, src); err != "" {
			t.Errorf("%s: %s", src, err)
		}
	}
}

func TestPatternInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	// Backtracking takes 2^40 steps here, in Lua 5.1 too.
	_, err := runChunk(t, ctx, Options{}, `string.find(string.rep("a", 40), string.rep("a?", 40) .. string.rep("a", 40))`)
	if err != "interrupted" {
		t.Errorf("error %q, want interrupted", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
}

// BenchmarkPatterns runs each case in a wirelab state and in a state of
// gopher-lua's own library, and reports both times and their ratio.
func BenchmarkPatterns(b *testing.B) {
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, 3.14 times.\n", 200) + "needle42"
	for _, c := range []struct{ name, code string }{
		{"find-literal", `return s:find("needle%d+")`},
		{"find-class", `return s:find("%d+%.%d+", 2000)`},
		{"find-plain", `return s:find("needle", 1, true)`},
		{"match-captures", `return ("key = value"):match("^(%w+)%s*=%s*(%w+)$")`},
		{"gsub-spaces", `return s:gsub("%s+", " ")`},
		{"gsub-words", `return s:gsub("%a+", "<%0>")`},
		{"gsub-func", `return s:gsub("%d+", function(d) return d end)`},
		{"gmatch-words", `local n = 0 for w in s:gmatch("%a+") do n = n + 1 end return n`},
	} {
		b.Run(c.name, func(b *testing.B) {
			rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
			defer rt.Close()
			ours := rt.NewState(rt.Context())
			defer ours.Close()
			stock := glua.NewState()
			defer stock.Close()
			fOurs, fStock := benchFunc(b, ours, text, c.code), benchFunc(b, stock, text, c.code)
			var tOurs, tStock time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				callBench(b, ours, fOurs)
				t1 := time.Now()
				callBench(b, stock, fStock)
				tOurs, tStock = tOurs+t1.Sub(t0), tStock+time.Since(t1)
			}
			b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "wirelab-ns/op")
			b.ReportMetric(float64(tStock.Nanoseconds())/float64(b.N), "gopher-ns/op")
			b.ReportMetric(float64(tOurs)/float64(tStock), "ratio")
		})
	}
}

// benchFunc compiles code as a function of s in L.
func benchFunc(b *testing.B, L *glua.LState, s, code string) *glua.LFunction {
	fn, err := L.LoadString("local s = ... return function() " + code + " end")
	if err != nil {
		b.Fatal(err)
	}
	L.Push(fn)
	L.Push(glua.LString(s))
	L.Call(1, 1)
	f := L.Get(-1).(*glua.LFunction)
	L.Pop(1)
	return f
}

func callBench(b *testing.B, L *glua.LState, f *glua.LFunction) {
	if err := L.CallByParam(glua.P{Fn: f, NRet: 0, Protect: true}); err != nil {
		b.Fatal(err)
	}
}
