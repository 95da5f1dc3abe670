package netproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func docMsg(t testing.TB) *Msg {
	return &Msg{Length: mustLength(t, "i"), SizeKey: SizeKey, MaxHeader: DefaultMaxHeader, MaxBody: 1 << 30}
}

// TestMsgDocumentBytes checks the exact bytes the tutorials' server sends:
// struct.pack('i', len(h)) + h.
func TestMsgDocumentBytes(t *testing.T) {
	m := docMsg(t)
	h := []byte(`{"filename": "a.txt", "total_size": 5}`)
	var buf bytes.Buffer
	if err := m.WriteHeader(&buf, h); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("hello")
	want := append(binary.LittleEndian.AppendUint32(nil, uint32(len(h))), h...)
	want = append(want, "hello"...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("% x\nwant % x", buf.Bytes(), want)
	}
	for _, rd := range readers[:3] {
		r := rd.wrap(bytes.NewReader(buf.Bytes()))
		raw, size, err := m.ReadHeader(r)
		if err != nil || size != 5 || !bytes.Equal(raw, h) {
			t.Fatalf("%s: %q %d %v", rd.name, raw, size, err)
		}
		body, err := io.ReadAll(r)
		if err != nil || string(body) != "hello" {
			t.Fatalf("%s: body %q %v", rd.name, body, err)
		}
	}
}

func TestMsgBadHeaders(t *testing.T) {
	cases := map[string]string{
		"array":           `[1,2]`,
		"string":          `"total_size"`,
		"null":            `null`,
		"no size":         `{"x": 1}`,
		"negative":        `{"total_size": -1}`,
		"fractional":      `{"total_size": 2.5}`,
		"huge":            `{"total_size": 1e300}`,
		"huge exponent":   `{"total_size": 1e999999999}`,
		"over limit":      `{"total_size": 1073741825}`,
		"beyond int64":    `{"total_size": 99999999999999999999999}`,
		"string size":     `{"total_size": "5"}`,
		"two objects":     `{"total_size": 1}{"total_size": 2}`,
		"truncated json":  `{"total_size": 1`,
		"not json at all": "\xff\xfe",
	}
	m := docMsg(t)
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			m.WriteHeader(&buf, []byte(h))
			_, _, err := m.ReadHeader(&buf)
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("err %v, want ErrBadHeader", err)
			}
		})
	}
	for _, ok := range []string{`{"total_size": 0}`, `{"total_size": 1e3}`, `{"total_size": 7.0, "x": [1]}`} {
		if _, err := ParseSize([]byte(ok), SizeKey, 1<<30); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestMsgHeaderLimits(t *testing.T) {
	m := docMsg(t)
	m.MaxHeader = 100
	var buf bytes.Buffer
	m.Length.size = 4
	buf.Write(binary.LittleEndian.AppendUint32(nil, 101))
	buf.WriteString(strings.Repeat(" ", 101))
	if _, _, err := m.ReadHeader(&buf); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("err %v, want ErrHeaderTooLarge", err)
	}
	if buf.Len() != 101 {
		t.Fatalf("read %d bytes past the prefix", 101-buf.Len())
	}
	neg := binary.LittleEndian.AppendUint32(nil, 0xfffffff0)
	if _, _, err := m.ReadHeader(bytes.NewReader(neg)); !errors.Is(err, ErrBadLength) {
		t.Fatalf("negative prefix: %v", err)
	}
	if _, _, err := m.ReadHeader(iotest.OneByteReader(bytes.NewReader(neg[:2]))); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut prefix: %v", err)
	}
}
