package netproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func mustLength(t testing.TB, format string) *Format {
	t.Helper()
	h, err := LengthHeader(format)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// readers wraps a stream the ways bufio's tests do.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"plain", func(r io.Reader) io.Reader { return r }},
	{"onebyte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"dataerr", iotest.DataErrReader},
	{"timeout", iotest.TimeoutReader},
}

func TestFrameRoundTrip(t *testing.T) {
	payloads := [][]byte{nil, []byte("x"), []byte("hello, wire"), bytes.Repeat([]byte{0, 0xff}, 40000)}
	for _, format := range []string{"!I", "i", "<H", ">q", "B"} {
		h := mustLength(t, format)
		var stream bytes.Buffer
		for _, p := range payloads {
			if h.Size() < 8 && len(p) >= 1<<(8*h.Size()-1) {
				continue
			}
			if err := WriteFrame(&stream, h, p); err != nil {
				t.Fatal(err)
			}
		}
		for _, rd := range readers {
			t.Run(format+"/"+rd.name, func(t *testing.T) {
				r := rd.wrap(bytes.NewReader(stream.Bytes()))
				for i, want := range payloads {
					if h.Size() < 8 && len(want) >= 1<<(8*h.Size()-1) {
						continue
					}
					got, err := ReadFrame(r, h, DefaultMaxFrame)
					if errors.Is(err, iotest.ErrTimeout) {
						// TimeoutReader fails its second read; the contract
						// is that the error comes back, not a wrong frame.
						return
					}
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(want))
					}
				}
				if _, err := ReadFrame(r, h, DefaultMaxFrame); err != io.EOF {
					t.Fatalf("after the last frame: %v, want io.EOF", err)
				}
			})
		}
	}
}

// TestFrameRandomSplits feeds frames through a pipe in random pieces.
func TestFrameRandomSplits(t *testing.T) {
	h := mustLength(t, "!I")
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want [][]byte
	for i := 0; i < 200; i++ {
		p := make([]byte, rng.IntN(3000))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		want = append(want, p)
		stream, _ = AppendFrame(stream, h, p)
	}
	pr, pw := io.Pipe()
	go func() {
		s := stream
		for len(s) > 0 {
			n := min(len(s), 1+rng.IntN(700))
			pw.Write(s[:n])
			s = s[n:]
		}
		pw.Close()
	}()
	for i, w := range want {
		got, err := ReadFrame(pr, h, DefaultMaxFrame)
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("frame %d: err %v, equal %v", i, err, bytes.Equal(got, w))
		}
	}
}

// countingReader records how many bytes were taken from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestFrameBadLengths(t *testing.T) {
	tail := strings.Repeat("z", 100)
	cases := []struct {
		name   string
		format string
		header []byte
		max    int64
		want   error
	}{
		{"negative i", "i", binary.LittleEndian.AppendUint32(nil, 0xffffffff), DefaultMaxFrame, ErrBadLength},
		{"min int32", "i", binary.LittleEndian.AppendUint32(nil, 0x80000000), DefaultMaxFrame, ErrBadLength},
		{"over default", "!I", binary.BigEndian.AppendUint32(nil, DefaultMaxFrame+1), DefaultMaxFrame, ErrFrameTooLarge},
		{"huge unsigned", "!I", binary.BigEndian.AppendUint32(nil, 0xffffffff), DefaultMaxFrame, ErrFrameTooLarge},
		{"huge Q", ">Q", binary.BigEndian.AppendUint64(nil, 1<<63+5), DefaultMaxFrame, ErrFrameTooLarge},
		{"negative q", "<q", binary.LittleEndian.AppendUint64(nil, 1<<63), DefaultMaxFrame, ErrBadLength},
		{"custom limit", "!I", binary.BigEndian.AppendUint32(nil, 11), 10, ErrFrameTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := &countingReader{r: io.MultiReader(bytes.NewReader(c.header), strings.NewReader(tail))}
			got, err := ReadFrame(cr, mustLength(t, c.format), c.max)
			if !errors.Is(err, c.want) || got != nil {
				t.Fatalf("ReadFrame = %q, %v; want nil, %v", got, err, c.want)
			}
			if cr.n != len(c.header) {
				t.Fatalf("read %d bytes, want only the %d-byte header", cr.n, len(c.header))
			}
		})
	}
}

func TestFramePartial(t *testing.T) {
	h := mustLength(t, "!I")
	full, _ := AppendFrame(nil, h, []byte("0123456789"))
	for cut := 1; cut < len(full); cut++ {
		got, err := ReadFrame(iotest.OneByteReader(bytes.NewReader(full[:cut])), h, DefaultMaxFrame)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: err %v, want io.ErrUnexpectedEOF", cut, err)
		}
		if cut > 4 && string(got) != "0123456789"[:cut-4] {
			t.Fatalf("cut at %d: partial %q", cut, got)
		}
	}
	// A promise of 10 MB followed by 3 bytes must not commit 10 MB.
	big := binary.BigEndian.AppendUint32(nil, 10<<20)
	got, err := ReadFrame(bytes.NewReader(append(big, "abc"...)), h, DefaultMaxFrame)
	if err != io.ErrUnexpectedEOF || string(got) != "abc" || cap(got) > 2*growStep {
		t.Fatalf("got %q (cap %d), %v", got, cap(got), err)
	}
}

