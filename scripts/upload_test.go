package scripts_test

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/wirelab/wirelab/internal/testbin"
)

func randomFile(t *testing.T, path string, size int) string {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

func md5File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// docUpload is the documents' upload client, in Go: struct.pack('i',
// len(h)) + h, h = {"opt","filename","filesize"}, then the bytes.
func docUpload(c net.Conn, header map[string]any, body []byte) {
	h, _ := json.Marshal(header)
	c.Write(append(docFrame(h), body...))
}

func readReply(t *testing.T, c net.Conn) map[string]any {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var reply map[string]any
	if err := json.Unmarshal(readDocFrame(t, c), &reply); err != nil {
		t.Fatal(err)
	}
	return reply
}

// expectClosed checks that the server closed c without sending more.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection still open (read %d bytes)", n)
	}
}

func TestUploadFromDocumentClient(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store)
	src := filepath.Join(t.TempDir(), "data.bin")
	sum := randomFile(t, src, 3<<20+17)
	body, _ := os.ReadFile(src)
	c := dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "data.bin", "filesize": len(body)}, body)
	// the documents' client expects no answer; the file appears whole
	testbin.WaitFor(t, 10*time.Second, "data.bin in the store", func() bool { return listDir(t, store) == "data.bin" })
	if got := md5File(t, filepath.Join(store, "data.bin")); got != sum {
		t.Fatalf("stored md5 %s, sent %s", got, sum)
	}
	// a second upload of the same name keeps both
	docUpload(c, map[string]any{"opt": "upload", "filename": "data.bin", "filesize": 5, "md5": "5d41402abc4b2a76b9719d911017c592"}, []byte("hello"))
	reply := readReply(t, c)
	if reply["ok"] != true || reply["filename"] != "data.bin.1" || reply["md5"] != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("reply %v", reply)
	}
	if listDir(t, store) != "data.bin,data.bin.1" || md5File(t, filepath.Join(store, "data.bin")) != sum {
		t.Fatalf("store %s", listDir(t, store))
	}
}

