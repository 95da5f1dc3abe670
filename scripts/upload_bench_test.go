package scripts_test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// uploadBenchSize is the file of issue 9's upload figure: 256 MiB.
const uploadBenchSize = 256 << 20

// BenchmarkUpload times, in the same run and on the same file system, a
// verified upload through upload_client and upload_server (md5 computed
// and checked at both ends, the file synced before it is linked) against
// durable copies without verification: socat -u -b 131072 over loopback
// TCP into a file followed by fsync (skipped when socat is absent), and
// the same copy in plain Go (sendfile out, 128 KiB reads in, fsync). A
// third reference, verified, is plain Go with md5 at both ends, hashing
// beside the copy on both sides (verifiedCopy): the ceiling of any
// verified upload here. md5-MiB/s is one core hashing the file from the
// page cache; where it is below socat's rate, no upload that reads every
// byte through md5 can match socat.
// wirelab/socat and wirelab/native are throughput ratios, 1.0 being as
// fast as the reference; each is the ratio of the summed times of
// interleaved runs; with -benchtime 3x or more, -min and -max give the
// spread of the rounds' own ratios. The wirelab time includes the client's start-up, as a
// user's would.
func BenchmarkUpload(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src.bin")
	writeRandomFile(b, src, uploadBenchSize)
	store := filepath.Join(dir, "store")
	os.Mkdir(store, 0o755)
	port := startBenchServer(b, store)
	socat, _ := exec.LookPath("socat")
	if socat == "" {
		b.Log("socat not found: the socat reference is skipped")
	}
	dst := filepath.Join(dir, "dst.bin")

	b.SetBytes(uploadBenchSize)
	b.ResetTimer()
	var tSocat, tNative, tVerified, tWirelab time.Duration
	var rSocat, rNative, rVerified []float64 // each round's ratio
	var md5s float64
	for i := 0; i < b.N; i++ {
		var s, n, v, w time.Duration
		// Each round starts with another contender, so that none always
		// runs on a machine warmed, or loaded, by the one before.
		runs := []func(){
			func() {
				if socat != "" {
					s = socatCopy(b, socat, src, dst)
					os.Remove(dst)
				}
			},
			func() { n = nativeCopy(b, src, dst); os.Remove(dst) },
			func() { v = verifiedCopy(b, src, dst); os.Remove(dst) },
			func() { w = wirelabUpload(b, port, src, dir); os.Remove(filepath.Join(store, "src.bin")) },
		}
		for k := range runs {
			runs[(i+k)%len(runs)]()
		}
		md5s += md5Rate(b, src)
		tSocat, tNative, tVerified, tWirelab = tSocat+s, tNative+n, tVerified+v, tWirelab+w
		rSocat = append(rSocat, s.Seconds()/w.Seconds())
		rNative = append(rNative, n.Seconds()/w.Seconds())
		rVerified = append(rVerified, v.Seconds()/w.Seconds())
	}
	b.StopTimer()
	if b.N >= 3 {
		// The spread of the rounds, on a machine that others share.
		slices.Sort(rSocat)
		slices.Sort(rNative)
		slices.Sort(rVerified)
		if socat != "" {
			b.ReportMetric(rSocat[0], "wirelab/socat-min")
			b.ReportMetric(rSocat[len(rSocat)-1], "wirelab/socat-max")
		}
		b.ReportMetric(rNative[0], "wirelab/native-min")
		b.ReportMetric(rNative[len(rNative)-1], "wirelab/native-max")
		b.ReportMetric(rVerified[0], "wirelab/verified-min")
		b.ReportMetric(rVerified[len(rVerified)-1], "wirelab/verified-max")
	}
	mibs := func(d time.Duration) float64 { return float64(b.N) * uploadBenchSize / (1 << 20) / d.Seconds() }
	if socat != "" {
		b.ReportMetric(mibs(tSocat), "socat-MiB/s")
		b.ReportMetric(tSocat.Seconds()/tWirelab.Seconds(), "wirelab/socat")
		b.ReportMetric(tSocat.Seconds()/tVerified.Seconds(), "verified/socat")
	}
	b.ReportMetric(mibs(tNative), "native-MiB/s")
	b.ReportMetric(mibs(tWirelab), "wirelab-MiB/s")
	b.ReportMetric(tNative.Seconds()/tWirelab.Seconds(), "wirelab/native")
	b.ReportMetric(mibs(tVerified), "verified-MiB/s")
	b.ReportMetric(tVerified.Seconds()/tWirelab.Seconds(), "wirelab/verified")
	b.ReportMetric(md5s/float64(b.N), "md5-MiB/s")
}

