package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

var (
	us4   = netip.MustParseAddrPort("127.0.0.1:40001")
	peer4 = netip.MustParseAddrPort("127.0.0.1:9000")
	us6   = netip.MustParseAddrPort("[::1]:9001")
	peer6 = netip.MustParseAddrPort("[::1]:50000")
)

const keylog = "CLIENT_RANDOM 0102030405060708091011121314151617181920212223242526272829303132 " +
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\n"

// TestReadBack writes a file of every kind of call and reads it back with
// pcapgo and gopacket: the section comment, the link type, each packet's
// addresses, ports, flags, lengths, sequence and acknowledgement numbers,
// the comments on the packets they were meant for, and the secrets block.
func TestReadBack(t *testing.T) {
	var rec recorder
	f, err := New(&rec)
	if err != nil {
		t.Fatal(err)
	}
	f.Now = clock()
	big := bytesOf(100000, 1)

	s4 := f.TCP(us4, peer4, true)
	// An IPv4 address against an IPv6 one: written as IPv6, the IPv4
	// address mapped. The peer's SYN comes first: an inbound stream.
	other := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 1)
	f.TCP(us6, other, false)
	// An IPv4-mapped IPv6 address on both ends is IPv4.
	f.TCP(netip.MustParseAddrPort("[::ffff:127.0.0.1]:40002"), netip.MustParseAddrPort("[::ffff:127.0.0.1]:9000"), true).Close()
	s6 := f.TCP(us6, peer6, false)

	s4.Sent([]byte("GET"))
	s4.Mark("request sent")
	s4.Received(big)
	s4.Sent(nil) // a send of nothing: no packet
	f.Mark("file mark")
	f.UDP(us4, peer4, []byte("datagram"))
	s6.Received([]byte("hi"))
	s6.Sent([]byte("hello"))
	f.AddSecrets([]byte(keylog))
	s6.Mark("reset")
	s6.Reset(true)
	s6.Sent([]byte("after the reset"))
	s6.FinSent()
	s4.FinSent()
	s4.Sent([]byte("after our FIN"))
	s4.FinSent()
	s4.FinReceived()
	s4.Received([]byte("after the peer's FIN"))
	s4.Close()
	s4.Received([]byte("after close"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	type want struct {
		src, dst netip.AddrPort
		flags    string
		n        int
		comments []string
	}
	mapped := netip.MustParseAddrPort("127.0.0.1:40002")
	other6 := netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.2"), 1)
	wants := []want{
		{us4, peer4, "SYN", 0, nil},
		{peer4, us4, "SYN,ACK", 0, nil},
		{us4, peer4, "ACK", 0, nil},
		{other6, us6, "SYN", 0, nil},
		{us6, other6, "SYN,ACK", 0, nil},
		{other6, us6, "ACK", 0, nil},
		{mapped, peer4, "SYN", 0, nil},
		{peer4, mapped, "SYN,ACK", 0, nil},
		{mapped, peer4, "ACK", 0, nil},
		{mapped, peer4, "FIN,ACK", 0, nil},
		{peer4, mapped, "ACK", 0, nil},
		{peer6, us6, "SYN", 0, nil},
		{us6, peer6, "SYN,ACK", 0, nil},
		{peer6, us6, "ACK", 0, nil},
		{us4, peer4, "PSH,ACK", 3, nil},
		{peer4, us4, "ACK", mss4, []string{"request sent"}},
		{peer4, us4, "PSH,ACK", len(big) - mss4, nil},
		{us4, peer4, "", 8, []string{"file mark"}}, // the UDP datagram
		{peer6, us6, "PSH,ACK", 2, nil},
		{us6, peer6, "PSH,ACK", 5, nil},
		{peer6, us6, "RST,ACK", 0, []string{"reset"}},
		{us4, peer4, "FIN,ACK", 0, nil},
		{peer4, us4, "ACK", 0, nil},
		{peer4, us4, "FIN,ACK", 0, nil},
		{us4, peer4, "ACK", 0, nil},
	}

	ps, r, err := readPackets(t, rec.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := r.SectionInfo().Comment; got != SectionComment {
		t.Errorf("section comment %q", got)
	}
	if r.LinkType() != layers.LinkTypeRaw {
		t.Errorf("link type %v, want raw (101)", r.LinkType())
	}
	if len(ps) != len(wants) {
		t.Errorf("%d packets, want %d", len(ps), len(wants))
	}
	for i, p := range ps[:min(len(ps), len(wants))] {
		w := wants[i]
		got := want{src: p.src(), dst: p.dst(), comments: p.comments}
		if tc := p.tcp(); tc != nil {
			got.flags, got.n = flags(tc), len(tc.Payload)
		} else if u := p.udp(); u != nil {
			got.n = len(u.Payload)
		}
		// gopacket gives a mapped address's 16 bytes; compare as written.
		if w.src.Addr().Is4In6() {
			got.src = netip.AddrPortFrom(netip.AddrFrom16(got.src.Addr().As16()), got.src.Port())
		}
		if w.dst.Addr().Is4In6() {
			got.dst = netip.AddrPortFrom(netip.AddrFrom16(got.dst.Addr().As16()), got.dst.Port())
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("packet %d: %v, want %v", i+1, got, w)
		}
		if i > 0 && !p.ci.Timestamp.After(ps[i-1].ci.Timestamp) {
			t.Errorf("packet %d: timestamp %v not after %v", i+1, p.ci.Timestamp, ps[i-1].ci.Timestamp)
		}
	}
	data := tcpCheck(t, ps)
	if got := data[flow{peer4, us4}]; !bytes.Equal(got, big) {
		t.Errorf("the peer's %d bytes came back as %d bytes", len(big), len(got))
	}
	if got := string(data[flow{us4, peer4}]); got != "GET" {
		t.Errorf("our bytes came back as %q", got)
	}

	// The secrets block sits between the packets before and after AddSecrets.
	bs, rest := blocks(t, rec.bytes())
	if len(rest) != 0 {
		t.Errorf("%d bytes after the last block", len(rest))
	}
	var types []uint32
	for _, b := range bs {
		types = append(types, b.typ)
		if b.typ == 0x0A {
			if st := binary.LittleEndian.Uint32(b.body); st != 0x544c534b {
				t.Errorf("secrets type %#x", st)
			}
			n := binary.LittleEndian.Uint32(b.body[4:])
			if got := string(b.body[8 : 8+n]); got != keylog {
				t.Errorf("secrets %q", got)
			}
		}
	}
	dsb := slices.Index(types, 0x0A)
	if want := 2 + 20; dsb != want { // section header, interface, 20 packets
		t.Errorf("blocks %x: secrets block at %d, want %d", types, dsb, want)
	}
	// Each Write took whole blocks.
	for i, w := range rec.writes {
		if _, rest := blocks(t, w); len(rest) != 0 {
			t.Errorf("write %d (%d bytes) ends in the middle of a block", i, len(w))
		}
	}
}

// TestOneWay: a long send with no answer is acknowledged by the receiver
// as it goes, never reaching the edge of its window.
func TestOneWay(t *testing.T) {
	for _, outbound := range []bool{true, false} {
		var rec recorder
		f, err := New(&rec)
		if err != nil {
			t.Fatal(err)
		}
		s := f.TCP(us6, peer6, outbound)
		big := bytesOf(20<<20, 9)
		s.Sent(big)
		s.Received(big[:3<<20])
		s.Close()
		ps, _, err := readPackets(t, rec.bytes())
		if err != nil {
			t.Fatal(err)
		}
		data := tcpCheck(t, ps)
		if !bytes.Equal(data[flow{us6, peer6}], big) || !bytes.Equal(data[flow{peer6, us6}], big[:3<<20]) {
			t.Errorf("%d and %d bytes came back", len(data[flow{us6, peer6}]), len(data[flow{peer6, us6}]))
		}
		if outbound {
			file := filepath.Join(t.TempDir(), "oneway.pcapng")
			if err := os.WriteFile(file, rec.bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			noExpertProblems(t, file, 0)
		}
	}
}

// TestHold: while a stream holds, the peer's packets wait for our next
// packet (or Release, or the File's Close) with their own times, and
// secrets go out at once, ahead of them.
func TestHold(t *testing.T) {
	var rec recorder
	f, err := New(&rec)
	if err != nil {
		t.Fatal(err)
	}
	f.Now = clock()
	s := f.TCP(us4, peer4, true) // packets 1-3, at 1, 2, 3 ms
	s.Hold()
	s.Sent([]byte("hello")) // 4 ms: written now
	buf := []byte("server flight")
	s.Received(buf)            // 5 ms: held
	copy(buf, "XXXXXXXXXXXXX") // the caller reuses its buffer
	s.Mark("after the flight") // held: for the packet after the flight
	s.Received([]byte("more")) // 6 ms: held
	n := len(rec.writes)
	f.AddSecrets([]byte(keylog))          // written at once
	f.UDP(us6, peer6, []byte("datagram")) // 7 ms: other packets are not held
	if len(rec.writes) != n+2 {
		t.Fatalf("%d writes while holding, want the secrets and the datagram", len(rec.writes)-n)
	}
	s.Sent([]byte("finished"))   // 8 ms: the held packets first
	s.Received([]byte("ticket")) // 9 ms: held
	s.Release()                  // written now
	s.Received([]byte("data"))   // 10 ms: written at once
	s.Hold()
	s.FinReceived() // 11 ms: held until the File's Close
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ps, _, err := readPackets(t, rec.bytes())
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		From    netip.AddrPort
		Payload string
		Ms      int
		Comment string
	}
	wants := []want{
		{us4, "", 1, ""}, {peer4, "", 2, ""}, {us4, "", 3, ""},
		{us4, "hello", 4, ""},
		{us6, "datagram", 7, ""},
		{peer4, "server flight", 5, ""},
		{peer4, "more", 6, "after the flight"},
		{us4, "finished", 8, ""},
		{peer4, "ticket", 9, ""},
		{peer4, "data", 10, ""},
		{peer4, "", 11, ""}, // the FIN
		{us4, "", 11, ""},   // its ACK
	}
	if len(ps) != len(wants) {
		t.Fatalf("%d packets, want %d", len(ps), len(wants))
	}
	start := ps[0].ci.Timestamp.Add(-time.Millisecond)
	for i, p := range ps {
		var payload []byte
		if tc := p.tcp(); tc != nil {
			payload = tc.Payload
		} else {
			payload = p.udp().Payload
		}
		got := want{p.src(), string(payload), int(p.ci.Timestamp.Sub(start) / time.Millisecond), strings.Join(p.comments, ",")}
		if got != wants[i] {
			t.Errorf("packet %d: %v, want %v", i+1, got, wants[i])
		}
	}
	tcpCheck(t, ps)
	bs, _ := blocks(t, rec.bytes())
	if bs[2+4].typ != 0x0A { // the header's two blocks and four packets before it
		t.Errorf("the secrets are not before the held packets")
	}
}

// TestCommentsCleaned: a comment is valid UTF-8 and fits an option.
func TestCommentsCleaned(t *testing.T) {
	var rec recorder
	f, err := New(&rec)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 40000) // 80000 bytes
	f.Mark("bad \xff byte")
	f.Mark(long)
	f.UDP(us4, peer4, nil)
	ps, _, err := readPackets(t, rec.bytes())
	if err != nil || len(ps) != 1 {
		t.Fatalf("%d packets, %v", len(ps), err)
	}
	c := ps[0].comments
	if len(c) != 2 || c[0] != "bad \uFFFD byte" || c[1] != long[:maxComment] {
		t.Errorf("comments %q...", c)
	}
}

// TestAfterClose: nothing is written after the file's Close, which is
// idempotent.
func TestAfterClose(t *testing.T) {
	var rec recorder
	f, err := New(&rec)
	if err != nil {
		t.Fatal(err)
	}
	s := f.TCP(us4, peer4, true)
	n := len(rec.writes)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s.Sent([]byte("x"))
	s.Received([]byte("x"))
	s.Mark("x")
	s.FinSent()
	s.FinReceived()
	s.Reset(false)
	s.Close()
	f.Mark("x")
	f.UDP(us4, peer4, []byte("x"))
	f.AddSecrets([]byte(keylog))
	f.TCP(us6, peer6, true).Sent([]byte("x"))
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if len(rec.writes) != n {
		t.Errorf("%d writes after Close", len(rec.writes)-n)
	}
}

// TestWriteError: the first write error is Err's, and nothing is written
// after it.
func TestWriteError(t *testing.T) {
	if _, err := New(&failAfter{n: 10}); !errors.Is(err, errDiskFull) {
		t.Errorf("New on a failing writer: %v", err)
	}
	var rec recorder
	if _, err := New(&rec); err != nil {
		t.Fatal(err)
	}
	w := &failAfter{n: len(rec.bytes()) + 100} // the header and one packet
	f, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	s := f.TCP(us4, peer4, true) // the second packet fails
	if !errors.Is(f.Err(), errDiskFull) {
		t.Fatalf("Err() = %v", f.Err())
	}
	calls := w.calls
	s.Sent([]byte("x"))
	f.UDP(us4, peer4, []byte("x"))
	f.AddSecrets([]byte(keylog))
	if w.calls != calls {
		t.Errorf("%d writes after the error", w.calls-calls)
	}
	if err := f.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close() = %v", err)
	}
}