// TestUploadClientPutGet puts a file twice and gets it twice, with each
// digest --hash offers: the default, blake3, and md5 as older wirelabs
// used; each line names the digest, which is that of the file.
func TestUploadClientPutGet(t *testing.T) {
	for _, tc := range []struct {
		algo string
		flag []string
	}{
		{"blake3", nil},
		{"sha256", []string{"--hash", "sha256"}},
		{"md5", []string{"--hash", "md5"}},
	} {
		t.Run(tc.algo, func(t *testing.T) {
			store, work, downloads := t.TempDir(), t.TempDir(), t.TempDir()
			s := startServer(t, store, "upload_server", "--dir", store)
			src := filepath.Join(work, "big.bin")
			sum := randomFile(t, src, 5<<20+3)
			digest := fileDigest(t, tc.algo, src)
			port := strconv.Itoa(s.port)
			out, errs, code := runClient(t, work, "upload_client", "put "+src+"\nput "+src+"\nget big.bin\nget big.bin\n",
				append([]string{"--port", port, "--dir", downloads}, tc.flag...)...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
			}
			want := []string{
				fmt.Sprintf("uploaded %s as big.bin (%d bytes, %s %s)", src, 5<<20+3, tc.algo, digest),
				fmt.Sprintf("uploaded %s as big.bin.1 (%d bytes, %s %s)", src, 5<<20+3, tc.algo, digest),
				fmt.Sprintf("downloaded big.bin as big.bin (%d bytes, %s %s)", 5<<20+3, tc.algo, digest),
				fmt.Sprintf("downloaded big.bin as big.bin.1 (%d bytes, %s %s)", 5<<20+3, tc.algo, digest),
			}
			if out != strings.Join(want, "\n")+"\n" {
				t.Fatalf("stdout:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
			}
			for _, p := range []string{filepath.Join(store, "big.bin"), filepath.Join(store, "big.bin.1"), filepath.Join(downloads, "big.bin"), filepath.Join(downloads, "big.bin.1")} {
				if md5File(t, p) != sum {
					t.Fatalf("%s differs", p)
				}
			}
			waitOutput(t, s.stderr, fmt.Sprintf(`stored "big.bin.1" (%d bytes, %s %s)`+"\n", 5<<20+3, tc.algo, digest))
			// a missing file and a name that is not plain
			out, errs, code = runClient(t, work, "upload_client", "get nothing-here\nget ../etc\nput /definitely/missing\n",
				append([]string{"--port", port, "--dir", downloads}, tc.flag...)...)
			if code != 1 || out != "" || !strings.Contains(errs, "get nothing-here: ") || !strings.Contains(errs, "get ../etc: bad file name") || !strings.Contains(errs, "put /definitely/missing:") {
				t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
			}
		})
	}
	// A digest --hash does not offer is a usage error, before connecting.
	_, errs, code := runClient(t, t.TempDir(), "upload_client", "", "--port", "1", "--hash", "xxh3")
	if code != 2 || errs != "--hash must be blake3, sha256 or md5, not xxh3\n" {
		t.Fatalf("--hash xxh3: exit %d stderr %q", code, errs)
	}
}

// fileDigest is the hex digest of a file with algo: md5, sha256 or blake3.
func fileDigest(t *testing.T, algo, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sum []byte
	switch algo {
	case "md5":
		s := md5.Sum(data)
		sum = s[:]
	case "sha256":
		s := sha256.Sum256(data)
		sum = s[:]
	case "blake3":
		s := blake3.Sum256(data)
		sum = s[:]
	default:
		t.Fatalf("no digest %s", algo)
	}
	return hex.EncodeToString(sum)
}

func TestUploadRefusesBadInput(t *testing.T) {
	testbin.SkipWindows(t, "symlinks in the store, which Windows makes only with a privilege")
	store := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(store, "link"))
	os.Symlink(outside, filepath.Join(store, "dirlink"))
	s := startServer(t, store, "upload_server", "--dir", store, "--max-size", "1000000")
	md5hello := "5d41402abc4b2a76b9719d911017c592"

	for _, name := range []any{"", ".", "..", "../escape", "a/b", "/etc/passwd", `a\b`, "dirlink/x", 42, nil,
		"two\nlines", "bell\a", "esc\x1b[31m", "nul\x00", "del\x7f", "c1\u0085", "bad\xffutf8"} {
		c := dial(t, s.port)
		docUpload(c, map[string]any{"opt": "upload", "filename": name, "filesize": 5, "md5": md5hello}, []byte("hello"))
		if reply := readReply(t, c); reply["ok"] != false || !strings.Contains(fmt.Sprint(reply["error"]), "bad file name") {
			t.Fatalf("name %q: reply %v", name, reply)
		}
		expectClosed(t, c)
	}
	for _, size := range []any{-1, 2.5, "5", nil, 1000001, 1e300} {
		c := dial(t, s.port)
		docUpload(c, map[string]any{"opt": "upload", "filename": "x.bin", "filesize": size, "md5": md5hello}, []byte("hello"))
		if reply := readReply(t, c); reply["ok"] != false {
			t.Fatalf("filesize %v: reply %v", size, reply)
		}
		expectClosed(t, c)
	}
	// malformed headers: a clear error, then the connection closes
	for name, raw := range map[string][]byte{
		"negative length": {0xff, 0xff, 0xff, 0xff},
		"huge length":     {0xff, 0xff, 0xff, 0x7f},
		"not an object":   docFrame([]byte(`["upload"]`)),
		"not json":        docFrame([]byte(`{upload`)),
	} {
		c := dial(t, s.port)
		c.Write(raw)
		if reply := readReply(t, c); reply["ok"] != false || reply["error"] == "" {
			t.Fatalf("%s: reply %v", name, reply)
		}
		expectClosed(t, c)
	}
	// a wrong md5 keeps nothing
	c := dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "bad.txt", "filesize": 5, "md5": strings.Repeat("0", 32)}, []byte("hello"))
	if reply := readReply(t, c); reply["ok"] != false || reply["error"] != "checksum mismatch" {
		t.Fatalf("wrong md5: %v", reply)
	}
	// half an upload, then the client vanishes: nothing is left behind
	c = dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "half.bin", "filesize": 900000}, bytes.Repeat([]byte("z"), 100000))
	c.Close()
	// an upload to a symlink's name is stored beside it, never through it
	c = dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "link", "filesize": 5, "md5": md5hello}, []byte("hello"))
	if reply := readReply(t, c); reply["ok"] != true || reply["filename"] != "link.1" {
		t.Fatalf("upload to link: %v", reply)
	}
	// a download through a symlink out of the store is refused
	docUpload(c, map[string]any{"opt": "download", "filename": "link", "filesize": nil}, nil)
	if reply := readReply(t, c); reply["ok"] != false {
		t.Fatalf("download through a link: %v", reply)
	}
	// The half upload's end, logged once its partial file is removed.
	waitOutput(t, s.stderr, `upload of "half.bin" failed`)
	if got := listDir(t, store); got != "dirlink,link,link.1" {
		t.Fatalf("store holds %s", got)
	}
	if data, _ := os.ReadFile(filepath.Join(outside, "secret")); string(data) != "secret" || listDir(t, outside) != "secret" {
		t.Fatal("something was written outside the store")
	}
	// and the server still serves
	c = dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "ok.txt", "filesize": 5, "md5": md5hello}, []byte("hello"))
	if reply := readReply(t, c); reply["ok"] != true {
		t.Fatalf("after all that: %v", reply)
	}
}

