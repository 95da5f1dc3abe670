package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// binary is wirelab built once for the tests that need a real process.
var binary string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &binary)) }

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "args.lua")
	os.WriteFile(script, []byte("#!/usr/bin/env wirelab\nprint(arg[0], arg[1], select('#', ...), ...)\n"), 0o644)
	failing := filepath.Join(dir, "fail.lua")
	os.WriteFile(failing, []byte("local function f() error('it broke') end\nf()\n"), 0o644)
	flagged := filepath.Join(dir, "flags.lua")
	os.WriteFile(flagged, []byte(`local o = flags.parse(arg, {port = 8080, host = "127.0.0.1", json = false}, {help = {port = "port to use"}})
print(o.port, o.host, o.json, o[1])`), 0o644)
	multi := filepath.Join(dir, "multi.lua")
	os.WriteFile(multi, []byte(`local o = flags.parse(arg, {dir = ".", max_size = 1, max_conns = 2})
print(o.dir, o.max_size, o.max_conns, o[1])`), 0o644)
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{

		{"unknown", []string{"frobnicate"}, 2, "", "unknown command"},
		{"did you mean a command", []string{"conect"}, 2, "", "wirelab: unknown command \"conect\" (did you mean connect?)\nusage:"},
		{"a bundled script as a command", []string{"sticky_demo"}, 2, "", "(did you mean wirelab run sticky_demo?)\n"},
		{"did you mean a bundled script", []string{"run", "sticky_dem"}, 2, "", "wirelab: no script file or bundled script called \"sticky_dem\" (did you mean sticky_demo? see wirelab scripts)\n"},
		{"a bundled script with .lua", []string{"run", "sticky_dem.lua"}, 2, "", "wirelab: open sticky_dem.lua: no such file or directory (the bundled script: wirelab run sticky_demo)\n"},
		{"FILE.lua", []string{script, "a", "b"}, 0, script + "\ta\t2\ta\tb\n", ""},
		{"missing FILE.lua", []string{filepath.Join(dir, "nope.lua")}, 2, "", "no such file"},
		{"FILE.lua failing", []string{failing}, 1, "", "it broke"},
		{"help names FILE.lua", []string{"help"}, 0, "wirelab FILE.lua [ARGS...]", ""},
		{"connect help forms", []string{"connect", "--help"}, 0, "wirelab connect HOST:PORT ...     (also [::1]:PORT)", ""},
		{"listen help forms", []string{"listen", "--help"}, 0, "wirelab listen HOST PORT [...]    (also HOST:PORT, [::1]:PORT)", ""},
		{"version", []string{"version"}, 0, "wirelab ", ""},
		{"connect help", []string{"connect", "--help"}, 0, "wirelab connect HOST PORT", ""},
		{"listen help", []string{"listen", "-h"}, 0, "wirelab listen PORT", ""},
		{"eval", []string{"-e", "print(struct.calcsize('i'), ...)", "x"}, 0, "4\tx\n", ""},
		{"args", []string{"run", script, "a", "b"}, 0, script + "\ta\t2\ta\tb\n", ""},
		{"run's flags after the script", []string{"run", script, "a", "--trace", "b"}, 0, script + "\ta\t2\ta\tb\n", ""},
		{"after --, the script's", []string{"run", script, "a", "--", "--trace"}, 0, script + "\ta\t2\ta\t--trace\n", ""},
		{"run's flag after the script without its value", []string{"run", script, "--pcap"}, 2, "", "wirelab: run: flag needs an argument: --pcap\n"},
		{"script error", []string{"run", failing}, 1, "", "it broke"},
		{"traceback", []string{"run", failing}, 1, "", "stack traceback"},
		{"syntax error", []string{"-e", "print("}, 1, "", "wirelab:"},
		{"missing script", []string{"run", filepath.Join(dir, "nope.lua")}, 2, "", "no such file"},
		{"missing bundled script", []string{"run", "nope"}, 2, "", "wirelab: no script file or bundled script called \"nope\" (see wirelab scripts)\n"},
		{"bundled script", []string{"run", "udp_echo_server", "--help"}, 0, "usage: udp_echo_server [flags]\n  -buffer value\n", ""},
		{"run without script", []string{"run"}, 2, "", "usage:"},
		{"flags", []string{"run", flagged, "--port", "9000", "--json", "rest"}, 0, "9000\t127.0.0.1\ttrue\trest\n", ""},
		{"flags help", []string{"run", flagged, "--help"}, 0, "port to use", ""},
		{"bad flag", []string{"run", flagged, "--nope"}, 2, "", "flag provided but not defined"},
		{"bad number", []string{"run", flagged, "--port", "x"}, 2, "", "invalid value"},
		{"underscores", []string{"run", multi, "--dir", "/tmp/a_b", "--max_size=5", "--max-conns", "7", "pos_1"}, 0, "/tmp/a_b\t5\t7\tpos_1\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			// Output is checked for what it must hold, and a stream with
			// nothing wanted must be empty.
			if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errb.String(), c.err) ||
				c.out == "" && out.Len() != 0 || c.err == "" && errb.Len() != 0 {
				t.Fatalf("code %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.code, out.String(), c.out, errb.String(), c.err)
			}
		})
	}
}

