package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/engine/capture"
	"github.com/wirelab/wirelab/internal/textsim"
)

// newFlags returns the FlagSet of a subcommand: errors come back from
// parseFlags rather than being printed, so each command says them its way.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, taking flags anywhere among the
// positional arguments (wirelab connect HOST PORT --tls, as nc takes
// them), and returns the positional ones; "--" ends the flags. -h and
// --help are flag.ErrHelp. An unknown flag names the closest one fs has.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// flagError words the flag package's errors as the command speaks:
// "unknown flag --tsl (did you mean --tls?)".
func flagError(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return err
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	bare := strings.TrimLeft(name, "-")
	if s := textsim.Suggest(bare, names); s != "" {
		return fmt.Errorf("unknown flag -%s (did you mean --%s?)", name, s)
	}
	return fmt.Errorf("unknown flag -%s", name)
}

// A sizeFlag is a flag of a size in bytes: 1048576, 512K, 256MiB, 2G
// (K, M, G and T are powers of 1024, with or without "iB" or "B").
type sizeFlag struct{ n int64 }

func (f *sizeFlag) String() string { return strconv.FormatInt(f.n, 10) }

// Set parses s as a size.
func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	f.n = n
	return nil
}

// parseSize parses a size in bytes with an optional binary unit.
func parseSize(s string) (int64, error) {
	num, unit := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unit = s[:i], strings.ToUpper(s[i:])
	}
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "I")
	sh, ok := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || n > math.MaxInt64>>sh {
		return 0, fmt.Errorf("%q is not a size: give bytes, or a number with K, M, G or T (256MiB, 2G)", s)
	}
	return n << sh, nil
}

// A traceFlag is --trace (hexdumps), --trace=text (escaped text) or
// --trace=hex, on stderr.
type traceFlag struct {
	on     bool
	format engine.TraceFormat
}

// IsBoolFlag lets --trace stand alone.
func (f *traceFlag) IsBoolFlag() bool { return true }

func (f *traceFlag) String() string {
	switch {
	case !f.on:
		return "false"
	case f.format == engine.TraceText:
		return "text"
	}
	return "hex"
}

// Set reads --trace's value.
func (f *traceFlag) Set(s string) error {
	switch s {
	case "true", "hex":
		f.on, f.format = true, engine.TraceHex
	case "text":
		f.on, f.format = true, engine.TraceText
	case "false":
		f.on = false
	default:
		return fmt.Errorf("--trace=%s: hex or text expected", s)
	}
	return nil
}

// traceOptions are --trace and --pcap, as connect and listen take them.
type traceOptions struct {
	trace traceFlag
	pcap  string
}

func (o *traceOptions) add(fs *flag.FlagSet) {
	fs.Var(&o.trace, "trace", "dump the traffic on stderr (--trace=text: as escaped text)")
	fs.StringVar(&o.pcap, "pcap", "", "write the traffic into a pcapng FILE for Wireshark")
}

// tracer opens the capture, if any, and returns the Tracer the options
// ask for (nil: none) and what ends the capture: deferred with the
// command's status, it closes the file and, if a write failed (a full
// disk), says so and makes a status 0 a 1, since the file was cut short.
func (o *traceOptions) tracer(stderr io.Writer) (*engine.Tracer, func(code *int), error) {
	var t *engine.Tracer
	if o.trace.on {
		t = engine.NewTracer(stderr).WithFormat(o.trace.format)
	}
	if o.pcap == "" {
		return t, func(*int) {}, nil
	}
	f, err := capture.Create(o.pcap)
	if err != nil {
		return nil, nil, fmt.Errorf("--pcap: %w", err)
	}
	c := engine.NewFileCapture(f)
	if t == nil {
		t = engine.CaptureTracer(c)
	} else {
		t = t.WithCapture(c)
	}
	return t, func(code *int) {
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "wirelab: --pcap %s is cut short: %v\n", o.pcap, err)
			if *code == 0 {
				*code = 1
			}
		}
	}, nil
}