// TestUploadClientRefusesWrongReply serves `get` from a Go server that
// answers with another file's name, or a wrong md5.
func TestUploadClientRefusesWrongReply(t *testing.T) {
	for _, tc := range []struct{ name, reply, want string }{
		{"other name", `{"ok": true, "filename": "evil.sh", "filesize": 5, "md5": "5d41402abc4b2a76b9719d911017c592"}`, "not want.txt"},
		{"wrong md5", `{"ok": true, "filename": "want.txt", "filesize": 5, "md5": "00000000000000000000000000000000"}`, "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := serveOnce(t, func(c net.Conn) {
				var hdr [4]byte
				io.ReadFull(c, hdr[:])
				io.ReadFull(c, make([]byte, binary.LittleEndian.Uint32(hdr[:])))
				c.Write(append(docFrame([]byte(tc.reply)), "hello"...))
				io.Copy(io.Discard, c)
			})
			downloads := t.TempDir()
			_, errs, code := runClient(t, t.TempDir(), "upload_client", "get want.txt\n", "--port", port, "--dir", downloads)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d stderr %q", code, errs)
			}
			if got := listDir(t, downloads); got != "" {
				t.Fatalf("kept %s", got)
			}
		})
	}
}

// TestUploadStoreEdges: a FIFO in the store is refused without pinning the
// server, a failed download does not tell the server's paths, and the
// partial files a killed server left in .wirelab-partial are cleaned at
// start, while files of the store itself that only look like partial files
// are not touched.
func TestUploadStoreEdges(t *testing.T) {
	store := t.TempDir()
	refusals := map[string]string{"fifo": "not a regular file", "missing.txt": "no such file"}
	if runtime.GOOS == "windows" {
		delete(refusals, "fifo") // Windows has no FIFOs in a directory
	} else if err := mkfifo(filepath.Join(store, "fifo")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(store, ".wirelab-partial"), 0o700)
	stale := filepath.Join(store, ".wirelab-partial", "big.iso.part-0123456789ab")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.WriteFile(filepath.Join(store, ".big.iso.part-0123456789ab"), []byte("kept"), 0o600)
	s := startServer(t, store, "upload_server", "--dir", store)
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("a stale partial file was kept")
	}
	waitOutput(t, s.stderr, "removed 1 partial upload")
	for name, want := range refusals {
		c := dial(t, s.port)
		docUpload(c, map[string]any{"opt": "download", "filename": name}, nil)
		reply := readReply(t, c)
		if reply["ok"] != false || reply["error"] != want || strings.Contains(fmt.Sprint(reply), store) {
			t.Fatalf("%s: %v", name, reply)
		}
	}
	c := dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "ok.txt", "filesize": 5, "md5": "5d41402abc4b2a76b9719d911017c592"}, []byte("hello"))
	if reply := readReply(t, c); reply["ok"] != true {
		t.Fatalf("after the fifo: %v", reply)
	}
	want := ".big.iso.part-0123456789ab,fifo,ok.txt"
	if runtime.GOOS == "windows" {
		want = ".big.iso.part-0123456789ab,ok.txt"
	}
	if got := listDir(t, store); got != want {
		t.Fatalf("store holds %s", got)
	}
}

// uploadAfter uploads body as name with "md5": "after" and confirms it, as
// upload_client does, and returns the final reply.
func uploadAfter(t *testing.T, port int, name string, body []byte) map[string]any {
	t.Helper()
	c := dial(t, port)
	defer c.Close()
	docUpload(c, map[string]any{"opt": "upload", "filename": name, "filesize": len(body), "md5": "after"}, body)
	reply := readReply(t, c)
	if reply["ok"] != true {
		return reply
	}
	h, _ := json.Marshal(map[string]any{"opt": "confirm", "md5": reply["md5"]})
	c.Write(docFrame(h))
	return readReply(t, c)
}