// TestWaitsForServers checks that run exits when the main chunk is done
// and no task is left, and not before.
func TestWaitsForTasks(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	code := run([]string{"-e", `task.spawn(function() task.sleep(0.2) print("late") end) print("main done")`}, &out, &out)
	if code != 0 || out.String() != "main done\nlate\n" || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("code %d, output %q after %v", code, out.String(), time.Since(start))
	}
}

// TestInterruptServer runs a real server process and stops it with
// SIGINT: it must close its server and exit 130 at once.
func TestInterruptServer(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(binary, "-e", `
				local srv = socket.serve("127.0.0.1", 0, function(c) c:recv(10) end)
				local c = socket.connect("127.0.0.1", srv:port())
				print("listening on 127.0.0.1:" .. srv:port())`)
			stdout, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if runtime.GOOS == "windows" {
				if sig != syscall.SIGINT {
					t.Skip("Windows has no SIGTERM to send")
				}
				testbin.Interruptible(cmd)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			if !strings.HasPrefix(line, "listening on") {
				t.Fatalf("got %q", line)
			}
			start := time.Now()
			if runtime.GOOS == "windows" {
				// Ctrl-C's console event, which Go delivers as SIGINT.
				if err := testbin.Interrupt(cmd.Process); err != nil {
					testbin.SkipWine(t, testbin.WineConsole)
					t.Fatal(err)
				}
			} else {
				cmd.Process.Signal(sig)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				cmd.Process.Kill()
				t.Fatal("still running 3 s after the signal")
			}
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Fatalf("exit %d, want 130; stderr %s", code, stderr.String())
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v to stop", d)
			}
		})
	}
}

// TestInteractiveRunsScriptsAsRun: -i runs a script through the same
// runner as run: a shebang line is skipped and arg is the same.
func TestInteractiveRunsScriptsAsRun(t *testing.T) {
	script := filepath.Join(t.TempDir(), "tool.lua")
	os.WriteFile(script, []byte("#!/usr/bin/env wirelab\nGREETING = 'hi ' .. arg[1]\nprint(arg[0] == ..., arg[-1])\n"), 0o644)
	cmd := exec.Command(binary, "-i", script, script)
	cmd.Stdin = strings.NewReader("print(GREETING)\n")
	out, err := cmd.CombinedOutput()
	prompt := "> "
	if runtime.GOOS == "windows" {
		prompt = "" // liner shows no prompt on Windows when stdin is no console
	}
	if err != nil || !strings.Contains(string(out), "\ntrue\twirelab\n") || !strings.Contains(string(out), prompt+"hi "+script+"\n") {
		t.Fatalf("%v, output %q", err, out)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", script, script}, &stdout, &stderr); code != 0 || stdout.String() != "true\twirelab\n" {
		t.Fatalf("run: %d, %q %q", code, stdout.String(), stderr.String())
	}
}

// TestCPUProfile: run --cpuprofile and WIRELAB_PPROF write a profile that
// go tool pprof reads (gzipped protocol buffers), and the script's output
// and status are untouched.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "busy.lua")
	os.WriteFile(script, []byte("local s = 0 for i = 1, 1e6 do s = s + i end print(s)\n"), 0o644)
	for name, cmd := range map[string]*exec.Cmd{
		"flag": exec.Command(binary, "run", "--cpuprofile", filepath.Join(dir, "flag.prof"), script),
		"env":  exec.Command(binary, "run", script),
	} {
		if name == "env" {
			cmd.Env = append(os.Environ(), "WIRELAB_PPROF="+filepath.Join(dir, "env.prof"))
		}
		out, err := cmd.Output()
		if err != nil || string(out) != "500000500000\n" {
			t.Fatalf("%s: %q %v", name, out, err)
		}
		prof, err := os.ReadFile(filepath.Join(dir, name+".prof"))
		if err != nil || len(prof) < 2 || prof[0] != 0x1f || prof[1] != 0x8b {
			t.Fatalf("%s: profile %d bytes, %v", name, len(prof), err)
		}
	}
}

// TestShebang: a script whose first line is "#!/usr/bin/env wirelab" runs
// when executed, as the kernel runs it: wirelab ./tool ARGS.
func TestShebang(t *testing.T) {
	testbin.SkipWindows(t, "a #! line that the system runs")
	dir := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(dir, "wirelab")); err != nil {
		t.Fatal(err)
	}
	tool := filepath.Join(dir, "tool")
	os.WriteFile(tool, []byte("#!/usr/bin/env wirelab\nprint('tool', arg[0] == ..., select(2, ...))\n"), 0o755)
	cmd := exec.Command(tool, tool, "x")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "tool\ttrue\tx\n" {
		t.Fatalf("%v, output %q", err, out)
	}
}