// TestTruncated: a file cut at any byte, as a kill leaves it, reads up to
// its last whole block.
func TestTruncated(t *testing.T) {
	var rec recorder
	f, err := New(&rec)
	if err != nil {
		t.Fatal(err)
	}
	s := f.TCP(us4, peer4, true)
	for i := range 5 {
		s.Sent(bytesOf(10*i+1, byte(i)))
		f.AddSecrets([]byte(keylog))
		s.Mark("mark")
		s.Received(bytesOf(7*i+3, byte(i)))
	}
	f.UDP(us6, peer6, []byte("end"))
	whole := rec.bytes()
	all, _, err := readPackets(t, whole)
	if err != nil {
		t.Fatal(err)
	}
	header := len(rec.writes[0])
	for cut := header; cut <= len(whole); cut++ {
		bs, _ := blocks(t, whole[:cut])
		packets := 0
		for _, b := range bs {
			if b.typ == 6 { // an enhanced packet block
				packets++
			}
		}
		ps, _, err := readPackets(t, whole[:cut])
		if len(ps) != packets {
			t.Fatalf("cut at %d of %d: read %d packets (%v), the whole blocks hold %d", cut, len(whole), len(ps), err, packets)
		}
		for i, p := range ps {
			if !bytes.Equal(p.data, all[i].data) || !slices.Equal(p.comments, all[i].comments) {
				t.Fatalf("cut at %d: packet %d differs", cut, i+1)
			}
		}
	}

	// The same as a real file cut short.
	path := filepath.Join(t.TempDir(), "cut.pcapng")
	cut := len(whole) - 7
	if err := os.WriteFile(path, whole[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err := readPackets(t, b)
	if len(ps) != len(all)-1 || err == nil {
		t.Errorf("cut file: %d packets of %d, %v", len(ps), len(all), err)
	}
}

// TestCreateFlushes: Create's file holds every block as soon as it is
// written, read while the File is open.
func TestCreateFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.pcapng")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := func(wantPackets int) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, rest := blocks(t, b); len(rest) != 0 {
			t.Errorf("%d bytes of a block in the file", len(rest))
		}
		ps, _, err := readPackets(t, b)
		if err != nil || len(ps) != wantPackets {
			t.Errorf("the open file holds %d packets (%v), want %d", len(ps), err, wantPackets)
		}
	}
	check(0)
	s := f.TCP(us4, peer4, false)
	check(3)
	s.Sent(bytesOf(100000, 3))
	check(5)
	f.AddSecrets([]byte(keylog))
	f.UDP(us4, peer4, []byte("x"))
	check(6)
	s.Reset(false)
	check(7)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	check(7)
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "dir.pcapng")); err == nil {
		t.Error("Create in a missing directory: no error")
	}
}

