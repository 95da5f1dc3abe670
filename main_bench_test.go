package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startTime runs cmd n times and returns the mean time a run takes.
func startTime(b *testing.B, n int, name string, args ...string) time.Duration {
	start := time.Now()
	for range n {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v: %s", name, err, out)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkStartup times `wirelab -e 'print(1)'` against a Go program
// that prints 1, built in the same run, and against lua5.1 when it is
// installed; an op is one start of each.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "hello.go")
	os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(1) }\n"), 0o644)
	hello := filepath.Join(dir, "hello")
	if out, err := exec.Command("go", "build", "-o", hello, src).CombinedOutput(); err != nil {
		b.Fatalf("building the reference: %v: %s", err, out)
	}
	startTime(b, 3, binary, "-e", "print(1)") // warm the page cache
	startTime(b, 3, hello)
	b.ResetTimer()
	var wl, native time.Duration
	for q := range 4 { // alternate, and who goes first, so that drift touches both alike
		if q%2 == 1 {
			native += startTime(b, max(b.N/4, 1), hello)
		}
		wl += startTime(b, max(b.N/4, 1), binary, "-e", "print(1)")
		if q%2 == 0 {
			native += startTime(b, max(b.N/4, 1), hello)
		}
	}
	b.ReportMetric(float64(wl.Microseconds())/4000, "wirelab-ms")
	b.ReportMetric(float64(native.Microseconds())/4000, "go-ms")
	b.ReportMetric(float64(wl)/float64(native), "wirelab/go")
	if lua, err := exec.LookPath("lua5.1"); err == nil {
		l := startTime(b, max(b.N, 4), lua, "-e", "print(1)")
		b.ReportMetric(float64(l.Microseconds())/1000, "lua5.1-ms")
		b.ReportMetric(float64(wl)/4/float64(l), "wirelab/lua5.1")
	}
}