// TestUploadNamedLikePartialSurvivesRestart: issue 18's first finding. An
// upload named as the old partial files were named is stored, confirmed,
// and still there, whole, after the server is started again; the store's
// own partial directory cannot be uploaded to or over.
func TestUploadNamedLikePartialSurvivesRestart(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store)
	const name = ".wc.txt.part-0123456789ab"
	if reply := uploadAfter(t, s.port, name, []byte("hello")); reply["ok"] != true || reply["filename"] != name {
		t.Fatalf("upload: %v", reply)
	}
	testbin.Stop(s.cmd.Process)
	s.cmd.Wait()
	s = startServer(t, store, "upload_server", "--dir", store)
	c := dial(t, s.port) // served: the start, cleaning included, is over
	docUpload(c, map[string]any{"opt": "download", "filename": name}, nil)
	if reply := readReply(t, c); reply["ok"] != true || reply["filesize"] != 5.0 {
		t.Fatalf("download after the restart: %v", reply)
	}
	if strings.Contains(s.stderr.String(), "removed") {
		t.Fatalf("the restart removed something: %q", s.stderr.String())
	}
	if data, err := os.ReadFile(filepath.Join(store, name)); string(data) != "hello" || listDir(t, store) != name {
		t.Fatalf("%q %v; store holds %s", data, err, listDir(t, store))
	}
	for _, bad := range []string{".wirelab-partial", ".WIRELAB-PARTIAL"} {
		reply := uploadAfter(t, s.port, bad, []byte("hello"))
		if reply["ok"] != false || reply["error"] != "bad file name (reserved for partial files)" {
			t.Fatalf("%s: %v", bad, reply)
		}
	}
}

// TestUploadLogOneLinePerEvent: issue 18's second finding. A name holding a
// newline, a fake log line after it, is refused, and the log gets one line
// for it, the name escaped; bidirectional and format characters and the
// names Windows reserves are refused with the rule they break, and leave
// no file.
func TestUploadLogOneLinePerEvent(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store)
	md5hello := "5d41402abc4b2a76b9719d911017c592"
	forged := "x\nstored \"evil.txt\" (5 bytes, md5 " + md5hello + ")"
	for name, rule := range map[string]string{
		forged:                 "control or format character U+000A",
		"cr\rhidden":           "control or format character U+000D",
		"invoice\u202Efdp.exe": "control or format character U+202E",
		"\uFEFFbom.txt":        "control or format character U+FEFF",
		"CON":                  "reserved on Windows",
		"nul.txt":              "reserved on Windows",
		"Com1.log":             "reserved on Windows",
		"LPT9":                 "reserved on Windows",
		"aux.tar.gz":           "reserved on Windows",
		"dot.":                 "ends in a dot or a space",
		"space ":               "ends in a dot or a space",
	} {
		before := strings.Count(s.stderr.String(), "\n")
		c := dial(t, s.port)
		docUpload(c, map[string]any{"opt": "upload", "filename": name, "filesize": 5, "md5": md5hello}, []byte("hello"))
		reply := readReply(t, c)
		expectClosed(t, c)
		testbin.WaitFor(t, 10*time.Second, "the refusal in the log", func() bool {
			out := s.stderr.String()
			return strings.Count(out, "\n") > before && strings.HasSuffix(out, "\n")
		})
		if got := strings.Count(s.stderr.String(), "\n"); got != before+1 {
			t.Fatalf("%q: %d log lines, not one: %q", name, got-before, s.stderr.String())
		}
		if want := "upload of " + strconv.Quote(name) + " failed: bad file name (" + rule + ")\n"; !strings.HasSuffix(s.stderr.String(), want) {
			t.Fatalf("%q: the log ends %q, want %q", name, s.stderr.String(), want)
		}
		if reply["ok"] != false || reply["error"] != "bad file name ("+rule+")" {
			t.Fatalf("%q: reply %v", name, reply)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(s.stderr.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "upload of \"") {
			t.Fatalf("a forged line: %q", line)
		}
	}
	if got := listDir(t, store); got != "" {
		t.Fatalf("store holds %s", got)
	}
	// A name the rules accept is logged quoted too, UTF-8 kept readable.
	if reply := uploadAfter(t, s.port, "报告 'final'.txt", []byte("hello")); reply["ok"] != true {
		t.Fatalf("a plain name: %v", reply)
	}
	waitOutput(t, s.stderr, `stored "报告 'final'.txt" (5 bytes, md5 `+md5hello+")\n")
}

