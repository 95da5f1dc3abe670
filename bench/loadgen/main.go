// Command loadgen drives a framed echo server (4-byte big-endian length,
// then the payload, as send_frame and recv_frame speak) from its own
// process, so that a benchmark measures the server and not the clients
// sharing its CPU. It prints the messages per second.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "the server's address")
	clients := flag.Int("clients", 50, "connections at once")
	n := flag.Int("n", 200000, "messages in all")
	size := flag.Int("size", 64, "payload bytes")
	flag.Parse()
	conns := make([]net.Conn, *clients)
	for i := range conns {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		conns[i] = c
	}
	payload := bytes.Repeat([]byte("x"), *size)
	frame := binary.BigEndian.AppendUint32(nil, uint32(*size))
	frame = append(frame, payload...)
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now()
	for i, c := range conns {
		rounds := *n / *clients
		if i < *n%*clients {
			rounds++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			reply := make([]byte, len(frame))
			for range rounds {
				if _, err := c.Write(frame); err != nil {
					failed.Do(func() { fmt.Fprintln(os.Stderr, "loadgen: write:", err); os.Exit(1) })
				}
				if _, err := io.ReadFull(r, reply); err != nil || !bytes.Equal(reply, frame) {
					failed.Do(func() { fmt.Fprintln(os.Stderr, "loadgen: bad echo:", err); os.Exit(1) })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range conns {
		c.Close()
	}
	fmt.Printf("%.0f\n", float64(*n)/elapsed.Seconds())
}
