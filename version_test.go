package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-11-28T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	cases := []struct {
		name string
		set  string
		info *debug.BuildInfo
		want string
	}{
		{"stamped", "dev", stamped, "wirelab v1.2.3 abc123+modified 2026-11-28T00:00:00Z go1.26"},
		{"ldflags wins", "v9", stamped, "wirelab v9 abc123+modified 2026-11-28T00:00:00Z go1.26"},
		{"no vcs", "dev", &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "(devel)"}}, "wirelab (devel) go1.26"},
		{"no build info", "dev", nil, "wirelab dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeBuild(tc.set, tc.info); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionShowsRevision builds wirelab with VCS stamping in a git
// checkout and checks that `wirelab version` shows the commit.
func TestVersionShowsRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command again")
	}
	if st, err := os.Stat(".git"); err != nil || !st.IsDir() {
		// The go command finds only a .git directory, not a worktree's
		// .git file.
		t.Skip("not a git checkout with a .git directory")
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("git cannot tell the revision:", err)
	}
	bin := filepath.Join(t.TempDir(), "wirelab")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), strings.TrimSpace(string(rev))) || strings.Contains(string(out), " dev") {
		t.Fatalf("version %q does not show revision %s", out, rev)
	}
}
