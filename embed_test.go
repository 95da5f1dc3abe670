package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeExample returns the Go program of README's embedding section: the
// ```go block after the line that names this test.
func readmeExample(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "TestEmbedExternal builds and runs it")
	if !ok {
		t.Fatal("README has no embedding example")
	}
	_, rest, ok = strings.Cut(rest, "```go\n")
	code, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("README's embedding example is not a go block")
	}
	return code
}

// TestEmbedExternal is the "done when": README's example, as the
// main package of a module of its own (go mod init x, with a replace to
// this checkout), builds and runs offline, and its script sees its module
// and no way to start a process.
func TestEmbedExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an external module with the go command")
	}
	checkout, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module x\n\ngo 1.26\n\nrequire github.com/wirelab/wirelab v0.0.0\n\nreplace github.com/wirelab/wirelab => " + checkout + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(readmeExample(t))} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "embedded")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	// Offline: every module comes from the module cache.
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	run := exec.Command(bin)
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if want := "hello, world\tnil\tnil\tnil\n"; stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("stdout %q, want %q; stderr %q", stdout.String(), want, stderr.String())
	}
	if out, err := exec.Command("go", "list", "-deps", "github.com/wirelab/wirelab/lua").Output(); err != nil {
		t.Fatal(err)
	} else if strings.Contains(string(out), "github.com/wirelab/wirelab/scripts") {
		t.Error("lua imports scripts")
	}
}
