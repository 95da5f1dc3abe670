package capture

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// SectionComment is the comment of every file's section header block: the
// packets were built from socket calls, so a reader should not take their
// timing, segmentation or windows for what a wire carried.
const SectionComment = "built from socket calls by wirelab, not captured from an interface"

// maxComment bounds a packet comment: a pcapng option's length is 16 bits
// and the option is padded to 4 bytes.
const maxComment = 65532

// File is one pcapng file. It is safe for use by many goroutines: one mutex
// orders every block, so each stream's packets appear in the order of its
// calls. Every block reaches the underlying writer whole, in one Write.
// After the first write error (Err) or Close, every call is a no-op.
type File struct {
	// Now gives the packets' timestamps; nil means time.Now. Set it before
	// the first packet is written.
	Now func() time.Time

	mu       sync.Mutex
	w        io.Writer
	closer   io.Closer // the os.File of Create; nil for New
	buf      bytes.Buffer
	ng       *pcapgo.NgWriter
	err      error
	closed   bool
	comments []string  // Mark's, for the next packet of the file
	udpID    uint16    // the IPv4 identification of the last datagram
	held     []*Stream // streams holding calls (Stream.Hold), for Close
	at       time.Time // when not zero, the time of the packets being written
}

// Create creates (or truncates) the file at path and writes the section
// header and the interface description. The error is os.Create's, or the
// first write's.
func Create(path string) (*File, error) {
	osf, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	f, err := New(osf)
	if err != nil {
		osf.Close()
		return nil, err
	}
	f.closer = osf
	return f, nil
}

// New starts a pcapng file on w, as Create does on a file: the section
// header and the interface description are written (in one Write) before
// New returns. Close does not close w.
func New(w io.Writer) (*File, error) {
	f := &File{w: w}
	intf := pcapgo.NgInterface{
		Name:        "wirelab",
		Description: "packets built from socket calls",
		OS:          runtime.GOOS,
		LinkType:    layers.LinkTypeRaw,
		SnapLength:  0, // no limit: a packet is written whole (but for UDP past the IP maximum)
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Application: "wirelab",
		OS:          runtime.GOOS,
		Hardware:    runtime.GOARCH,
		Comment:     SectionComment,
	}}
	// The NgWriter writes into f.buf, never straight to w: emit hands w a
	// whole block at a time.
	ng, err := pcapgo.NewNgWriterInterface(&f.buf, intf, opts)
	if err != nil {
		return nil, err
	}
	f.ng = ng
	f.emit(nil)
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

// Close flushes and ends the file (closing it when Create opened it). It is
// idempotent; later calls on the file and its streams write nothing. The
// error is the first write error, or the file's close error.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.err
	}
	// Every block was written as it was made; only what streams held
	// waits.
	for len(f.held) > 0 {
		f.held[0].release()
	}
	f.closed = true
	if f.closer != nil {
		if err := f.closer.Close(); err != nil && f.err == nil {
			f.err = err
		}
	}
	return f.err
}

// Err returns the first write error, or nil. After one, nothing more is
// written.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Mark puts text as a packet comment (opt_comment) on the next packet
// written to the file, whichever stream or datagram it belongs to.
func (f *File) Mark(text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead() {
		return
	}
	f.comments = append(f.comments, cleanComment(text))
}

// AddSecrets writes keylog, TLS key log lines in the NSS format that
// crypto/tls's Config.KeyLogWriter writes, as a Decryption Secrets Block
// (secrets type 0x544c534b), so that Wireshark decrypts the packets written
// after it with no key file of its own. An empty keylog writes nothing.
func (f *File) AddSecrets(keylog []byte) {
	if len(keylog) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead() {
		return
	}
	f.emit(f.ng.WriteDecryptionSecretsBlock(pcapgo.DSB_SECRETS_TYPE_TLS, keylog))
}

// dead reports whether nothing more may be written. f.mu is held.
func (f *File) dead() bool { return f.closed || f.err != nil }

// now is the timestamp of the next packet. f.mu is held.
func (f *File) now() time.Time {
	if !f.at.IsZero() {
		return f.at
	}
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// writePacket writes one enhanced packet block of data, a packet of
// origLen bytes, with the file's pending comments and extra (a stream's).
// f.mu is held.
func (f *File) writePacket(data []byte, origLen int, extra []string) {
	var comments []string
	if len(f.comments) > 0 || len(extra) > 0 {
		comments = append(f.comments, extra...)
		f.comments = nil
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     f.now(),
		CaptureLength: len(data),
		Length:        origLen,
	}
	f.emit(f.ng.WritePacketWithOptions(ci, data, pcapgo.NgPacketOptions{Comments: comments}))
}

// emit hands the block(s) the NgWriter has made to the underlying writer in
// one Write, so that the OS has each block whole or not at all (but for a
// write cut short by the disk, which Err reports). err is the error of
// making the block. f.mu is held.
func (f *File) emit(err error) {
	if err == nil {
		err = f.ng.Flush()
	}
	if err == nil && f.buf.Len() > 0 {
		_, err = f.w.Write(f.buf.Bytes())
	}
	f.buf.Reset()
	if err != nil && f.err == nil {
		f.err = err
	}
}

// cleanComment makes text a valid pcapng comment: UTF-8 (invalid bytes
// become U+FFFD, as Wireshark would show them) and short enough for an
// option's 16-bit length (longer text is cut at a character boundary).
func cleanComment(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if len(text) <= maxComment {
		return text
	}
	cut := maxComment
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}