// TestUploadConfirmTimeout: issue 18's eighth finding, first part. A 100
// MiB upload whose confirmation never comes is dropped once
// --confirm-timeout passes, not the idle timeout: the server says so in
// its log and to the client, and leaves nothing in the store.
func TestUploadConfirmTimeout(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store, "--confirm-timeout", "1")
	body := make([]byte, 100<<20)
	rand.Read(body)
	c := dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "big.bin", "filesize": len(body), "md5": "after"}, body)
	// The bytes are on disk and synced when the server asks for the
	// confirmation, which never comes.
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	var reply map[string]any
	if err := json.Unmarshal(readDocFrame(t, c), &reply); err != nil || reply["ok"] != true {
		t.Fatalf("first reply %v %v", reply, err)
	}
	asked := time.Now()
	waitOutput(t, s.stderr, `upload of "big.bin" failed: no confirmation within 1 s`+"\n")
	t.Logf("dropped %v after asking for the confirmation", time.Since(asked).Round(time.Millisecond)) // a measure, not a test
	if got := listDir(t, store); got != "" {
		t.Fatalf("store holds %s once the upload was dropped", got)
	}
	if reply := readReply(t, c); reply["ok"] != false || reply["error"] != "no confirmation within 1 s" {
		t.Fatalf("reply %v", reply)
	}
	expectClosed(t, c)
	// Bad limits are usage errors.
	for _, bad := range [][]string{{"--confirm-timeout", "0"}, {"--max-store", "-1"}, {"--max-store", "1.5"}} {
		_, errs, code := runClient(t, store, "upload_server", "", append([]string{"--port", "0", "--dir", store}, bad...)...)
		if code != 2 || !strings.Contains(errs, bad[0]+" must be") {
			t.Fatalf("%v: exit %d stderr %q", bad, code, errs)
		}
	}
}

// TestUploadRefusedBeforeWriting: issue 18's eighth finding, second part.
// An upload that would take the store past --max-store, or that the disk
// has no room for, is refused with a clear reply on its header alone,
// before any byte of it is sent, so no partial file ever appears.
func TestUploadRefusedBeforeWriting(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store, "--max-store", "1000", "--max-size", "1e18")
	if reply := uploadAfter(t, s.port, "first.bin", make([]byte, 600)); reply["ok"] != true {
		t.Fatalf("first: %v", reply)
	}
	for _, tc := range []struct {
		size float64
		want string
	}{
		{401, "store full (limit 1000 bytes)"},
		{1 << 59, "not enough space on the server"},
	} {
		c := dial(t, s.port)
		docUpload(c, map[string]any{"opt": "upload", "filename": "second.bin", "filesize": tc.size, "md5": "after"}, nil)
		if reply := readReply(t, c); reply["ok"] != false || reply["error"] != tc.want {
			t.Fatalf("%v bytes: %v", tc.size, reply)
		}
		expectClosed(t, c)
		if got := listDir(t, store); got != "first.bin" {
			t.Fatalf("store holds %s", got)
		}
	}
	waitOutput(t, s.stderr, `upload of "second.bin" failed: store full`+"\n")
	waitOutput(t, s.stderr, `upload of "second.bin" failed: not enough space`+"\n")
	// What fits still goes in, to the byte.
	if reply := uploadAfter(t, s.port, "last.bin", make([]byte, 400)); reply["ok"] != true {
		t.Fatalf("last: %v", reply)
	}
}

