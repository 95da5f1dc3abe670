package scripts_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginRotatingSources: a guesser with a new source address for every
// connection (127.x.y.z all reach loopback) gets past no per-address
// penalty, but the ceiling across all addresses holds it to about 100
// checked guesses a second (after a burst of 100), however many addresses
// it rotates through. Every answer counted is a checked guess: no address
// fails often enough to be blocked without a check. The elapsed time is
// an upper bound on what the ceiling allows, which load only lowers.
func TestLoginRotatingSources(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "account.txt")
	os.WriteFile(accounts, []byte("chen:123\n"), 0o600)
	s := startServer(t, dir, "login_server", "--accounts", accounts)
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	var checked, conns atomic.Int64
	var next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := next.Add(1)
				from := fmt.Sprintf("127.%d.%d.%d", 1+n/62500%250, n/250%250, 1+n%250)
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					continue
				}
				conns.Add(1)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				for i := range 3 {
					if _, err := c.Write([]byte("chen|guess" + strconv.Itoa(i))); err != nil {
						break
					}
					k, err := c.Read(buf)
					if err != nil {
						break
					}
					if string(buf[:k]) == "fail" {
						checked.Add(1)
					}
				}
				c.Close()
			}
		}()
	}
	time.Sleep(3 * time.Second) // the window measured; a rate, not an event
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	allowed := 100 + 100*elapsed.Seconds()*1.1 + 40 // burst, ceiling, one in flight per client
	t.Logf("%d guesses checked in %v from %d connections (%d addresses): %.0f a second",
		checked.Load(), elapsed, conns.Load(), next.Load(), float64(checked.Load())/elapsed.Seconds())
	if float64(checked.Load()) > allowed {
		t.Fatalf("%d guesses checked in %v, the ceiling allows %.0f", checked.Load(), elapsed, allowed)
	}
	if checked.Load() < 100 {
		t.Fatalf("only %d guesses answered in %v: the ceiling should let the burst through", checked.Load(), elapsed)
	}
}
