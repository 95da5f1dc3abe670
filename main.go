// Command wirelab runs Lua scripts that speak socket protocols, with Go
// doing the sockets, framing, commands and hashing underneath.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/lua"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  wirelab run SCRIPT [ARGS...]   run a script file (or a bundled script by name)
  wirelab -e CODE [ARGS...]      run CODE
  wirelab version                print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is wirelab's whole life, returning the exit status: 0 on success, 1
// when a script fails, 2 on a usage error, 130 when interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var name string
	var src []byte
	switch args[0] {
	case "version", "--version":
		fmt.Fprintf(stdout, "wirelab %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "-e":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		name, src, args = "(command line)", []byte(args[1]), args[2:]
	case "run":
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
	return runScript(name, src, args, stdout, stderr)
}

// loadScript reads a script by path.
func loadScript(path string) (string, []byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	return path, src, nil
}

// runScript runs a main chunk, then waits for its servers and tasks; the
// first SIGINT or SIGTERM closes them all.
func runScript(name string, src []byte, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt := lua.NewRuntime(ctx, lua.Options{Stdout: stdout, Stderr: stderr})
	defer rt.Close()
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
