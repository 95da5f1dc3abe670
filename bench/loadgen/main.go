// Command loadgen drives a framed echo server from its own process (see
// internal/loadgen) and prints the round trips per second.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/wirelab/wirelab/internal/loadgen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "the server's address")
	clients := flag.Int("clients", 50, "connections at once")
	n := flag.Int("n", 200000, "round trips in all")
	size := flag.Int("size", 64, "payload bytes")
	flag.Parse()
	rate, err := loadgen.Run(*addr, *clients, *n, *size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Printf("%.0f\n", rate)
}
