package main

import (
	"errors"
	"flag"
	"slices"
	"testing"
)

// TestParseFlags: flags anywhere among the positional arguments, "--"
// ending them, and unknown flags named with the closest known one.
func TestParseFlags(t *testing.T) {
	cases := []struct {
		args []string
		pos  []string
		tls  bool
		exec string
		err  string
	}{
		{[]string{"127.0.0.1", "80", "--tls"}, []string{"127.0.0.1", "80"}, true, "", ""},
		{[]string{"--tls", "127.0.0.1", "--exec", "cat", "80"}, []string{"127.0.0.1", "80"}, true, "cat", ""},
		{[]string{"-tls", "h:1"}, []string{"h:1"}, true, "", ""},
		{[]string{"h", "--", "--tls", "-x"}, []string{"h", "--tls", "-x"}, false, "", ""},
		{[]string{"h", "1", "--tsl"}, nil, false, "", "unknown flag --tsl (did you mean --tls?)"},
		{[]string{"--frobnicate"}, nil, false, "", "unknown flag --frobnicate"},
		{[]string{"h", "--exec"}, nil, false, "", "flag needs an argument: -exec"},
	}
	for _, c := range cases {
		fs := newFlags("test")
		tls := fs.Bool("tls", false, "")
		exec := fs.String("exec", "", "")
		pos, err := parseFlags(fs, c.args)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(pos, c.pos) || *tls != c.tls || *exec != c.exec {
			t.Errorf("%q: %q tls=%v exec=%q %v; want %q tls=%v exec=%q", c.args, pos, *tls, *exec, err, c.pos, c.tls, c.exec)
		}
	}
	if _, err := parseFlags(newFlags("test"), []string{"x", "--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}
