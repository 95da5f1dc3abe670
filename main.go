// Command wirelab runs Lua scripts that speak socket protocols, with Go
// doing the sockets, framing, commands and hashing underneath.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/textsim"
	"github.com/wirelab/wirelab/lua"
	"github.com/wirelab/wirelab/repl"
	"github.com/wirelab/wirelab/scripts"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  wirelab                        the interactive prompt (stdin not a terminal: run it as a script)
  wirelab FILE.lua [ARGS...]     run a script file, as lua FILE.lua does
  wirelab -i SCRIPT [ARGS...]    run a script, then the prompt with its globals
  wirelab run [--trace] [--cpuprofile FILE] SCRIPT [ARGS...]
                                 run a script file, or a bundled script by name
                                 (--cpuprofile, or WIRELAB_PPROF=FILE for any
                                 command: write a CPU profile for go tool pprof)
                                 (--trace: hexdump every connection's traffic
                                 to stderr, as socket.trace(true))
  wirelab -e CODE [ARGS...]      run CODE
  wirelab scripts                list the bundled scripts
  wirelab passwd FILE USER       store USER's password, hashed, in an accounts file
  wirelab connect HOST PORT [--tls] [--udp] [--trace] [--crlf] [--timeout S] ...
  wirelab connect HOST:PORT ...  (also [::1]:PORT)
                                 stdin to a TCP, TLS, UDP or Unix peer, its answers to stdout
  wirelab listen [HOST] PORT [--tls --cert F --key F] [--keep-open] [--exec CMD] [--udp] ...
                                 the other end: serve one connection (or many)
  wirelab cert DIR [--host NAME] [--force]
                                 write a self-signed cert.pem and key.pem
  wirelab version                print the version
