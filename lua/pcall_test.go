package lua

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// BenchmarkPcall times wirelab's pcall, which runs the call on a pooled
// thread, against gopher-lua's builtin pcall in the same state and run:
// wirelab/builtin is the builtin's time over wirelab's (1.0: as fast), for
// a call that returns and for one that raises.
func BenchmarkPcall(b *testing.B) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	raw := glua.NewState()
	defer raw.Close()
	L.SetGlobal("builtin_pcall", L.NewFunction(raw.GetGlobal("pcall").(*glua.LFunction).GFunction))
	for _, c := range []struct{ name, body string }{
		{"return", "return a + 1"},
		{"error", "error('x')"},
	} {
		b.Run(c.name, func(b *testing.B) {
			loop := func(pcall string) time.Duration {
				src := fmt.Sprintf("local pcall = %s; local function f(a) %s end; for i = 1, %d do pcall(f, i) end", pcall, c.body, b.N)
				start := time.Now()
				if err := L.DoString(src); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			loop("pcall") // warm the pool
			b.ResetTimer()
			wl := loop("pcall")
			builtin := loop("builtin_pcall")
			b.ReportMetric(float64(wl.Nanoseconds())/float64(b.N), "wirelab-ns/call")
			b.ReportMetric(float64(builtin.Nanoseconds())/float64(b.N), "builtin-ns/call")
			b.ReportMetric(builtin.Seconds()/wl.Seconds(), "wirelab/builtin")
		})
	}
}