// concurrentFile writes streams streams from as many goroutines, each
// sending and receiving in turn, plus one stream whose sends and reads come
// from two goroutines at once, datagrams and secrets; it returns the file's
// bytes and what each direction carried.
func concurrentFile(t *testing.T, streams int) ([]byte, map[flow][]byte) {
	var buf bytes.Buffer
	f, err := New(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := map[flow][]byte{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range streams {
		local := netip.AddrPortFrom(us4.Addr(), uint16(41000+i))
		if i%2 == 1 {
			local = netip.AddrPortFrom(us6.Addr(), uint16(41000+i))
		}
		remote := netip.AddrPortFrom(local.Addr(), 9000)
		wg.Go(func() {
			s := f.TCP(local, remote, i%3 != 0)
			var sent, got []byte
			for j := range 6 {
				out, in := bytesOf(1+j*997*(i%5+1), byte(i)), bytesOf(3+j*31*i, byte(j))
				s.Sent(out)
				s.Mark(fmt.Sprintf("stream %d step %d", i, j))
				s.Received(in)
				f.UDP(local, remote, []byte("tick"))
				sent, got = append(sent, out...), append(got, in...)
			}
			s.FinReceived()
			s.Close()
			mu.Lock()
			want[flow{local, remote}], want[flow{remote, local}] = sent, got
			mu.Unlock()
		})
	}
	// One stream fed from two goroutines at once, as a connection's reader
	// and writer tasks feed it.
	local, remote := netip.AddrPortFrom(us4.Addr(), 40999), peer4
	s := f.TCP(local, remote, true)
	var sent, got []byte
	var both sync.WaitGroup
	both.Go(func() {
		for j := range 50 {
			p := bytesOf(j*100+1, byte(j))
			s.Sent(p)
			sent = append(sent, p...)
		}
	})
	both.Go(func() {
		for j := range 50 {
			p := bytesOf(j*50+1, byte(j+1))
			switch j % 10 {
			case 0:
				s.Hold()
			case 5:
				s.Release()
			}
			s.Received(p)
			f.AddSecrets([]byte(keylog))
			got = append(got, p...)
		}
	})
	both.Wait()
	s.FinSent()
	s.FinReceived()
	wg.Wait()
	want[flow{local, remote}], want[flow{remote, local}] = sent, got
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), want
}

// TestConcurrent: streams written from many goroutines at once come back
// whole and consistent (run with -race).
func TestConcurrent(t *testing.T) {
	b, want := concurrentFile(t, 50)
	ps, _, err := readPackets(t, b)
	if err != nil {
		t.Fatal(err)
	}
	got := tcpCheck(t, ps)
	for k, w := range want {
		if !bytes.Equal(got[k], w) {
			t.Errorf("%v: %d bytes came back as %d", k, len(w), len(got[k]))
		}
	}
	if _, rest := blocks(t, b); len(rest) != 0 {
		t.Errorf("%d bytes after the last block", len(rest))
	}
}
