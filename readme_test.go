//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestREADME runs the examples that README.md marks as runnable, in the
// order they stand, in one directory, against the built wirelab, and
// compares what they print with what README shows, so that README cannot
// drift from what the program does. A marked example is an HTML comment
// right before a fenced block:
//
//	<!-- test: file NAME -->    the block is saved as NAME (a script the next examples run)
//	<!-- test: shell -->        lines "$ CMD" run with sh; the lines after one are its output
//	<!-- test: prompt -->       lines "> LINE" are typed at wirelab's prompt; the lines after one are what it prints
//
// "any-order" after shell compares each command's output lines in any
// order (for output of two goroutines, such as a trace's).
// "needs=PROGRAM" after the kind skips the example, with a message, when
// PROGRAM is not installed; needs=redis-server starts one on its usual port.
// A command ending in "&" runs in the background until the test ends, and
// the lines after it are waited for in its output. "[exit N]" as the last
// output line of a command is its exit status (0 otherwise). At the prompt,
// output starting with "^C" means Ctrl-C is pressed once the line runs.
// In output, "..." stands for any text; times of day, port numbers above
// 1023, addresses (0x...) and sha256: fingerprints are compared as such,
// not by value.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("README's examples use fixed ports; not under -short, which may run beside the full suite")
	}
	src, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := parseExamples(t, string(src))
	if len(examples) < 1 {
		t.Fatalf("only %d runnable examples marked in README.md", len(examples))
	}
	for _, port := range []int{8080, 8443, 9000} {
		if !portFree(port) {
			t.Skipf("README's examples serve on port %d, which another program holds", port)
		}
	}
	r := &readmeRun{t: t, dir: t.TempDir(), path: filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH")}
	t.Cleanup(r.stop)
	for _, ex := range examples {
		name := fmt.Sprintf("line%d_%s", ex.line, ex.kind)
		t.Run(name, func(t *testing.T) {
			if ex.kind != "file" && !r.ready(t, ex) {
				return
			}
			switch ex.kind {
			case "file":
				if err := os.WriteFile(filepath.Join(r.dir, ex.arg), []byte(strings.Join(ex.body, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			case "shell":
				r.shell(t, ex)
			case "prompt":
				r.prompt(t, ex)
			default:
				t.Fatalf("README.md:%d: unknown example kind %q", ex.line, ex.kind)
			}
		})
	}
}

// An example is one marked fenced block of README.md.
type example struct {
	line  int    // README line of the marker
	kind  string // file, shell, prompt
	arg   string // the file name, for file
	needs string // a program the example needs
	// anyOrder compares a shell example's output lines in any order: the
	// lines of two goroutines (a trace's FIN sent when stdin ends, the
	// peer's answer) may come either way.
	anyOrder bool
	body     []string
}

var markerRE = regexp.MustCompile(`^<!-- test: (\w+)((?: [\w.=-]+)*) -->$`)

func parseExamples(t *testing.T, src string) []example {
	lines := strings.Split(src, "\n")
	var out []example
	for i := 0; i < len(lines); i++ {
		m := markerRE.FindStringSubmatch(lines[i])
		if m == nil {
			if strings.HasPrefix(lines[i], "<!-- test") {
				t.Fatalf("README.md:%d: malformed marker %q", i+1, lines[i])
			}
			continue
		}
		ex := example{line: i + 1, kind: m[1]}
		for _, f := range strings.Fields(m[2]) {
			if v, ok := strings.CutPrefix(f, "needs="); ok {
				ex.needs = v
			} else if f == "any-order" {
				ex.anyOrder = true
			} else {
				ex.arg = f
			}
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("README.md:%d: a test marker must stand right before a fenced block", i+1)
		}
		j := i + 2
		for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			ex.body = append(ex.body, lines[j])
		}
		if j == len(lines) {
			t.Fatalf("README.md:%d: unclosed block", i+2)
		}
		out = append(out, ex)
		i = j
	}
	return out
}

// readmeRun is the state the examples share: their directory, the
// programs left running in the background, and a redis-server.
type readmeRun struct {
	t     *testing.T
	dir   string
	path  string
	mu    sync.Mutex
	procs []*exec.Cmd
	redis bool
}

// ready reports whether what ex needs is there, starting a redis-server
// for the examples that need one.
func (r *readmeRun) ready(t *testing.T, ex example) bool {
	if ex.needs == "" {
		return true
	}
	bin, err := exec.LookPath(ex.needs)
	if err != nil {
		t.Skipf("README.md:%d needs %s, which is not installed (Debian: apt-get install %s)", ex.line, ex.needs, ex.needs)
	}
	if ex.needs != "redis-server" || r.redis {
		return true
	}
	if !portFree(6379) {
		t.Skipf("README.md:%d needs a redis-server of its own on port 6379, which another program holds", ex.line)
	}
	cmd := exec.Command(bin, "--port", "6379", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	r.background(t, cmd)
	testbin.WaitFor(t, 10*time.Second, "redis-server listening on 6379", func() bool { return !portFree(6379) })
	r.redis = true
	return true
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func (r *readmeRun) background(t *testing.T, cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.procs = append(r.procs, cmd)
	r.mu.Unlock()
}

// stop ends the background programs, each with its process group.
func (r *readmeRun) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.procs {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		c.Wait()
	}
}

// A step is one command or typed line of an example, with the output
// README shows after it.
type step struct {
	line int // its README line
	text string
	want []string
}

// exampleSteps splits an example's lines into steps: a line starting with
// prefix ("$ ", "> ") begins one, the lines after it are its output. A
// first line equal to skip ("$ wirelab" before a prompt session) is left
// out.
func exampleSteps(t *testing.T, ex example, prefix, skip string) []step {
	var steps []step
	for i, l := range ex.body {
		if text, ok := strings.CutPrefix(l, prefix); ok {
			steps = append(steps, step{line: ex.line + 2 + i, text: text})
			continue
		}
		if len(steps) == 0 && skip != "" && l == skip {
			continue
		}
		if len(steps) == 0 {
			t.Fatalf("README.md:%d: output before the first %q line", ex.line+2+i, prefix)
		}
		steps[len(steps)-1].want = append(steps[len(steps)-1].want, l)
	}
	return steps
}

var bgRE = regexp.MustCompile(`^(.*?)\s+&\s*(#.*)?$`)
var exitRE = regexp.MustCompile(`^\[exit (\d+)\]$`)

// shell runs a shell example's commands, each compared with the output
// README shows after it.
func (r *readmeRun) shell(t *testing.T, ex example) {
	steps := exampleSteps(t, ex, "$ ", "")
	for _, s := range steps {
		want := trimBlank(s.want)
		code := 0
		if len(want) > 0 {
			if m := exitRE.FindStringSubmatch(want[len(want)-1]); m != nil {
				code, _ = strconv.Atoi(m[1])
				want = want[:len(want)-1]
			}
		}
		env := append(os.Environ(), "PATH="+r.path)
		if m := bgRE.FindStringSubmatch(s.text); m != nil {
			var out testbin.Buffer
			cmd := exec.Command("sh", "-c", m[1])
			cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, env, &out, &out
			r.background(t, cmd)
			testbin.WaitFor(t, 20*time.Second, fmt.Sprintf("README.md:%d: %q to print %q (it printed %q)", s.line, m[1], want, out.String()), func() bool {
				got := splitLines(out.String())
				return len(got) >= len(want) && matchLines(want, got[:len(want)]) == ""
			})
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "sh", "-c", s.text)
		var out testbin.Buffer
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, env, &out, &out
		err := cmd.Run()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("README.md:%d: %q did not end within 30 s; it printed\n%s", s.line, s.text, out.String())
		}
		if got := exitCode(err); got != code {
			t.Errorf("README.md:%d: %q exited %d, README says %d; it printed\n%s", s.line, s.text, got, code, out.String())
		}
		got := splitLines(out.String())
		if ex.anyOrder {
			want, got = byNormalized(want), byNormalized(got)
		}
		if diff := matchLines(want, got); diff != "" {
			t.Errorf("README.md:%d: %q: %s", s.line, s.text, diff)
		}
	}
}

// prompt types a prompt example's lines at a wirelab prompt on a
// pseudo-terminal and compares what each prints with README.
func (r *readmeRun) prompt(t *testing.T, ex example) {
	steps := exampleSteps(t, ex, "> ", "$ wirelab")
	cmd := exec.Command(binary)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "PATH="+r.path, "TERM=xterm", "WIRELAB_INIT=", "WIRELAB_HISTORY="+filepath.Join(t.TempDir(), "history"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 250})
	if err != nil {
		t.Fatal(err)
	}
	var out testbin.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufio.NewReader(tty).WriteTo(&out)
	}()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		tty.Close()
		<-done
	}()
	seen := 0
	// next waits for the next prompt after what was seen, and returns the
	// lines printed before it, the echo of the typed line left out.
	next := func(line int, what string) []string {
		t.Helper()
		var chunk string
		testbin.WaitFor(t, 20*time.Second, fmt.Sprintf("README.md:%d: the prompt after %s (the screen: %q)", line, what, out.String()[seen:]), func() bool {
			rest := out.String()[seen:]
			i := strings.Index(rest, "\r\n> ")
			if i < 0 {
				return false
			}
			chunk, seen = rest[:i+2], seen+i+4
			return true
		})
		got := splitLines(stripTerminal(chunk))
		if len(got) > 0 {
			got = got[1:] // the typed line
		}
		return got
	}
	testbin.WaitFor(t, 20*time.Second, "the first prompt", func() bool { return strings.Contains(out.String(), "help() for help") })
	seen = strings.Index(out.String(), "help() for help")
	next(ex.line, "the banner")
	for _, s := range steps {
		if _, err := tty.Write([]byte(s.text + "\r")); err != nil {
			t.Fatal(err)
		}
		want := trimBlank(s.want)
		if len(want) > 0 && strings.HasPrefix(want[0], "^C") {
			r.interrupt(t, tty, &out, seen)
		}
		if diff := matchLines(want, next(s.line, strconv.Quote(s.text))); diff != "" {
			t.Errorf("README.md:%d: after %q: %s", s.line, s.text, diff)
		}
	}
}

