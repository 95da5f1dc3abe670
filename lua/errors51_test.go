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

	"github.com/wirelab/wirelab/internal/testbin"
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
	var out testbin.Buffer
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

// TestCheck51AcceptsLua51 runs the syntax checker over code Lua 5.1
// accepts (the official suite and wirelab's own test scripts): it must
// find no error, or it would word a real error wrongly one day.
func TestCheck51AcceptsLua51(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.lua")
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yuin/gopher-lua").Output(); err == nil {
		suite, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "_lua5.1-tests", "*.lua"))
		files = append(files, suite...)
	}
	if _, err := exec.LookPath("go"); err != nil && len(files) < 20 {
		t.Skip("no go command to find gopher-lua's copy of the Lua 5.1 suite (as under Wine): checked nothing")
	}
	if len(files) < 20 {
		t.Fatalf("only %d files to check", len(files))
	}
	for _, f := range files {
		if filepath.Base(f) == "pm.lua" {
			continue // gopher-lua's copy has "do;" at line 89, which Lua 5.1 refuses
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(src) > 0 && src[0] == '#' {
			src = src[bytesIndexNL(src):]
		}
		if msg := check51(src, f); msg != "" {
			t.Errorf("%s", msg)
		}
	}
	// and what it must refuse, in lua5.1's words
	for src, want := range map[string]string{
		"x = 1;;":                    "c:1: unexpected symbol near ';'",
		"f\n(g)":                     "c:2: ambiguous syntax (function call x new statement) near '('",
		"x = ((((1))))))":            "c:1: unexpected symbol near ')'",
		"x = 1 ..":                   "c:1: unexpected symbol near '<eof>'",
		"--[[ open":                  "c:1: unfinished long comment near '<eof>'",
		"x = [=x":                    "c:1: invalid long string delimiter near '[='",
		"x = \"\\300\"":              "c:1: escape sequence too large near '\"'",
		"x = [[a [[b]] ]]":           "c:1: nesting of [[...]] is deprecated near '['",
		"local function f(a, 1) end": "c:1: <name> or '...' expected near '1'",
		"x = " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300): "c:1: chunk has too many syntax levels",
	} {
		if got := check51([]byte(src), "c"); got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
}

func bytesIndexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return len(b)
}
