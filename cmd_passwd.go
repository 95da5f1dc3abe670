package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wirelab/wirelab/engine"
	"golang.org/x/term"
)

// wirelab passwd FILE USER: a password, hashed, in an accounts file.

func cmdPasswd(args []string, in *os.File, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return passwd(args[0], args[1], in, stderr)
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
