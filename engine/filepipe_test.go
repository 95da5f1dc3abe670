package engine

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// bigFile writes size bytes of a pattern that no shift of itself matches,
// and returns the path and the md5.
func bigFile(t *testing.T, size int) (string, string) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	return path, hex.EncodeToString(sum[:])
}

// TestSendFileTimeoutPerStall: a timeout far shorter than the transfer
// does not cut a peer that keeps reading, with or without a hash (both go
// by sendfile), and the bytes and digests are right; a peer that stops
// reading fails the sender with ErrTimeout, and cancelling the context
// interrupts it. While bytes go, the connection does not look idle: the
// watchdog keeps its last activity current, on the clock Idle reads.
//
// The steady peer pauses a fortieth of the timeout between reads, so the
// transfer lasts at least 2.4 timeouts however fast the machine, and a
// timeout that bounded the whole transfer would fail it at every scale.
// A loaded machine may stall the peer or the watchdog for longer than the
// timeout, a real stall that the sender is right to end: then the run is
// repeated with twice the timeout (and slower reads), up to 3.2 s.
func TestSendFileTimeoutPerStall(t *testing.T) {
	testbin.SkipWine(t, "Idle read at a progress call came out up to 4 ms past the time since the previous call (the watchdog's marks lag there); runs on Windows")
	const size = 24 << 20
	path, want := bigFile(t, size)
	for _, algo := range []string{"", "md5"} {
		t.Run("steady"+algo, func(t *testing.T) {
			for timeout := 400 * time.Millisecond; ; timeout *= 2 {
				err := steadySend(t, path, want, algo, size, timeout)
				if err == nil {
					return
				}
				if !errors.Is(err, ErrTimeout) || timeout >= 3200*time.Millisecond {
					t.Fatalf("timeout %v: %v", timeout, err)
				}
				t.Logf("timeout %v: %v; again with %v", timeout, err, 2*timeout)
			}
		})
	}
	t.Run("stalled", func(t *testing.T) {
		a, _ := tcpPair(t)
		a.SetTimeout(200 * time.Millisecond)
		r, err := a.SendFile(context.Background(), path, FileOptions{Hash: "md5", Size: -1})
		if !errors.Is(err, ErrTimeout) || r.Sent == 0 || r.Sent >= size {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		a, _ := tcpPair(t)
		ctx, cancel := context.WithCancel(context.Background())
		var once bool
		progress := func(int64) {
			if !once {
				once = true
				cancel() // while bytes go
			}
		}
		r, err := a.SendFile(ctx, path, FileOptions{Size: -1, Progress: progress})
		if !errors.Is(err, ErrInterrupted) || r.N >= size {
			t.Fatalf("%+v %v", r, err)
		}
	})
}

// steadySend sends the file at path to a peer that reads it all, pausing
// timeout/40 between reads, with the connection's timeout set to timeout.
// It returns the send's error; anything else wrong fails the test.
func steadySend(t *testing.T, path, want, algo string, size int, timeout time.Duration) error {
	t.Helper()
	a, b := tcpPair(t)
	a.SetTimeout(timeout)
	got := make(chan string, 1)
	go func() {
		h := md5.New()
		buf := make([]byte, 256<<10)
		for n := 0; n < size; {
			m, err := b.Read(buf)
			h.Write(buf[:m])
			n += m
			if err != nil {
				break
			}
			time.Sleep(timeout / 40)
		}
		got <- hex.EncodeToString(h.Sum(nil))
	}()
	var progressed int64
	var calls []time.Time     // when the watchdog's progress calls came
	var idles []time.Duration // what Idle said then
	progress := func(n int64) {
		progressed = n
		if n < int64(size) {
			now := time.Now()
			calls = append(calls, now)
			idles = append(idles, a.Idle(now))
		}
	}
	r, err := a.SendFile(context.Background(), path, FileOptions{Hash: algo, Size: -1, Progress: progress})
	if err != nil {
		b.Close() // the reader ends
		<-got
		return err
	}
	if r.N != int64(size) || r.Sent != int64(size) || progressed != int64(size) {
		t.Fatalf("%+v, progress %d", r, progressed)
	}
	if len(idles) == 0 {
		t.Fatal("no progress while sending")
	}
	// The watchdog marks the connection active just before each call: it
	// cannot look idle since before the call ahead of it.
	for i, d := range idles {
		if d < 0 || (i > 0 && d > calls[i].Sub(calls[i-1])) {
			t.Fatalf("idle %v at progress call %d, %v after the one before (all: %v)", d, i, calls[i].Sub(calls[i-1]), idles)
		}
	}
	if algo != "" && r.Sum != want {
		t.Fatalf("digest %s, want %s", r.Sum, want)
	}
	if g := <-got; g != want {
		t.Fatalf("received md5 %s, want %s", g, want)
	}
	return nil
}

// TestSendFileHead: Head goes out just before the bytes; a file that
// cannot be sent sends nothing, not even Head, so the stream stays usable.
func TestSendFileHead(t *testing.T) {
	path, _ := bigFile(t, 100000)
	a, b := tcpPair(t)
	ctx := context.Background()
	for _, o := range []FileOptions{{Size: 100001}, {Size: -1, Dir: filepath.Dir(path)}} {
		o.Head = []byte("HEAD")
		r, err := a.SendFile(ctx, path, o)
		if err == nil || r.Sent != 0 {
			t.Fatalf("%+v: %+v %v", o, r, err)
		}
	}
	if _, err := a.SendFile(ctx, filepath.Join(t.TempDir(), "missing"), FileOptions{Size: -1, Head: []byte("HEAD")}); err == nil {
		t.Fatal("a missing file was sent")
	}
	done := make(chan []byte, 1)
	go func() {
		got, _ := b.RecvExact(ctx, 4+100000)
		done <- got
	}()
	r, err := a.SendFile(ctx, path, FileOptions{Size: -1, Head: []byte("HEAD"), Hash: "md5"})
	if err != nil || r.N != 100000 || r.Sent != 100004 {
		t.Fatalf("%+v %v", r, err)
	}
	data, _ := os.ReadFile(path)
	if got := <-done; !bytes.Equal(got, append([]byte("HEAD"), data...)) {
		t.Fatalf("received %d bytes, not HEAD and the file", len(got))
	}
}

// TestRecvFileConfirm: Confirm sees the digest of the bytes on disk before
// the file has its name; its refusal keeps nothing, its agreement links
// the file. Big enough that the pipeline runs with several chunks, and fed
// through a reader that cuts the bytes into odd pieces.
func TestRecvFileConfirm(t *testing.T) {
	const size = 5<<20 + 12345
	path, want := bigFile(t, size)
	data, _ := os.ReadFile(path)
	for _, keep := range []bool{true, false} {
		a, b := tcpPair(t)
		dir := t.TempDir()
		go func() {
			r := io.MultiReader(bytes.NewReader(data[:777]), bytes.NewReader(data[777:]))
			io.CopyBuffer(struct{ io.Writer }{a}, r, make([]byte, 99991))
		}()
		var seen string
		var listed []os.DirEntry
		r, err := b.RecvFile(context.Background(), "f", size, FileOptions{Dir: dir, Hash: "md5", Confirm: func(sum string) error {
			seen = sum
			listed, _ = os.ReadDir(dir)
			if !keep {
				return errors.New("refused")
			}
			return nil
		}})
		if seen != want || len(listed) != 1 || listed[0].Name() == "f" {
			t.Fatalf("confirm saw %s (want %s) with %v in the directory", seen, want, listed)
		}
		entries, _ := os.ReadDir(dir)
		if keep {
			got, _ := os.ReadFile(filepath.Join(dir, "f"))
			if err != nil || r.Name != "f" || len(entries) != 1 || !bytes.Equal(got, data) {
				t.Fatalf("%+v %v %v", r, err, entries)
			}
		} else if err == nil || Reason(err) != "refused" || len(entries) != 0 {
			t.Fatalf("%+v %v %v", r, err, entries)
		}
	}
}
