// Command nativeecho is the reference for the echo benchmark: the framed
// echo server of bench/echo.lua written in plain Go, a goroutine per
// connection. It prints its port and serves until stdin closes.
//
// With -burn D it busy-waits D before each reply: a Go server made slower
// by a known amount of CPU per message, to calibrate what a throughput
// ratio means on the machine at hand (bench/echo.sh's ratios respond to
// a fraction of a microsecond per message).
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

var burn = flag.Duration("burn", 0, "busy-wait this long before each reply")

func main() {
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "nativeecho:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}

// serve echoes c's frames until it closes or sends a frame over 16 MiB.
func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var head [4]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(head[:])
		if n > 16<<20 {
			return
		}
		out := make([]byte, 4+n)
		copy(out, head[:])
		if _, err := io.ReadFull(r, out[4:]); err != nil {
			return
		}
		if *burn > 0 {
			for start := time.Now(); time.Since(start) < *burn; {
			}
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
