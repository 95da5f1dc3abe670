package lua

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
)

// Tasks running side by side under the budget: the one making coroutines
// without end gets "not enough memory"; the others, small, each measured
// while it runs (under -race, the walks of states running at once), end
// as they would have.
func TestMemoryBudgetTasks(t *testing.T) {
	runtime.GC()
	budget := int64(heapBytes()) + 96<<20
	var out, errs strings.Builder
	rt := NewRuntime(context.Background(), Options{MaxMemory: budget, Stdout: &out, Stderr: &errs})
	defer rt.Close()
	err := rt.Run("budget", []byte(`
local small = {}
for i = 1, 4 do
  small[i] = task.spawn(function(n)
    local t = {}
    for r = 1, 100 do
      for j = 1, 500 do t[j] = {j, r, tostring(j)} end
      task.sleep(0.001)
    end
    return n, #t
  end, i)
end
local bomb = task.spawn(function()
  local t = {}
  for i = 1, 1e9 do t[i] = coroutine.create(function() end) end
end)
local ok, err = bomb:wait()
print(ok, err)
for i = 1, 4 do print(small[i]:wait()) end
print(pcall(function() local s = {} for i = 1, 1e9 do s[i] = {i} end end))
`))
	if err != nil {
		t.Fatal(err)
	}
	want := "true\t1\t500\ntrue\t2\t500\ntrue\t3\t500\ntrue\t4\t500\nfalse\tnot enough memory\n"
	if got := out.String(); !strings.HasPrefix(got, "false\t") || !strings.Contains(got, "not enough memory") || !strings.HasSuffix(got, want) {
		t.Fatalf("got\n%s\nwant the bomb's \"not enough memory\", then\n%s", got, want)
	}
}

// No budget: nothing is wrapped, and nothing is measured.
func TestMemoryBudgetOff(t *testing.T) {
	rt := NewRuntime(context.Background(), Options{MaxMemory: -1, Stdout: io.Discard})
	defer rt.Close()
	if rt.mem != nil {
		t.Fatal("a watch with MaxMemory -1")
	}
	if _, ok := rt.State().Context().(*memCtx); ok {
		t.Fatal("the main state's context checks a budget that is off")
	}
	if err := rt.Run("off", []byte(`local co = coroutine.create(function() return 1 end) assert(coroutine.resume(co))`)); err != nil {
		t.Fatal(err)
	}
}
