package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wirelab/wirelab/engine"
)

// wirelab cert: a self-signed certificate for trying TLS.

func cmdCert(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cert")
	host := fs.String("host", "", "a name the certificate is for, besides localhost")
	force := fs.Bool("force", false, "replace existing files")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, netUsage)
		return 0
	}
	if err != nil || len(pos) != 1 {
		if err != nil {
			fmt.Fprintf(stderr, "wirelab: %v\n", err)
		}
		fmt.Fprint(stderr, netUsage)
		return 2
	}
	dir := pos[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	fp, err := engine.WriteCert(dir, *host, *force)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s/cert.pem and %s/key.pem\n", dir, dir)
	fmt.Fprintln(stdout, fp)
	return 0
}
