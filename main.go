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
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/lua"
	"github.com/wirelab/wirelab/repl"
	"github.com/wirelab/wirelab/scripts"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  wirelab                        the interactive prompt (stdin not a terminal: run it as a script)
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
  wirelab connect HOST PORT [--tls] [--udp] [--trace] ...
                                 stdin to a TCP, TLS, UDP or Unix peer, its answers to stdout
  wirelab listen PORT [--tls --cert F --key F] [--keep-open] [--exec CMD] [--udp] ...
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
			return runScript("stdin", src, nil, stdout, stderr)
		}
		return interactive(repl.Options{})
	}
	var name string
	var src []byte
	var trace bool
	switch args[0] {
	case "version", "--version":
		fmt.Fprintf(stdout, "wirelab %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "scripts":
		for _, s := range scripts.List() {
			fmt.Fprintf(stdout, "%-20s %s\n", s.Name, s.Description)
		}
		return 0
	case "connect":
		return cmdConnect(args[1:], os.Stdin, stdout, stderr)
	case "listen":
		return cmdListen(args[1:], os.Stdin, stdout, stderr)
	case "cert":
		return cmdCert(args[1:], stdout, stderr)
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
		name, src, err := loadScript(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "wirelab: %v\n", err)
			return 2
		}
		return interactive(repl.Options{Script: name, ScriptSrc: src, ScriptArgs: args[2:]})
	case "-e":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		name, src, args = "(command line)", []byte(args[1]), args[2:]
	case "run":
		if len(args) > 1 && args[1] == "--trace" {
			trace, args = true, append([]string{"run"}, args[2:]...)
		}
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		var err error
		name, src, err = loadScript(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "wirelab: %v\n", err)
			return 2
		}
		args = args[2:]
	default:
		fmt.Fprintf(stderr, "wirelab: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if trace {
		return runScript(name, src, args, stdout, stderr, func(rt *lua.Runtime) { rt.TraceAll(nil) })
	}
	return runScript(name, src, args, stdout, stderr)
}

// loadScript reads a script by path, or a bundled script by name when no
// such file exists.
func loadScript(path string) (string, []byte, error) {
	src, err := os.ReadFile(path)
	if err == nil {
		return path, src, nil
	}
	if src, ok := scripts.Source(path); ok {
		return path, src, nil
	}
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(path, "/.") {
		return "", nil, fmt.Errorf("no script file or bundled script called %q (see wirelab scripts)", path)
	}
	return "", nil, err
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

// interactive runs the prompt, with history and WIRELAB_INIT.
func interactive(o repl.Options) int {
	o.Init = os.Getenv("WIRELAB_INIT")
	o.History = os.Getenv("WIRELAB_HISTORY")
	if o.History == "" {
		if home, err := os.UserHomeDir(); err == nil {
			o.History = filepath.Join(home, ".wirelab_history")
		}
	}
	rt := lua.NewRuntime(context.Background(), lua.Options{})
	defer rt.Close()
	return repl.Run(rt, o)
}

// runScript runs a main chunk, then waits for its servers and tasks; the
// first SIGINT or SIGTERM closes them all.
func runScript(name string, src []byte, args []string, stdout, stderr io.Writer, setup ...func(*lua.Runtime)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt := lua.NewRuntime(ctx, lua.Options{Stdout: stdout, Stderr: stderr})
	defer rt.Close()
	for _, f := range setup {
		f(rt)
	}
	L := rt.NewState(nil)
	defer L.Close()

	err := lua.Run(L, name, src, args)
	if err == nil {
		err = rt.Wait(ctx)
	}
	var exit *lua.ExitError
	switch {
	case ctx.Err() != nil:
		rt.Close()
		waitCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		rt.Wait(waitCtx)
		return 130
	case errors.As(err, &exit):
		return exit.Code
	case err != nil:
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	return 0
}
