package lua

import (
	"context"
	"io"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// BenchmarkMethodLookup reads a method of a conn (c.closed) in a Lua loop,
// against the same loop reading a field of a plain table: the did-you-mean
// hook sits behind the methods table and must not slow down the names that
// are there (ratio lua/native ~ as before).
func BenchmarkMethodLookup(b *testing.B) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	run := func(src string) time.Duration {
		fn, err := L.LoadString(src)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		L.Push(fn)
		L.Push(glua.LNumber(b.N))
		if err := L.PCall(1, 0, nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	setup := `ln = socket.listen("127.0.0.1", 0); c = socket.connect("127.0.0.1", ln:port())
	plain = setmetatable({}, {__index = {closed = function() end}})`
	if err := L.DoString(setup); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	method := run(`local n = ...; local c = c; for i = 1, n do local f = c.closed end`)
	table := run(`local n = ...; local t = plain; for i = 1, n do local f = t.closed end`)
	b.ReportMetric(float64(method.Nanoseconds())/float64(b.N), "ns/method")
	b.ReportMetric(float64(table.Nanoseconds())/float64(b.N), "ns/table-field")
	b.ReportMetric(float64(method)/float64(table), "method/table")
}