// interrupt presses Ctrl-C once the typed line runs: when the terminal is
// back in its normal mode (the prompt gives it up to run a line), again
// every half second until wirelab answers, for a line that had not yet
// reached its blocking call.
func (r *readmeRun) interrupt(t *testing.T, tty *os.File, out *testbin.Buffer, seen int) {
	testbin.WaitFor(t, 20*time.Second, "the line to run (the terminal in normal mode)", func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&unix.ICANON != 0
	})
	for range 20 {
		tty.Write([]byte{3})
		// Not testbin.WaitFor: a half second without an answer is no
		// failure here but the cue to press Ctrl-C again.
		deadline := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(deadline) {
			if strings.Contains(out.String()[seen:], "^C") && strings.Contains(out.String()[seen:], "\r\n> ") {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Fatal("Ctrl-C was not answered")
}

var csiRE = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// stripTerminal removes the line editor's escape sequences and returns,
// for each line, what a terminal shows after its last carriage return.
func stripTerminal(s string) string {
	s = csiRE.ReplaceAllString(s, "")
	lines := strings.Split(s, "\r\n")
	for i, l := range lines {
		if j := strings.LastIndexByte(l, '\r'); j >= 0 && j < len(l)-1 {
			lines[i] = l[j+1:]
		} else {
			lines[i] = strings.TrimSuffix(l, "\r")
		}
	}
	return strings.Join(lines, "\n")
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if s == "" {
		return nil
	}
	return trimBlank(strings.Split(strings.TrimSuffix(s, "\n"), "\n"))
}

func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

var (
	clockRE = regexp.MustCompile(`\b\d\d:\d\d:\d\d\.\d{6}\b`)
	portRE  = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]|port)([: ])([1-9]\d{3,4})\b`)
	addrRE  = regexp.MustCompile(`0x[0-9a-f]+`)
	fpRE    = regexp.MustCompile(`sha256:[0-9a-f]+`)
)

// normalize replaces what differs from run to run with placeholders.
func normalize(s string) string {
	s = clockRE.ReplaceAllString(s, "HH:MM:SS.micros")
	s = portRE.ReplaceAllString(s, "${1}${2}PORT")
	s = fpRE.ReplaceAllString(s, "sha256:HEX")
	return addrRE.ReplaceAllString(s, "0xADDR")
}

// byNormalized returns lines sorted by their normalized text.
func byNormalized(lines []string) []string {
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(normalize(a), normalize(b)) })
	return out
}

// matchLines compares what README shows with what was printed, line by
// line; "..." in want stands for any text. It returns "" when they match,
// else both, for the failure message.
func matchLines(want, got []string) string {
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		parts := strings.Split(normalize(want[i]), "...")
		for j, p := range parts {
			parts[j] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		ok = re.MatchString(normalize(got[i]))
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("README shows\n\t%s\nbut the program printed\n\t%s", strings.Join(want, "\n\t"), strings.Join(got, "\n\t"))
}
