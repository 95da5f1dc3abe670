package capture

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// checksums makes tshark check every checksum, so that a wrong one is an
// expert Error.
var checksums = []string{"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"}

// writeFile runs build on a File created in a temporary directory and
// returns the file's path.
func writeFile(t *testing.T, name string, build func(f *File)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	build(f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// noExpertProblems fails the test when tshark's expert information for file
// holds an Error or a Warning (malformed packets, bad checksums, previous
// segment not captured, ACKed unseen segment, window full, ...). resets is
// how many RSTs the file holds: Wireshark flags each RST a Warning
// ("Connection reset (RST)"), which is no fault of the file; that line is
// expected with exactly that count, and nothing else.
func noExpertProblems(t *testing.T, file string, resets int) {
	t.Helper()
	report := tshark(t, append([]string{"-r", file, "-q", "-z", "expert"}, checksums...)...)
	bad, _ := expertLines(report)
	var want []string
	if resets > 0 {
		want = []string{"Warns (" + strconv.Itoa(resets) + ")",
			strconv.Itoa(resets) + " Sequence TCP Connection reset (RST)"}
	}
	for i := range bad {
		bad[i] = strings.Join(strings.Fields(bad[i]), " ")
	}
	if !slices.Equal(bad, want) {
		t.Errorf("tshark -z expert on %s: Errors and Warnings %q, want %q:\n%s", filepath.Base(file), bad, want, report)
	}
	t.Logf("tshark -z expert on %s:\n%s", filepath.Base(file), report)
}

// sizes of the sends and reads: around the MSS, and past several of it.
var sizes = []int{1, 2, 100, 1460, 65476, 65477, 65495, 65496, 131000, 200000}

// TestTsharkFollow: tshark's reassembly of an IPv4 and an IPv6 stream in
// one file gives exactly the bytes each side sent, in sends and reads of 1
// to 200,000 bytes, and its expert information finds nothing wrong.
func TestTsharkFollow(t *testing.T) {
	want := map[flow][]byte{}
	file := writeFile(t, "follow.pcapng", func(f *File) {
		s4 := f.TCP(us4, peer4, true)
		s6 := f.TCP(us6, peer6, false)
		for i, n := range sizes {
			for _, c := range []struct {
				s          *Stream
				local, rem netip.AddrPort
			}{{s4, us4, peer4}, {s6, us6, peer6}} {
				out, in := bytesOf(n, byte(i)), bytesOf(sizes[len(sizes)-1-i], byte(i+100))
				c.s.Sent(out)
				c.s.Received(in)
				if i%3 == 0 { // a send followed by another send
					c.s.Sent(out[:n/2+1])
					out = append(out, out[:n/2+1]...)
				}
				k, rk := flow{c.local, c.rem}, flow{c.rem, c.local}
				want[k], want[rk] = append(want[k], out...), append(want[rk], in...)
			}
		}
		s4.FinSent()
		s6.FinReceived()
		s4.FinReceived()
		s6.FinSent()
		s4.Close()
		s6.Close()
	})
	for stream, c := range []struct{ client, server netip.AddrPort }{{us4, peer4}, {peer6, us6}} {
		fl := followTCP(t, file, stream)
		// Node 0 is the side that sent the stream's first packet, the SYN.
		if fl.Node[0] != c.client.String() || fl.Node[1] != c.server.String() {
			t.Errorf("stream %d: nodes %q, want %v and %v", stream, fl.Node, c.client, c.server)
		}
		for node, k := range []flow{{c.client, c.server}, {c.server, c.client}} {
			if !bytes.Equal(fl.Data[node], want[k]) {
				t.Errorf("stream %d, %v: tshark follows %d bytes, %d were sent", stream, k, len(fl.Data[node]), len(want[k]))
			}
		}
	}
	noExpertProblems(t, file, 0)
}

// TestTsharkExpert: the ends of streams (FIN both ways in either order, an
// RST from either side, a close with no FIN before it) and many streams
// written at once leave nothing tshark calls an Error or a Warning.
func TestTsharkExpert(t *testing.T) {
	cases := []struct {
		name  string
		end   func(s *Stream)
		reset bool
	}{
		{"fin ours first", func(s *Stream) { s.FinSent(); s.FinReceived(); s.Close() }, false},
		{"fin theirs first", func(s *Stream) { s.FinReceived(); s.FinSent(); s.Close() }, false},
		{"close only", func(s *Stream) { s.Close() }, false},
		{"reset by peer", func(s *Stream) { s.Reset(true) }, true},
		{"reset by us", func(s *Stream) { s.Reset(false) }, true},
		{"fin then reset", func(s *Stream) { s.FinSent(); s.Reset(true); s.Close() }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, "end.pcapng", func(f *File) {
				for i, outbound := range []bool{true, false} {
					s := f.TCP(netip.AddrPortFrom(us4.Addr(), us4.Port()+uint16(i)), peer4, outbound)
					s.Sent([]byte("request"))
					s.Received(bytesOf(70000, 1))
					c.end(s)
					s6 := f.TCP(netip.AddrPortFrom(us6.Addr(), us6.Port()+uint16(i)), peer6, outbound)
					s6.Received([]byte("banner"))
					s6.Sent(bytesOf(140000, 2))
					c.end(s6)
				}
			})
			resets := 0
			if c.reset {
				resets = 4
			}
			noExpertProblems(t, file, resets)
		})
	}
	t.Run("many streams", func(t *testing.T) {
		b, _ := concurrentFile(t, 50)
		file := filepath.Join(t.TempDir(), "many.pcapng")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out := tshark(t, "-r", file, "-q", "-z", "conv,tcp")
		if n := strings.Count(out, "<->"); n != 51 {
			t.Errorf("tshark sees %d TCP conversations, want 51:\n%s", n, out)
		}
		noExpertProblems(t, file, 0)
	})
	t.Run("a gap shows", func(t *testing.T) {
		// The checks above can fail: a segment missing from a stream is
		// what tshark warns of.
		var buf bytes.Buffer
		f, err := New(&buf)
		if err != nil {
			t.Fatal(err)
		}
		s := f.TCP(us4, peer4, true)
		s.Sent([]byte("one"))
		s.us.nxt += 10 // ten bytes never written
		s.Sent([]byte("two"))
		f.Close()
		file := filepath.Join(t.TempDir(), "gap.pcapng")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		report := tshark(t, "-r", file, "-q", "-z", "expert")
		if bad, _ := expertLines(report); len(bad) == 0 {
			t.Errorf("a gap in the sequence numbers: tshark finds nothing:\n%s", report)
		}
	})
}