// TestUploadDigestAfter speaks the "md5": "after" extension by hand: the
// server answers with the md5 of what it stored, and links the file only
// when the client's own md5 follows and agrees; a wrong one or none keeps
// nothing.
func TestUploadDigestAfter(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store)
	md5hello := "5d41402abc4b2a76b9719d911017c592"
	upload := func(name string) net.Conn {
		c := dial(t, s.port)
		docUpload(c, map[string]any{"opt": "upload", "filename": name, "filesize": 5, "md5": "after"}, []byte("hello"))
		if reply := readReply(t, c); reply["ok"] != true || reply["md5"] != md5hello || reply["filename"] != nil {
			t.Fatalf("first reply %v", reply)
		}
		if got := listDir(t, store); strings.Contains(","+got+",", ","+name+",") {
			t.Fatalf("%s linked before the client confirmed: %s", name, got)
		}
		return c
	}
	confirm := func(c net.Conn, h map[string]any) {
		b, _ := json.Marshal(h)
		c.Write(docFrame(b))
	}

	c := upload("a.txt")
	confirm(c, map[string]any{"opt": "confirm", "md5": strings.ToUpper(md5hello)})
	if reply := readReply(t, c); reply["ok"] != true || reply["filename"] != "a.txt" || reply["md5"] != md5hello {
		t.Fatalf("final reply %v", reply)
	}
	// the connection goes on serving
	c2 := c
	docUpload(c2, map[string]any{"opt": "upload", "filename": "a.txt", "filesize": 5, "md5": "after"}, []byte("hello"))
	readReply(t, c2)
	confirm(c2, map[string]any{"opt": "confirm", "md5": md5hello})
	if reply := readReply(t, c2); reply["ok"] != true || reply["filename"] != "a.txt.1" {
		t.Fatalf("second upload: %v", reply)
	}

	for name, h := range map[string]map[string]any{
		"wrong md5": {"opt": "confirm", "md5": strings.Repeat("0", 32)},
		"no opt":    {"md5": md5hello},
		"not a str": {"opt": "confirm", "md5": 42},
	} {
		c := upload("b.txt")
		confirm(c, h)
		if reply := readReply(t, c); reply["ok"] != false || reply["error"] != "checksum mismatch" {
			t.Fatalf("%s: %v", name, reply)
		}
		expectClosed(t, c)
	}
	c = upload("c.txt")
	c.Close()                                           // gone before confirming
	waitOutput(t, s.stderr, `upload of "c.txt" failed`) // logged once the file is dropped
	if got := listDir(t, store); got != "a.txt,a.txt.1" {
		t.Fatalf("store holds %s", got)
	}
}

// TestUploadClientWithDocumentServer: upload_client's request is the
// documents' one, so a server written from them (it reads the header,
// then exactly filesize bytes, 1024 at a time, and answers nothing)
// stores the file whole; the client sends nothing more before an answer,
// and says that the upload was not confirmed.
func TestUploadClientWithDocumentServer(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "doc.bin")
	sum := randomFile(t, src, 1<<20+5)
	type stored struct {
		header map[string]any
		sum    string
		extra  int
	}
	got := make(chan stored, 1)
	port := serveOnce(t, func(c net.Conn) {
		var st stored
		defer func() { got <- st }()
		var n [4]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		h := make([]byte, int32(binary.LittleEndian.Uint32(n[:])))
		if _, err := io.ReadFull(c, h); err != nil || json.Unmarshal(h, &st.header) != nil {
			return
		}
		size, _ := st.header["filesize"].(float64)
		var body bytes.Buffer
		buf := make([]byte, 1024)
		for left := int(size); left > 0; {
			m, err := c.Read(buf[:min(len(buf), left)])
			body.Write(buf[:m])
			left -= m
			if err != nil {
				return
			}
		}
		s := md5.Sum(body.Bytes())
		st.sum = hex.EncodeToString(s[:])
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		st.extra, _ = c.Read(buf)
	})
	_, errs, code := runClient(t, work, "upload_client", "put "+src+"\n", "--port", port)
	st := <-got
	if st.header["opt"] != "upload" || st.header["filename"] != "doc.bin" || st.header["filesize"] != float64(1<<20+5) {
		t.Fatalf("header %v", st.header)
	}
	if st.sum != sum || st.extra != 0 {
		t.Fatalf("stored md5 %s (want %s), %d bytes more", st.sum, sum, st.extra)
	}
	if code != 1 || !strings.Contains(errs, "did not confirm") || !strings.Contains(errs, sum) {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
}

// TestUploadServerCreatesDir: `upload_server --dir ./store` with ./store
// absent creates it, mode 0700, says so and serves into it; a directory
// it cannot create is an error that says why, with exit status 1.
func TestUploadServerCreatesDir(t *testing.T) {
	work := t.TempDir()
	s := startServer(t, work, "upload_server", "--dir", "./store")
	waitOutput(t, s.stderr, "created directory ./store\n")
	fi, err := os.Stat(filepath.Join(work, "store"))
	// Windows keeps no Unix modes: the store has its parent's ACL there.
	if err != nil || !fi.IsDir() || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
		t.Fatalf("store: %v %v", fi, err)
	}
	c := dial(t, s.port)
	docUpload(c, map[string]any{"opt": "upload", "filename": "x.txt", "filesize": 5, "md5": "5d41402abc4b2a76b9719d911017c592"}, []byte("hello"))
	if reply := readReply(t, c); reply["ok"] != true {
		t.Fatalf("upload into the created store: %v", reply)
	}
	if data, err := os.ReadFile(filepath.Join(work, "store", "x.txt")); string(data) != "hello" {
		t.Fatalf("stored %q %v", data, err)
	}
	// Started again, the store exists: nothing is created.
	s2 := startServer(t, work, "upload_server", "--dir", "./store")
	if strings.Contains(s2.stderr.String(), "created") {
		t.Fatalf("second start: %q", s2.stderr.String())
	}
	_, errs, code := runClient(t, work, "upload_server", "", "--port", "0", "--dir", "./missing/store")
	if code != 1 || !strings.Contains(errs, "cannot create directory ./missing/store: No such file or directory") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
}

