// Command wirelab runs Lua scripts that speak socket protocols, with Go
// doing the sockets, framing, commands and hashing underneath.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/wirelab/wirelab/internal/gctune"
	"github.com/wirelab/wirelab/internal/textsim"
	_ "github.com/wirelab/wirelab/internal/winefix" // a wirelab.exe built for Wine removes files there
	"github.com/wirelab/wirelab/scripts"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage:
  wirelab                        the interactive prompt (stdin not a terminal: run it as a script)
  wirelab FILE.lua [ARGS...]     run a script file, as lua FILE.lua does
  wirelab -i SCRIPT [ARGS...]    run a script, then the prompt with its globals
  wirelab run [--trace[=text]] [--pcap FILE] [--max-memory SIZE] [--cpuprofile FILE] SCRIPT [ARGS...]
                                 run a script file, or a bundled script by name
                                 (run's flags may also follow SCRIPT; after a
                                 "--" everything is the script's)
                                 (--cpuprofile, or WIRELAB_PPROF=FILE for any
                                 command: write a CPU profile for go tool pprof)
                                 (--trace: hexdump every connection's traffic
                                 to stderr, as socket.trace(true); --trace=text:
                                 as escaped text; --pcap FILE: into a pcapng
                                 file for Wireshark)
                                 (--max-memory: past SIZE (256MiB, 2G) the tasks
                                 holding the most get "not enough memory";
                                 default half the machine's memory)
  wirelab -e CODE [ARGS...]      run CODE
  wirelab scripts                list the bundled scripts
  wirelab passwd FILE USER       store USER's password, hashed, in an accounts file
  wirelab connect HOST PORT [--tls] [--udp] [--trace[=text]] [--pcap FILE] [--crlf] [--timeout S] ...
  wirelab connect HOST:PORT ...  (also [::1]:PORT)
                                 stdin to a TCP, TLS, UDP or Unix peer, its answers to stdout
  wirelab listen [HOST] PORT [--tls --cert F --key F] [--keep-open] [--exec CMD] [--udp] ...
                                 the other end: serve one connection (or many)
  wirelab cert DIR [--host NAME] [--force]
                                 write a self-signed cert.pem and key.pem
  wirelab proxy PORT TARGET [--slice N] [--delay MS] [--rate BYTES] ... [--trace] [--pcap FILE]
                                 relay to TARGET, bending the wire (wirelab proxy --help)
  wirelab version                print the version
`

// gcHeadroom is the floor of the collector's headroom (internal/gctune):
// how far the heap may grow past what is live before a collection.
const gcHeadroom = 64 << 20

func main() {
	gctune.Start(gcHeadroom)
	os.Exit(profiled(os.Getenv("WIRELAB_PPROF"), os.Stderr, func() int { return run(os.Args[1:], os.Stdout, os.Stderr) }))
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
		return cmdPrompt(stdout, stderr)
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
	case "proxy":
		return cmdProxy(args[1:], stdout, stderr)
	case "passwd":
		return cmdPasswd(args[1:], os.Stdin, stderr)
	case "-i":
		return cmdScriptThenPrompt(args[1:], stderr)
	case "-e":
		return cmdEval(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	default:
		if isScriptFile(args[0]) {
			return cmdFile(args, stdout, stderr)
		}
		fmt.Fprintf(stderr, "wirelab: unknown command %q%s\n%s", args[0], commandHint(args[0]), usage)
		return 2
	}
}

// commands are the words run dispatches on, for "did you mean".
var commands = []string{"version", "--version", "help", "--help", "scripts", "connect", "listen", "cert", "proxy", "passwd", "run"}

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
