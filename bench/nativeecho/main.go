// Command nativeecho is the reference for the echo benchmark: the framed
// echo server of bench/echo.lua written in plain Go, a goroutine per
// connection. It prints its port and serves until stdin closes.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
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
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
