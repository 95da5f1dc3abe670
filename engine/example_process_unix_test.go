//go:build !windows

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wirelab/wirelab/engine"
)

// A shell driven as a connection. A read that times out in the middle of
// a line returns what came and keeps it for the next read.
func ExampleStartProcess() {
	ctx := context.Background()
	p, err := engine.StartProcess(ctx, engine.Spawn{Shell: `read name; printf 'hi %s, ' "$name"; read more; echo bye`})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	c := p.Conn()
	c.Send(ctx, []byte("wire\n"))
	head, _ := c.RecvExact(ctx, 9) // waits for "hi wire, "
	c.Unrecv(head)                 // and puts it back
	part, err := c.RecvUntil(engine.WithOpTimeout(ctx, 50*time.Millisecond), []byte("\n"), 100)
	fmt.Printf("%q %v\n", part, errors.Is(err, engine.ErrTimeout))
	c.Send(ctx, []byte("\n"))
	line, _ := c.RecvUntil(ctx, []byte("\n"), 100)
	fmt.Printf("%q\n", line)
	code, _, _ := p.Wait(ctx, 0)
	fmt.Println("exit", code)
	// Output:
	// "hi wire, " true
	// "hi wire, bye"
	// exit 0
}