`

func main() {
	args := os.Args[1:]
	profile := os.Getenv("WIRELAB_PPROF")
	if len(args) > 0 && args[0] == "run" {
		// run's own flags, in either order; run reads --trace.
		rest, i := []string{"run"}, 1
	flags:
		for i < len(args) {
			switch {
			case args[i] == "--trace":
				rest, i = append(rest, "--trace"), i+1
			case args[i] == "--cpuprofile" && i+1 < len(args):
				profile, i = args[i+1], i+2
			default:
				break flags
			}
		}
		args = append(rest, args[i:]...)
	}
	os.Exit(profiled(profile, os.Stderr, func() int { return run(args, os.Stdout, os.Stderr) }))
}

// profiled runs f, writing a CPU profile of it to path unless path is "".
func profiled(path string, stderr io.Writer, f func() int) int {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: cpu profile: %v\n", err)
		return 2
	}
	code := f()
	pprof.StopCPUProfile()
	if err := out.Close(); err != nil {
		fmt.Fprintf(stderr, "wirelab: cpu profile: %v\n", err)
	}
	return code
}

// run is wirelab's whole life, returning the exit status: 0 on success, 1
// when a script fails, 2 on a usage error, 130 when interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			src, err := io.ReadAll(os.Stdin)
			if err != nil {
				fmt.Fprintf(stderr, "wirelab: %v\n", err)
				return 1
			}
			return runMain(stdout, stderr, func(rt *lua.Runtime) error { return rt.Run("stdin", src) })
		}
		return interactive(repl.Options{}, stderr)
	}
	switch args[0] {
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "scripts":
		for _, s := range scripts.List() {
			fmt.Fprintf(stdout, "%-20s %s\n", s.Name, s.Description)
		}
		return 0
	case "connect", "listen", "cert":
		return netCommand(args, stdout, stderr)
	case "passwd":
		if len(args) != 3 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return passwd(args[1], args[2], os.Stdin, stderr)
	case "-i":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return interactive(repl.Options{Script: args[1], ScriptArgs: args[2:]}, stderr)
	case "-e":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return runMain(stdout, stderr, func(rt *lua.Runtime) error {
			return rt.Run("(command line)", []byte(args[1]), args[2:]...)
		})
	case "run":
		trace := false
		if len(args) > 1 && args[1] == "--trace" {
			trace, args = true, append([]string{"run"}, args[2:]...)
		}
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return runMain(stdout, stderr, func(rt *lua.Runtime) error {
			if trace {
				rt.TraceAll(nil)
			}
			return rt.RunFile(args[1], args[2:]...)
		})
	default:
		if isScriptFile(args[0]) {
			// wirelab FILE.lua, and a script whose first line is
			// "#!/usr/bin/env wirelab", run as lua FILE.lua does.
			return runMain(stdout, stderr, func(rt *lua.Runtime) error {
				return rt.RunFile(args[0], args[1:]...)
			})
		}
		fmt.Fprintf(stderr, "wirelab: unknown command %q%s\n%s", args[0], commandHint(args[0]), usage)
		return 2
	}
}

// commands are the words run dispatches on, for "did you mean".
var commands = []string{"version", "--version", "help", "--help", "scripts", "connect", "listen", "cert", "passwd", "run"}

// isScriptFile reports whether the first argument names a script to run
// rather than a command: a name ending in .lua, or a file that exists
// (what the kernel passes for a script that starts with a #! line).
func isScriptFile(name string) bool {
	if strings.HasSuffix(name, ".lua") {
		return true
	}
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// commandHint is " (did you mean connect?)" for a mistyped command, "
// (did you mean wirelab run sticky_demo?)" for a bundled script's name,
// or "".
func commandHint(word string) string {
	if _, ok := scripts.Source(word); ok {
		return " (did you mean wirelab run " + word + "?)"
	}
	if s := textsim.Suggest(word, commands); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// scriptNames are the bundled scripts' names.
func scriptNames() []string {
	var names []string
	for _, s := range scripts.List() {
		names = append(names, s.Name)
	}
	return names
}

// options are the command's runtime options: every module, the bundled
// scripts, and os.exit ending the process as in Lua.
func options(stdout, stderr io.Writer) lua.Options {
	return lua.Options{Stdout: stdout, Stderr: stderr, Scripts: scripts.FS, Exit: os.Exit}
}

// scriptError prints why a script could not be read and returns the usage
// error status.
func scriptError(stderr io.Writer, err error) int {
	var missing *lua.ScriptNotFoundError
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &missing):
		if s := textsim.Suggest(missing.Name, scriptNames()); s != "" {
			fmt.Fprintf(stderr, "wirelab: %v (did you mean %s? see wirelab scripts)\n", err, s)
		} else {
			fmt.Fprintf(stderr, "wirelab: %v (see wirelab scripts)\n", err)
		}
	case errors.As(err, &pathErr) && errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(pathErr.Path, "/\\"):
		// sticky_dem.lua: no such file here, but maybe a bundled
		// script's name with .lua added.
		name := strings.TrimSuffix(pathErr.Path, ".lua")
		if s := textsim.Suggest(name, scriptNames()); s != "" || slices.Contains(scriptNames(), name) {
			if s == "" {
				s = name
			}
			fmt.Fprintf(stderr, "wirelab: %v (the bundled script: wirelab run %s)\n", err, s)
			return 2
		}
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
	default:
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
	}
	return 2
}

// passwd reads a password (without echo on a terminal, twice to confirm)
// and stores it hashed for user in the accounts file.
func passwd(file, user string, in *os.File, stderr io.Writer) int {
	read := func(prompt string) (string, error) {
		if term.IsTerminal(int(in.Fd())) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(in.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	pw, err := read("password for " + user + ": ")
	if err == nil && term.IsTerminal(int(in.Fd())) {
		again, err2 := read("again: ")
		if err2 != nil || again != pw {
			fmt.Fprintln(stderr, "wirelab: the passwords differ")
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: reading the password: %v\n", err)
		return 1
	}
	if pw == "" {
		fmt.Fprintln(stderr, "wirelab: empty password")
		return 1
	}
	if err := engine.SetPassword(file, user, pw); err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	return 0
}

// interactive runs the prompt, with history and WIRELAB_INIT, in a
// runtime whose os.exit leaves the prompt (restoring the terminal) rather
// than the process.
func interactive(o repl.Options, stderr io.Writer) int {
	o.Init = os.Getenv("WIRELAB_INIT")
	o.History = os.Getenv("WIRELAB_HISTORY")
	if o.History == "" {
		if home, err := os.UserHomeDir(); err == nil {
			o.History = filepath.Join(home, ".wirelab_history")
		}
	}
	rt := lua.NewRuntime(context.Background(), lua.Options{Scripts: scripts.FS})
	defer rt.Close()
	if o.Script != "" {
		src, err := rt.ReadScript(o.Script)
		if err != nil {
			return scriptError(stderr, err)
		}
		o.ScriptSrc = src
	}
	return repl.Run(rt, o)
}

// runMain runs a main chunk with start, then waits for its servers and
// tasks; the first SIGINT or SIGTERM interrupts them all. The runtime's
// Close is the one shutdown sequence, as the prompt's.
func runMain(stdout, stderr io.Writer, start func(*lua.Runtime) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt := lua.NewRuntime(ctx, options(stdout, stderr))
	defer rt.Close()
	err := start(rt)
	if err == nil {
		err = rt.Wait(ctx)
	}
	var exit *lua.ExitError
	var failed *lua.ScriptError
	switch {
	case ctx.Err() != nil:
		return 130
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &failed):
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	case err != nil:
		return scriptError(stderr, err)
	}
	return 0
}
