//go:build !race

// The race detector allocates on its own and drops sync.Pool entries at
// random, so allocation counts mean nothing under it.

package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/wirelab/wirelab/netproto"
)

// TestFrameEchoAllocatesNothing echoes frames of every size up to 64 KiB
// through a Conn over loopback TCP, as a server handler does (a
// cancellable context, a timeout armed), and counts the allocations of
// each round trip: RecvFrameInto with the previous buffer, then
// SendFrame. A length boxed into an interface, a write buffer dropped
// and remade, a deadline timer made per call would each show here.
func TestFrameEchoAllocatesNothing(t *testing.T) {
	client, server := socketPair(t)
	s := NewConn(server)
	defer s.Close()
	s.SetTimeout(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := netproto.LengthHeader("!I")
	if err != nil {
		t.Fatal(err)
	}

	// The peer runs on a goroutine of its own, so that a frame larger
	// than the socket's buffers goes out while the Conn reads it; it is
	// told to go and says it is done over channels, which allocate
	// nothing.
	var frame, reply []byte
	start, done := make(chan struct{}), make(chan error)
	go func() {
		for range start {
			if _, err := client.Write(frame); err != nil {
				done <- err
				continue
			}
			_, err := io.ReadFull(client, reply)
			done <- err
		}
	}()
	defer close(start)

	var buf []byte
	for _, size := range []int{0, 1, 64, 1000, 1024, 1028, 4091, 4092, 4096, 16 << 10, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			payload := bytes.Repeat([]byte{byte(size)}, size)
			frame, _ = netproto.AppendFrame(nil, h, payload)
			reply = make([]byte, len(frame))
			var echoErr error
			roundTrip := func() {
				start <- struct{}{}
				var err error
				if buf, err = s.RecvFrameInto(ctx, h, 1<<20, buf); err != nil {
					echoErr = err
				} else if err = s.SendFrame(ctx, h, buf); err != nil {
					echoErr = err
				}
				if err := <-done; err != nil && echoErr == nil {
					echoErr = err
				}
			}
			allocs := testing.AllocsPerRun(200, roundTrip)
			if echoErr != nil {
				t.Fatal(echoErr)
			}
			if !bytes.Equal(buf, payload) || !bytes.Equal(reply, frame) {
				t.Fatalf("echo of %d bytes came back wrong", size)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per echoed frame of %d bytes, want 0", allocs, size)
			}
		})
	}
}