// TestUploadHashNegotiation speaks the "hash" extension by hand. A client
// that names blake3 gets every answer in it, the algorithm named and the
// digest under its name, never under "md5"; a confirmation in another
// algorithm (an md5 one, as an older client would send) keeps nothing;
// a name the server does not know gets md5, named; downloads follow the
// request's "hash" too, and without it answer as before.
func TestUploadHashNegotiation(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store, "upload_server", "--dir", store)
	body := []byte("hello")
	b3 := blake3.Sum256(body)
	b3hello := hex.EncodeToString(b3[:])
	md5hello := "5d41402abc4b2a76b9719d911017c592"
	confirm := func(c net.Conn, h map[string]any) map[string]any {
		b, _ := json.Marshal(h)
		c.Write(docFrame(b))
		return readReply(t, c)
	}
	same := func(got map[string]any, want map[string]any) bool {
		return fmt.Sprint(got) == fmt.Sprint(want)
	}
	upload := func(name string, h map[string]any) (net.Conn, map[string]any) {
		c := dial(t, s.port)
		hdr := map[string]any{"opt": "upload", "filename": name, "filesize": len(body)}
		for k, v := range h {
			hdr[k] = v
		}
		docUpload(c, hdr, body)
		return c, readReply(t, c)
	}

	for _, h := range []map[string]any{{"md5": "after", "hash": "blake3"}, {"hash": "blake3"}} {
		c, r := upload("a.txt", h)
		if !same(r, map[string]any{"ok": true, "hash": "blake3", "blake3": b3hello}) {
			t.Fatalf("%v: first reply %v", h, r)
		}
		r = confirm(c, map[string]any{"opt": "confirm", "hash": "blake3", "blake3": strings.ToUpper(b3hello)})
		if r["ok"] != true || r["hash"] != "blake3" || r["blake3"] != b3hello || r["md5"] != nil || !strings.HasPrefix(fmt.Sprint(r["filename"]), "a.txt") {
			t.Fatalf("%v: final reply %v", h, r)
		}
		c.Close()
	}
	waitOutput(t, s.stderr, `stored "a.txt.1" (5 bytes, blake3 `+b3hello+")\n")

	for name, h := range map[string]map[string]any{
		"md5 as before":      {"opt": "confirm", "md5": md5hello},
		"md5 named":          {"opt": "confirm", "hash": "md5", "md5": md5hello},
		"blake3 under md5":   {"opt": "confirm", "md5": b3hello},
		"named, no digest":   {"opt": "confirm", "hash": "blake3"},
		"wrong blake3":       {"opt": "confirm", "hash": "blake3", "blake3": strings.Repeat("0", 64)},
		"blake3, not named":  {"opt": "confirm", "blake3": b3hello},
		"sha256 named":       {"opt": "confirm", "hash": "sha256", "blake3": b3hello},
		"no opt, but blake3": {"hash": "blake3", "blake3": b3hello},
	} {
		c, r := upload("b.txt", map[string]any{"md5": "after", "hash": "blake3"})
		if r["ok"] != true {
			t.Fatalf("%s: first reply %v", name, r)
		}
		if r = confirm(c, h); r["ok"] != false || r["error"] != "checksum mismatch" {
			t.Fatalf("%s: %v", name, r)
		}
		expectClosed(t, c)
	}

	c, r := upload("c.txt", map[string]any{"md5": "after", "hash": "xxh3"})
	if !same(r, map[string]any{"ok": true, "hash": "md5", "md5": md5hello}) {
		t.Fatalf("unknown hash: %v", r)
	}
	if r = confirm(c, map[string]any{"opt": "confirm", "hash": "md5", "md5": md5hello}); r["ok"] != true || r["filename"] != "c.txt" || r["hash"] != "md5" {
		t.Fatalf("unknown hash, confirmed with md5: %v", r)
	}
	c.Close()
	c, r = upload("d.txt", map[string]any{"md5": "after", "hash": "sha256"})
	s256 := sha256.Sum256(body)
	if !same(r, map[string]any{"ok": true, "hash": "sha256", "sha256": hex.EncodeToString(s256[:])}) {
		t.Fatalf("sha256: %v", r)
	}
	c.Close()

	c = dial(t, s.port)
	defer c.Close()
	for _, tc := range []struct {
		hash any
		want map[string]any
	}{
		{"blake3", map[string]any{"ok": true, "filename": "c.txt", "filesize": 5.0, "hash": "blake3", "blake3": b3hello}},
		{nil, map[string]any{"ok": true, "filename": "c.txt", "filesize": 5.0, "md5": md5hello}},
		{"xxh3", map[string]any{"ok": true, "filename": "c.txt", "filesize": 5.0, "hash": "md5", "md5": md5hello}},
	} {
		h := map[string]any{"opt": "download", "filename": "c.txt", "filesize": nil}
		if tc.hash != nil {
			h["hash"] = tc.hash
		}
		docUpload(c, h, nil)
		if r := readReply(t, c); !same(r, tc.want) {
			t.Fatalf("download with hash %v: %v", tc.hash, r)
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
			t.Fatalf("download bytes %q %v", got, err)
		}
	}
	// The unconfirmed uploads' partial files go when their handlers see
	// the close, which a loaded machine may run after the downloads.
	testbin.WaitFor(t, 10*time.Second, "the store to hold a.txt, a.txt.1 and c.txt only (it held "+listDir(t, store)+")", func() bool {
		return listDir(t, store) == "a.txt,a.txt.1,c.txt"
	})
}

