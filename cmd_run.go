package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/wirelab/wirelab/internal/errtext"
	"github.com/wirelab/wirelab/internal/gctune"
	"github.com/wirelab/wirelab/internal/textsim"
	"github.com/wirelab/wirelab/lua"
	"github.com/wirelab/wirelab/repl"
	"github.com/wirelab/wirelab/scripts"
	"golang.org/x/term"
)

// wirelab run, -e, -i and FILE.lua: a script in a runtime, until its
// servers and tasks are done.

// cmdRun is wirelab run [--trace[=text]] [--pcap FILE] [--max-memory SIZE] [--cpuprofile FILE] SCRIPT [ARGS...]:
// run's flags may come before the script or after it (wirelab run
// sticky_demo --pcap demo.pcapng); the rest after it is the script's, and
// everything after a "--" that follows the script is the script's alone.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run")
	var trace traceFlag
	fs.Var(&trace, "trace", "dump every connection's traffic to stderr (--trace=text: as escaped text)")
	pcap := fs.String("pcap", "", "write every socket's traffic into a pcapng FILE for Wireshark")
	profile := fs.String("cpuprofile", "", "write a CPU profile to FILE")
	var budget sizeFlag
	fs.Var(&budget, "max-memory", "the memory budget: past it the tasks that hold the most get \"not enough memory\" (default half the machine's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "wirelab: run: %v\n%s", flagError(fs, err), usage)
		return 2
	}
	if fs.NArg() > 1 {
		// run's own flags after the script: taken, the rest left.
		script := fs.Arg(0)
		mine, rest, err := runFlagsAfter(fs.Args()[1:])
		if err == nil {
			err = fs.Parse(append(mine, append([]string{script}, rest...)...))
		}
		if err != nil {
			fmt.Fprintf(stderr, "wirelab: run: %v\n%s", flagError(fs, err), usage)
			return 2
		}
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	o := options(stdout, stderr)
	o.MaxMemory = budget.n
	if budget.n > 0 {
		gctune.Start(min(gcHeadroom, uint64(budget.n)/8)) // a small budget, a small floor
	}
	return profiled(*profile, stderr, func() int {
		return runWith(o, stdout, stderr, func(rt *lua.Runtime) error {
			if trace.on {
				rt.TraceAllAs(nil, trace.format)
			}
			if *pcap != "" {
				if err := rt.CaptureAll(*pcap); err != nil {
					return fmt.Errorf("--pcap: %w", err)
				}
			}
			return rt.RunFile(fs.Arg(0), fs.Args()[1:]...)
		})
	})
}

// runFlags are run's own flags that may follow the script, and whether
// each takes a value.
var runFlags = map[string]bool{"trace": false, "pcap": true, "max-memory": true, "cpuprofile": true}

// runFlagsAfter splits the arguments after the script into run's own
// flags (--pcap FILE, --pcap=FILE, --trace, --trace=text, ...) and the
// script's, up to a "--", after which all are the script's.
func runFlagsAfter(args []string) (mine, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return mine, append(rest, args[i+1:]...), nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takes, ok := runFlags[name]
		if !strings.HasPrefix(a, "--") || !ok {
			rest = append(rest, a)
			continue
		}
		mine = append(mine, a)
		if takes && !hasValue {
			if i+1 == len(args) {
				return nil, nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			mine = append(mine, args[i+1])
			i++
		}
	}
	return mine, rest, nil
}

// cmdEval is wirelab -e CODE [ARGS...].
func cmdEval(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return runMain(stdout, stderr, func(rt *lua.Runtime) error {
		return rt.Run("(command line)", []byte(args[0]), args[1:]...)
	})
}

// cmdFile is wirelab FILE.lua [ARGS...], as lua FILE.lua, and a script
// whose first line is "#!/usr/bin/env wirelab".
func cmdFile(args []string, stdout, stderr io.Writer) int {
	return runMain(stdout, stderr, func(rt *lua.Runtime) error {
		return rt.RunFile(args[0], args[1:]...)
	})
}

// cmdPrompt is plain wirelab: the prompt on a terminal, and stdin run as
// a script otherwise.
func cmdPrompt(stdout, stderr io.Writer) int {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return interactive(repl.Options{}, stderr)
	}
	src, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	return runMain(stdout, stderr, func(rt *lua.Runtime) error { return rt.Run("stdin", src) })
}

// cmdScriptThenPrompt is wirelab -i SCRIPT [ARGS...].
func cmdScriptThenPrompt(args []string, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return interactive(repl.Options{Script: args[0], ScriptArgs: args[1:]}, stderr)
}

// runMain runs a main chunk with start, then waits for its servers and
// tasks; the first SIGINT or SIGTERM interrupts them all. The runtime's
// Close is the one shutdown sequence, as the prompt's.
func runMain(stdout, stderr io.Writer, start func(*lua.Runtime) error) int {
	return runWith(options(stdout, stderr), stdout, stderr, start)
}

// runWith is runMain with the runtime's options given.
func runWith(o lua.Options, stdout, stderr io.Writer, start func(*lua.Runtime) error) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt := lua.NewRuntime(ctx, o)
	defer func() {
		// A capture cut short (a full disk) was said on stderr by
		// Close; the run did not do all it was asked.
		if rt.Close(); rt.CaptureFailed() && code == 0 {
			code = 1
		}
	}()
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

// options are the command's runtime options: every module, the bundled
// scripts, and os.exit ending the process as in Lua.
func options(stdout, stderr io.Writer) lua.Options {
	return lua.Options{Stdout: stdout, Stderr: stderr, Scripts: scripts.FS, Exit: os.Exit}
}

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

// scriptNames are the bundled scripts' names.
func scriptNames() []string {
	var names []string
	for _, s := range scripts.List() {
		names = append(names, s.Name)
	}
	return names
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
			fmt.Fprintf(stderr, "wirelab: %s (the bundled script: wirelab run %s)\n", errtext.Rewrite(err), s)
			return 2
		}
		fmt.Fprintf(stderr, "wirelab: %s\n", errtext.Rewrite(err))
	default:
		fmt.Fprintf(stderr, "wirelab: %s\n", errtext.Rewrite(err))
	}
	return 2
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
