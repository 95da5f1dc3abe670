package lua

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// TestTableConcatLimit checks that table.concat refuses, with a Lua error,
// to build a string longer than Options.MaxString, counting separators.
func TestTableConcatLimit(t *testing.T) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard, MaxString: 1000})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	err := Run(L, "limit", []byte(`
		local t = {}
		for i = 1, 50 do t[i] = "xxxxxxxxxxxxxxxxxxxx" end -- 50 * 20 bytes
		assert(#table.concat(t) == 1000)
		local ok, err = pcall(table.concat, t, ",")
		assert(not ok and err:find("string too large"), err)
		t[51] = "x"
		ok, err = pcall(table.concat, t)
		assert(not ok and err:find("string too large"), err)
		assert(#table.concat(t, ",", 1, 40) == 40 * 21 - 1)`), nil)
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTableConcat joins 100,000 pieces into a 1 MiB string with
// table.concat, against strings.Builder joining the same pieces;
// lua/native near 1 means the Lua call costs nothing more.
func BenchmarkTableConcat(b *testing.B) {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	const n = 100000
	pieces := make([]string, n)
	tbl := L.CreateTable(n, 0)
	for i := range pieces {
		pieces[i] = fmt.Sprintf("%09d\n", i) // 10 bytes
		tbl.RawSetInt(i+1, glua.LString(pieces[i]))
	}
	concat := L.GetField(L.GetGlobal("table"), "concat")
	var native, scripted time.Duration
	for b.Loop() {
		start := time.Now()
		var sb strings.Builder
		for _, p := range pieces {
			sb.WriteString(p)
		}
		if sb.Len() != 10*n {
			b.Fatal("builder: wrong length")
		}
		native += time.Since(start)

		start = time.Now()
		if err := L.CallByParam(glua.P{Fn: concat, NRet: 1, Protect: true}, tbl); err != nil {
			b.Fatal(err)
		}
		scripted += time.Since(start)
		if s, ok := L.Get(-1).(glua.LString); !ok || len(s) != 10*n {
			b.Fatal("table.concat: wrong result")
		}
		L.Pop(1)
	}
	b.ReportMetric(float64(native.Microseconds())/1000/float64(b.N), "builder-ms")
	b.ReportMetric(float64(scripted.Microseconds())/1000/float64(b.N), "concat-ms")
	b.ReportMetric(native.Seconds()/scripted.Seconds(), "lua/native")
}