// TestTsharkUDP: one packet per datagram, each with its length, over IPv4
// and IPv6; a payload larger than an IP packet carries is cut, with its
// original length kept.
func TestTsharkUDP(t *testing.T) {
	type dgram struct {
		src, dst netip.AddrPort
		n        int
	}
	dgrams := []dgram{
		{us4, peer4, 0}, {peer4, us4, 1}, {us4, peer4, 1472}, {us4, peer4, maxUDP4},
		{us6, peer6, 0}, {peer6, us6, 9000}, {us6, peer6, maxUDP6},
		{us4, peer4, maxUDP4 + 1}, {us6, peer6, 100000},
	}
	file := writeFile(t, "udp.pcapng", func(f *File) {
		for i, d := range dgrams {
			f.UDP(d.src, d.dst, bytesOf(d.n, byte(i)))
		}
	})
	out := tshark(t, "-r", file, "-Y", "udp", "-T", "fields", "-E", "separator=,",
		"-e", "frame.len", "-e", "frame.cap_len", "-e", "udp.length", "-e", "udp.srcport", "-e", "udp.dstport")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(dgrams) {
		t.Fatalf("tshark -Y udp: %d packets, want %d:\n%s", len(lines), len(dgrams), out)
	}
	for i, d := range dgrams {
		hdr, limit := 28, maxUDP4
		if d.src.Addr().Is6() {
			hdr, limit = 48, maxUDP6
		}
		kept := min(d.n, limit)
		want := strings.Join([]string{strconv.Itoa(hdr + d.n), strconv.Itoa(hdr + kept), strconv.Itoa(8 + kept),
			strconv.Itoa(int(d.src.Port())), strconv.Itoa(int(d.dst.Port()))}, ",")
		if lines[i] != want {
			t.Errorf("datagram %d (%d bytes): frame.len/cap_len/udp.length/ports %s, want %s", i+1, d.n, lines[i], want)
		}
	}
}

// TestTsharkComment: Mark's comments are on the packets they were meant for.
func TestTsharkComment(t *testing.T) {
	file := writeFile(t, "comment.pcapng", func(f *File) {
		s := f.TCP(us4, peer4, true) // frames 1-3
		s.Sent([]byte("a"))          // 4
		s.Mark("the answer")
		f.UDP(us6, peer6, []byte("x")) // 5: the stream's mark waits for the stream
		f.Mark("file-wide")
		s.Received([]byte("42")) // 6: both marks
		f.UDP(us6, peer6, []byte("y"))
	})
	field := "frame.comment"
	if strings.HasPrefix(tsharkVersion(t), "3.") { // before 3.6 it was pkt_comment
		field = "pkt_comment"
	}
	out := tshark(t, "-r", file, "-Y", field, "-T", "fields", "-e", "frame.number", "-e", field)
	if got, want := strings.TrimSpace(out), "6\tfile-wide,the answer"; got != want {
		t.Errorf("commented frames %q, want %q", got, want)
	}
}

// tsharkVersion is tshark's version number, as "4.0.17".
func tsharkVersion(t *testing.T) string {
	out := tshark(t, "--version")
	f := strings.Fields(out)
	if len(f) < 2 {
		t.Fatalf("tshark --version: %q", out)
	}
	return f[1]
}

// TestTsharkTruncated: tshark reads a file cut in the middle of a block up
// to its last whole block.
func TestTsharkTruncated(t *testing.T) {
	var buf bytes.Buffer
	f, err := New(&buf)
	if err != nil {
		t.Fatal(err)
	}
	s := f.TCP(us4, peer4, true)
	s.Sent(bytesOf(5000, 1))
	f.Close()
	file := filepath.Join(t.TempDir(), "cut.pcapng")
	if err := os.WriteFile(file, buf.Bytes()[:buf.Len()-100], 0o644); err != nil {
		t.Fatal(err)
	}
	out, errText, err := tsharkAllowError(t, "-r", file, "-T", "fields", "-e", "frame.number")
	if got := strings.Fields(out); len(got) != 3 {
		t.Errorf("tshark reads frames %q of the cut file (%v: %s), want the handshake's 3", got, err, errText)
	}
	t.Logf("tshark on the cut file: %v: %s", err, errText)
}
