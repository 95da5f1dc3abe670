package lua

import (
	"context"
	"path/filepath"
	"regexp"
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
			t.Parallel()
			var out, errs testbin.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rt := NewRuntime(ctx, Options{Stdout: &out, Stderr: &errs})
			defer rt.Close()
			if err := rt.RunFile(file, t.TempDir()); err != nil {
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