func writeRandomFile(tb testing.TB, path string, size int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, int64(size)); err != nil {
		tb.Fatal(err)
	}
}

// startBenchServer runs upload_server on store and returns its port.
func startBenchServer(tb testing.TB, store string) int {
	cmd := exec.Command(wirelab, "run", "upload_server", "--port", "0", "--dir", store)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		testbin.Stop(cmd.Process)
		cmd.Wait()
	})
	line, _ := bufio.NewReader(out).ReadString('\n')
	i := strings.LastIndex(line, ":")
	port, err := strconv.Atoi(strings.TrimSpace(line[i+1:]))
	if err != nil {
		tb.Fatalf("upload_server said %q", line)
	}
	go io.Copy(io.Discard, out)
	return port
}

// wirelabUpload runs `put src` in upload_client with --hash md5 and times
// it to the client's exit, which comes after the server's confirmation.
// md5, as the verified reference hashes: bench/upload.sh times the faster
// digests two wirelabs agree on.
func wirelabUpload(tb testing.TB, port int, src, dir string) time.Duration {
	cmd := exec.Command(wirelab, "run", "upload_client", "--port", strconv.Itoa(port), "--hash", "md5")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("put " + src + "\n")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil || !strings.HasPrefix(out.String(), "uploaded ") {
		tb.Fatalf("upload_client: %v: %s", err, out.String())
	}
	return took
}

// socatCopy copies src to dst through two socat processes over loopback
// TCP and syncs dst, timed from the sender's start to the end of fsync.
func socatCopy(tb testing.TB, socat, src, dst string) time.Duration {
	port := freePort(tb)
	recv := exec.Command(socat, "-u", "-b", "131072", "TCP-LISTEN:"+strconv.Itoa(port)+",bind=127.0.0.1,reuseaddr", "OPEN:"+dst+",creat,trunc")
	if err := recv.Start(); err != nil {
		tb.Fatal(err)
	}
	defer recv.Wait()
	defer recv.Process.Kill() // after a failure only: it exits by itself
	testbin.WaitFor(tb, 10*time.Second, "socat to listen", func() bool { return listening(port) })
	start := time.Now()
	send := exec.Command(socat, "-u", "-b", "131072", "OPEN:"+src, "TCP:127.0.0.1:"+strconv.Itoa(port))
	if out, err := send.CombinedOutput(); err != nil {
		tb.Fatalf("socat: %v: %s", err, out)
	}
	if err := recv.Wait(); err != nil {
		tb.Fatalf("socat receiver: %v", err)
	}
	syncFile(tb, dst)
	took := time.Since(start)
	checkSize(tb, dst)
	return took
}

// listening reports whether something accepts on the loopback port, by
// the kernel's table rather than a connection that would use up socat's
// one accept.
func listening(port int) bool {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		time.Sleep(50 * time.Millisecond)
		return true
	}
	want := fmt.Sprintf(":%04X ", port)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1]+" ", want) && f[3] == "0A" {
			return true
		}
	}
	return false
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// nativeCopy is the plain Go reference: the file goes out by sendfile,
// comes in by 128 KiB reads into a new file, which is synced.
func nativeCopy(tb testing.TB, src, dst string) time.Duration {
	return loopbackCopy(tb, src, dst,
		func(c net.Conn, f *os.File) error {
			_, err := io.Copy(c, f)
			return err
		},
		func(c net.Conn, out *os.File) error {
			_, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{c}, make([]byte, 128<<10))
			return err
		})
}

