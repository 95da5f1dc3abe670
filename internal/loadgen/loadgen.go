// Package loadgen drives a framed echo server (a 4-byte big-endian length,
// then the payload, as send_frame and recv_frame speak) with many clients
// at once. The echo benchmarks run it in a process of its own, so that
// they measure the server and not clients sharing its CPU.
package loadgen

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Run opens clients connections to addr and makes n round trips in all,
// each a frame of size payload bytes that must come back unchanged, every
// client waiting for its echo before sending again. It returns the round
// trips per second.
func Run(addr string, clients, n, size int) (float64, error) {
	if clients < 1 || n < 1 || size < 0 {
		return 0, fmt.Errorf("loadgen: bad parameters")
	}
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return 0, err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	frame := binary.BigEndian.AppendUint32(nil, uint32(size))
	frame = append(frame, bytes.Repeat([]byte("x"), size)...)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for i, c := range conns {
		rounds := n / clients
		if i < n%clients {
			rounds++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			reply := make([]byte, len(frame))
			for range rounds {
				if _, err := c.Write(frame); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(r, reply); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(reply, frame) {
					errs <- fmt.Errorf("loadgen: the echo differs from the frame sent")
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return float64(n) / elapsed.Seconds(), nil
}
