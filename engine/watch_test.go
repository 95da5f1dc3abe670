package engine

import (
	"context"
	"testing"
)

// TestFinishedContextNeverCutsTheNext: each operation runs under a context
// of its own, cancelled once it is done, as each line typed at the prompt
// is. A cancellation reaches the socket on a goroutine of its own, and may
// come late: it must not cut the next operation short ("timeout" with the
// data there), however late it comes.
func TestFinishedContextNeverCutsTheNext(t *testing.T) {
	a, b := tcpPair(t)
	rounds := 20000
	if testing.Short() {
		rounds = 3000
	}
	go func() {
		ctx := context.Background()
		for range rounds {
			if _, err := b.Send(ctx, []byte{'x'}); err != nil {
				return
			}
		}
	}()
	for i := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := a.RecvExact(ctx, 1)
		cancel()
		if err != nil {
			t.Fatalf("round %d: %v (the previous round's context was cancelled after it returned)", i, err)
		}
	}
}
