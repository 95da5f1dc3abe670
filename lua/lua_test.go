package lua

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScripts runs every Lua test under testdata, as gopher-lua runs its
// _glua-tests: each script asserts what it checks and fails by raising.
// A script gets a fresh directory as arg[1].
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".lua"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rt := NewRuntime(ctx, Options{Stdout: &syncWriter{w: &out}, Stderr: &syncWriter{w: &errs}})
			defer rt.Close()
			L := rt.NewState(nil)
			defer L.Close()
			if err := Run(L, file, src, []string{t.TempDir()}); err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
			}
			if err := rt.Wait(ctx); err != nil {
				t.Fatalf("tasks still running after the script: %v", err)
			}
			if !strings.Contains(out.String(), "ok") {
				t.Fatalf("script did not print ok; stdout:\n%s", out.String())
			}
		})
	}
}