// loopbackCopy times a copy of src to dst over loopback TCP in plain Go:
// send writes the open src to the connection, receive the connection into
// the new dst, which is then synced. The time runs from before the dial to
// the end of fsync.
func loopbackCopy(tb testing.TB, src, dst string, send func(net.Conn, *os.File) error, receive func(net.Conn, *os.File) error) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	sent := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		f, err := os.Open(src)
		if err != nil {
			sent <- err
			return
		}
		defer f.Close()
		sent <- send(c, f)
	}()
	c, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	if err := receive(c, out); err != nil {
		tb.Fatal(err)
	}
	if err := out.Sync(); err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	if err := <-sent; err != nil {
		tb.Fatal(err)
	}
	checkSize(tb, dst)
	return took
}

func syncFile(tb testing.TB, path string) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}

func checkSize(tb testing.TB, path string) {
	st, err := os.Stat(path)
	if err != nil || st.Size() != uploadBenchSize {
		tb.Fatalf("%s: %v, %v", path, st, err)
	}
}

// verifiedCopy is the best this machine can do with md5 at both ends, in
// plain Go: the sender reads 1 MiB chunks and hashes each on a goroutine
// of its own while the chunk goes out; the receiver hashes on another
// goroutine beside its writes, syncs the file and compares the sender's
// digest, sent after the body. It bounds what any verified upload can
// reach here, wirelab's included.
func verifiedCopy(tb testing.TB, src, dst string) time.Duration {
	return loopbackCopy(tb, src, dst,
		func(c net.Conn, f *os.File) error {
			sum, err := hashBeside(func(chunk []byte) error { _, err := c.Write(chunk); return err }, f)
			if err == nil {
				_, err = c.Write(sum)
			}
			return err
		},
		func(c net.Conn, out *os.File) error {
			body := io.LimitReader(c, uploadBenchSize)
			sum, err := hashBeside(func(chunk []byte) error { _, err := out.Write(chunk); return err }, body)
			if err != nil {
				return err
			}
			theirs := make([]byte, md5.Size)
			if _, err := io.ReadFull(c, theirs); err != nil {
				return err
			}
			if !bytes.Equal(sum, theirs) {
				return fmt.Errorf("digests %x and %x", sum, theirs)
			}
			return nil
		})
}

// hashBeside reads r to its end in 1 MiB chunks, giving each to use while
// a goroutine adds it to an md5; it returns the digest.
func hashBeside(use func([]byte) error, r io.Reader) ([]byte, error) {
	const chunk, depth = 1 << 20, 4
	free := make(chan []byte, depth)
	for range depth {
		free <- make([]byte, chunk)
	}
	hashq := make(chan []byte, depth)
	done := make(chan []byte)
	go func() {
		h := md5.New()
		for b := range hashq {
			h.Write(b)
			free <- b[:cap(b)]
		}
		done <- h.Sum(nil)
	}()
	var err error
	for {
		b := <-free
		var n int
		n, err = io.ReadFull(r, b)
		if n > 0 {
			if err := use(b[:n]); err != nil {
				close(hashq)
				<-done
				return nil, err
			}
			hashq <- b[:n]
		} else {
			free <- b
		}
		if err != nil {
			break
		}
	}
	close(hashq)
	sum := <-done
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return sum, err
}

// md5Rate hashes path on one goroutine, from the page cache, and returns
// MiB/s: one core's ceiling for anything that checks an md5.
func md5Rate(tb testing.TB, path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := md5.New()
	start := time.Now()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		tb.Fatal(err)
	}
	return float64(n) / (1 << 20) / time.Since(start).Seconds()
}
