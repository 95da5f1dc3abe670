package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

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