func TestLengthHeaderRefusesNonIntegers(t *testing.T) {
	for _, f := range []string{"", "ii", "d", "4s", "?", "zz"} {
		if _, err := LengthHeader(f); err == nil {
			t.Errorf("LengthHeader(%q) accepted", f)
		}
	}
	if _, err := AppendLength(nil, mustLength(t, "B"), 256); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("256 in B: %v", err)
	}
}

// ratio times fn and native b.N times each, alternating halves, and
// reports fn's speed as a fraction of native's (1.0: as fast).
func ratio(b *testing.B, fn, native func()) {
	var tw, tn time.Duration
	for half := 0; half < 2; half++ {
		start := time.Now()
		for i := 0; i < b.N/2+1; i++ {
			fn()
		}
		tw += time.Since(start)
		start = time.Now()
		for i := 0; i < b.N/2+1; i++ {
			native()
		}
		tn += time.Since(start)
	}
	b.ReportMetric(float64(tn)/float64(tw), "wirelab/native")
}

// BenchmarkFrameEncode packs a 512-byte frame with AppendFrame, against
// binary.BigEndian and append by hand.
func BenchmarkFrameEncode(b *testing.B) {
	h := mustLength(b, "!I")
	payload := make([]byte, 512)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(payload)))
	ratio(b, func() {
		buf, _ = AppendFrame(buf[:0], h, payload)
	}, func() {
		buf = binary.BigEndian.AppendUint32(buf[:0], uint32(len(payload)))
		buf = append(buf, payload...)
	})
}

// BenchmarkFrameDecode reads a 512-byte frame with ReadFrame, against
// io.ReadFull of a header and a payload by hand.
func BenchmarkFrameDecode(b *testing.B) {
	h := mustLength(b, "!I")
	frame, _ := AppendFrame(nil, h, make([]byte, 512))
	r := bytes.NewReader(frame)
	var hdr [4]byte
	b.SetBytes(512)
	ratio(b, func() {
		r.Reset(frame)
		if _, err := ReadFrame(r, h, DefaultMaxFrame); err != nil {
			b.Fatal(err)
		}
	}, func() {
		r.Reset(frame)
		io.ReadFull(r, hdr[:])
		p := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, p); err != nil {
			b.Fatal(err)
		}
	})
}

// TestLengthErrorByteOrderHint checks the learner's hint: a length refused
// in the header's byte order but fitting in the other names both readings
// and the formats the peer likely packs, and a length that fits neither way
// is the bare reason, which scripts compare against.
func TestLengthErrorByteOrderHint(t *testing.T) {
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cases := []struct {
		name, format string
		header       []byte
		max          int64
		want         error
		msg          string
	}{
		{"python i to !I", "!I", le32(5), DefaultMaxFrame, ErrFrameTooLarge,
			`frame too large (length 83886080 as big-endian "!I"; read as little-endian it is 5: does the peer use "<I" or "i"?)`},
		{"python i to !i, negative", "!i", le32(200), DefaultMaxFrame, ErrBadLength,
			`bad length (length -939524096 as big-endian "!i"; read as little-endian it is 200: does the peer use "<i" or "i"?)`},
		{"network order to i", "i", be32(5), DefaultMaxFrame, ErrFrameTooLarge,
			`frame too large (length 83886080 as little-endian "i"; read as big-endian it is 5: does the peer use "!i" or ">i"?)`},
		{"short H", "!H", binary.LittleEndian.AppendUint16(nil, 3), 10, ErrFrameTooLarge,
			`frame too large (length 768 as big-endian "!H"; read as little-endian it is 3: does the peer use "<H" or "h"?)`},
		{"no hint both ways too large", "!I", be32(0xffffffff), DefaultMaxFrame, ErrFrameTooLarge, "frame too large"},
		{"no hint one byte", "B", []byte{200}, 10, ErrFrameTooLarge, "frame too large"},
		{"no hint negative both ways", "i", le32(0xffffffff), DefaultMaxFrame, ErrBadLength, "bad length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(c.header), mustLength(t, c.format), c.max)
			if !errors.Is(err, c.want) || err.Error() != c.msg {
				t.Fatalf("err %v\nwant %v with message\n%s", err, c.want, c.msg)
			}
		})
	}
	// A JSON message's prefix: the same hint under its own reason.
	m := &Msg{Length: mustLength(t, "!I"), MaxHeader: 1024, MaxBody: 1 << 20}
	_, _, err := m.ReadHeader(bytes.NewReader(le32(20)))
	want := `header too large (length 335544320 as big-endian "!I"; read as little-endian it is 20: does the peer use "<I" or "i"?)`
	if !errors.Is(err, ErrHeaderTooLarge) || err.Error() != want {
		t.Fatalf("ReadHeader: %v, want %s", err, want)
	}
}