// TestUploadClientWithOlderServer: upload_client against a server that
// knows "md5": "after" only (wirelab's before "hash", in Go here): it
// ignores "hash", answers with the md5 of what it stored, and keeps the
// file only if the md5 that follows agrees. The client, which hashed with
// blake3 as it sent, confirms with the file's md5 and says md5; with
// --hash md5 its request is the older one, byte for byte.
func TestUploadClientWithOlderServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		flag []string
		hdr  string // the request header, with NAME and SIZE for the file's
	}{
		{"default", nil, `{"filename": "old.bin", "filesize": SIZE, "hash": "blake3", "md5": "after", "opt": "upload"}`},
		{"md5", []string{"--hash", "md5"}, `{"filename": "old.bin", "filesize": SIZE, "md5": "after", "opt": "upload"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			src := filepath.Join(work, "old.bin")
			sum := randomFile(t, src, 2<<20+7)
			type seen struct {
				header, confirm string
				sum             string
			}
			got := make(chan seen, 1)
			port := serveOnce(t, func(c net.Conn) {
				var st seen
				defer func() { got <- st }()
				c.SetDeadline(time.Now().Add(time.Minute))
				st.header = string(peerFrame(c))
				var h map[string]any
				json.Unmarshal([]byte(st.header), &h)
				size, _ := h["filesize"].(float64)
				m := md5.New()
				if _, err := io.CopyN(m, c, int64(size)); err != nil {
					return
				}
				st.sum = hex.EncodeToString(m.Sum(nil))
				c.Write(docFrame([]byte(`{"md5": "` + st.sum + `", "ok": true}`)))
				st.confirm = string(peerFrame(c))
				var cf map[string]any
				json.Unmarshal([]byte(st.confirm), &cf)
				if cf["opt"] != "confirm" || cf["md5"] != st.sum {
					c.Write(docFrame([]byte(`{"error": "checksum mismatch", "ok": false}`)))
					return
				}
				c.Write(docFrame([]byte(`{"filename": "old.bin", "md5": "` + st.sum + `", "ok": true}`)))
			})
			out, errs, code := runClient(t, work, "upload_client", "put "+src+"\n", append([]string{"--port", port}, tc.flag...)...)
			st := <-got
			if want := strings.Replace(tc.hdr, "SIZE", strconv.Itoa(2<<20+7), 1); st.header != want {
				t.Fatalf("header %s, want %s", st.header, want)
			}
			if st.sum != sum || st.confirm != `{"md5": "`+sum+`", "opt": "confirm"}` {
				t.Fatalf("server stored md5 %s (file's %s), confirmation %s", st.sum, sum, st.confirm)
			}
			if code != 0 || out != fmt.Sprintf("uploaded %s as old.bin (%d bytes, md5 %s)\n", src, 2<<20+7, sum) {
				t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
			}
		})
	}
}

// peerFrame reads struct.pack('i', n) and n bytes, for a peer's goroutine
// (which may not call t.Fatal): nil when they do not come.
func peerFrame(c net.Conn) []byte {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil
	}
	n := int32(binary.LittleEndian.Uint32(hdr[:]))
	if n < 0 || n > 1<<20 {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		return nil
	}
	return b
}
