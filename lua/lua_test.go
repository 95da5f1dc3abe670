package lua

import (
	"context"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// wantStderr is what a test script must write to stderr, as a regular
// expression of the whole; a script not listed must write nothing.
var wantStderr = map[string]string{
	// A handler fails; the report names the variable.
	"errnames": `^wirelab: handler for 127\.0\.0\.1:\d+ on port \d+ failed: testdata/errnames\.lua:\d+: attempt to index local 'reply' \(a nil value\)\nstack traceback:\n(\t.*\n)+$`,
	// One handler raises on purpose; the server reports it and serves on.
	"server": `^wirelab: handler for 127\.0\.0\.1:\d+ on port \d+ failed: testdata/server\.lua:7: handler raised on purpose\nstack traceback:\n(\t.*\n)+$`,
}

// unixScripts are the test scripts that drive Unix programs (sh, cat,
// printf, ls, ln -s), each with what it needs; exec_windows.lua tests the
// same on cmd.exe. wineScripts are those Wine cannot run.
var (
	unixScripts = map[string]string{
		"exec": "sh", "process": "sh and cat", "file": "mkdir, ls and ln -s",
	}
	wineScripts = map[string]string{"udp": testbin.WineUDP}
)

// skipOnSystem skips the test script name where its programs are not.
func skipOnSystem(t *testing.T, name string) {
	t.Helper()
	if name == "exec_windows" && runtime.GOOS != "windows" {
		t.Skip("cmd.exe: runs on Windows")
	}
	if needs, ok := unixScripts[name]; ok {
		testbin.SkipWindows(t, needs)
	}
	if limit, ok := wineScripts[name]; ok {
		testbin.SkipWine(t, limit)
	}
}

// TestScripts runs every Lua test under testdata, as gopher-lua runs its
// _glua-tests: each script asserts what it checks and fails by raising.
// A script gets a fresh directory as arg[1]. It passes when it returns,
// leaves no task running, prints exactly "ok" as its last and only line,
// and writes to stderr nothing but what wantStderr expects.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".lua")
		t.Run(name, func(t *testing.T) {
			skipOnSystem(t, name)
			t.Parallel()
			var out, errs testbin.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rt := NewRuntime(ctx, Options{Stdout: &out, Stderr: &errs})
			defer rt.Close()
			// Slashes: the chunk's name in messages is the same everywhere.
			args := []string{t.TempDir()}
			if testbin.Wine() {
				args = append(args, "noudp") // socket.lua leaves its UDP lines out
			}
			if err := rt.RunFile(filepath.ToSlash(file), args...); err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
			}
			if err := rt.Wait(ctx); err != nil {
				t.Fatalf("tasks still running after the script: %v", err)
			}
			if out.String() != "ok\n" {
				t.Errorf("stdout is not exactly \"ok\\n\":\n%s", out.String())
			}
			if want, ok := wantStderr[name]; ok {
				if !regexp.MustCompile(want).MatchString(errs.String()) {
					t.Errorf("stderr does not match %q:\n%s", want, errs.String())
				}
			} else if errs.Len() != 0 {
				t.Errorf("unexpected stderr:\n%s", errs.String())
			}
		})
	}
}
