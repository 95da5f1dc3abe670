package lua

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A snippet51 is one entry of testdata/errors51/corpus.txt.
type snippet51 struct {
	kind, name string
	code       string
	want       string // "line: message", as lua5.1 says it after "chunk:"
}

func readCorpus51(t *testing.T) []snippet51 {
	t.Helper()
	b, err := os.ReadFile("testdata/errors51/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []snippet51
	var cur *snippet51
	var code []string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && (line == "" || strings.HasPrefix(line, "#")):
		case strings.HasPrefix(line, "== "):
			kind, name, _ := strings.Cut(line[3:], " ")
			cur, code = &snippet51{kind: kind, name: name}, nil
		case cur != nil && strings.HasPrefix(line, "-> "):
			cur.code, cur.want = strings.Join(code, "\n")+"\n", line[3:]
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			code = append(code, line)
		default:
			t.Fatalf("corpus: stray line %q", line)
		}
	}
	return out
}

// knownMismatch51 are the corpus entries whose wirelab message differs
// from lua5.1's, with the reason. An entry that starts to match must
// leave the list; one not in it that stops matching fails the test.
var knownMismatch51 = map[string]string{}

// wirelabAdds are the parts wirelab adds to Lua 5.1's messages, which the
// comparison leaves out.
var wirelabAdds = regexp.MustCompile(` \((did you mean [^)]*\?|wirelab: [^)]*)\)$`)

// errorOf51 runs src as the script snip.lua in dir and returns the first
// line of its error after "snip.lua:".
func errorOf51(t *testing.T, dir, src string) string {
	t.Helper()
	file := filepath.Join(dir, "snip.lua")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out syncWriter
	rt := NewRuntime(ctx, Options{Stdout: &out, Stderr: &out})
	defer rt.Close()
	err := rt.Run("snip.lua", []byte(src))
	if err == nil {
		return "(no error)"
	}
	var se *ScriptError
	msg := err.Error()
	if errors.As(err, &se) {
		msg = se.Msg
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return strings.TrimPrefix(msg, "snip.lua:")
}

// TestErrors51 runs every snippet of the corpus and compares wirelab's
// message with lua5.1's, stored in the corpus; with lua5.1 installed it
// also checks that the stored messages are what lua5.1 says.
func TestErrors51(t *testing.T) {
	corpus := readCorpus51(t)
	if len(corpus) < 25 {
		t.Fatalf("corpus has %d snippets, want at least 25", len(corpus))
	}
	lua51, _ := exec.LookPath("lua5.1")
	dir := t.TempDir()
	matched := map[string]int{}
	total := map[string]int{}
	for _, s := range corpus {
		key := s.kind + " " + s.name
		t.Run(strings.ReplaceAll(key, " ", "_"), func(t *testing.T) {
			if lua51 != "" {
				file := filepath.Join(dir, "snip.lua")
				if err := os.WriteFile(file, []byte(s.code), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(lua51, "snip.lua")
				cmd.Dir = dir
				out, _ := cmd.CombinedOutput()
				first, _, _ := strings.Cut(string(out), "\n")
				_, got, _ := strings.Cut(first, ": snip.lua:") // after "lua5.1"
				if got != s.want {
					t.Errorf("lua5.1 says %q; the corpus stores %q", got, s.want)
				}
			}
			got := wirelabAdds.ReplaceAllString(errorOf51(t, dir, s.code), "")
			total[s.kind]++
			why, known := knownMismatch51[key]
			switch {
			case got == s.want && known:
				t.Errorf("matches lua5.1 now; remove it from knownMismatch51 (%s)", why)
			case got == s.want:
				matched[s.kind]++
			case !known:
				t.Errorf("wirelab says %q\nlua5.1 says  %q", got, s.want)
			}
		})
	}
	t.Logf("runtime %d/%d, syntax %d/%d match lua5.1 exactly",
		matched["runtime"], total["runtime"], matched["syntax"], total["syntax"])
}
