//go:build linux

package main

import (
	"bufio"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// wineExeEnv names the wirelab.exe that TestWineDemos runs under Wine;
// internal/wine/run.sh builds it and sets the variable (and WINEPREFIX,
// with the DLL Go needs there).
const wineExeEnv = "WIRELAB_WINE_EXE"

// wineServer starts wirelab.exe under Wine with args in dir and returns
// the port it prints ("listening on 127.0.0.1:PORT").
func wineServer(t *testing.T, wine, exe, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(wine, append([]string{exe}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WINEDEBUG=-all")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testbin.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ports := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on 127\.0\.0\.1:(\d+)`).FindStringSubmatch(sc.Text()); m != nil {
				ports <- m[1]
			}
		}
		close(ports)
	}()
	select {
	case port, ok := <-ports:
		if !ok {
			t.Fatalf("wirelab.exe %v ended without listening:\n%s", args, stderr.String())
		}
		return port
	case <-time.After(2 * time.Minute): // Wine's first start of a prefix is slow
		t.Fatalf("wirelab.exe %v did not listen:\n%s", args, stderr.String())
	}
	return ""
}

// python runs a Python program, the documents' client, and returns its
// stdout.
func python(t *testing.T, py string, src string, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", src}, args...)...)
	var stderr testbin.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// The documents' exec client: the command's bytes out, then
// struct.unpack('i', conn.recv(4)) and recv until that many bytes, decoded
// as GBK, "windows默认是gbk格式".
const pyExecClient = `
import socket, struct, sys
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(('127.0.0.1', int(sys.argv[1])))
for cmd in sys.argv[2:]:
    c.send(cmd.encode('utf-8'))
    total = struct.unpack('i', c.recv(4))[0]
    data = b''
    while len(data) < total:
        data += c.recv(1024)
    sys.stdout.write(data.decode('gbk'))
c.close()
`

// The documents' upload client: struct.pack('i', len(header)), the JSON
// header with the file's name, size and md5, then the bytes; the answer
// is framed the same way.
const pyUploadClient = `
import socket, struct, json, hashlib, os, sys
port, path = int(sys.argv[1]), sys.argv[2]
data = open(path, 'rb').read()
header = json.dumps({'opt': 'upload', 'filename': os.path.basename(path), 'filesize': len(data),
                     'md5': hashlib.md5(data).hexdigest()}).encode('utf-8')
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(('127.0.0.1', port))
c.send(struct.pack('i', len(header)))
c.send(header)
for i in range(0, len(data), 8192):
    c.sendall(data[i:i + 8192])
n = struct.unpack('i', c.recv(4))[0]
reply = b''
while len(reply) < n:
    reply += c.recv(n - len(reply))
print(json.loads(reply.decode('utf-8'))['md5'])
c.close()
`

// A client of README's framed echo: 4-byte big-endian lengths.
const pyFrameClient = `
import socket, struct, sys
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(('127.0.0.1', int(sys.argv[1])))
def recv_exact(n):
    b = b''
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk: raise SystemExit('closed')
        b += chunk
    return b
for m in sys.argv[2:]:
    b = m.encode('utf-8')
    c.sendall(struct.pack('>I', len(b)) + b)
    n = struct.unpack('>I', recv_exact(4))[0]
    print(recv_exact(n).decode('utf-8'))
c.close()
`

// TestWineDemos is issue 22's demonstration, run by internal/wine/run.sh:
// wirelab.exe under Wine serves Linux's python3 over loopback, as the
// documents' Windows servers serve their clients. The fixed exec server
// answers with the output of Windows commands (cmd.exe's echo, and type
// of a GBK file, decoded by the client); the upload server stores a file
// whose md5 matches; README's framed echo answers in frames.
func TestWineDemos(t *testing.T) {
	exe := os.Getenv(wineExeEnv)
	if exe == "" {
		t.Skip(wineExeEnv + " is not set: internal/wine/run.sh runs this with the wirelab.exe it builds")
	}
	wine := os.Getenv("WIRELAB_WINE")
	if wine == "" {
		wine = "wine64"
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the documents' clients are Python")
	}
	t.Run("exec", func(t *testing.T) {
		dir := t.TempDir()
		// "中文" in GBK, as a Chinese Windows writes it.
		os.WriteFile(filepath.Join(dir, "gbk.txt"), []byte("\xd6\xd0\xce\xc4\r\n"), 0o644)
		port := wineServer(t, wine, exe, dir, "run", "exec_fixed_server", "--port", "0")
		got := python(t, py, pyExecClient, port, "echo %OS%", "type gbk.txt", "ver")
		if !strings.HasPrefix(got, "Windows_NT\r\n中文\r\n") || !strings.Contains(got, "Windows") {
			t.Fatalf("answers %q", got)
		}
		t.Logf("python3 got from wirelab.exe under Wine: %q", got)
	})
	t.Run("upload", func(t *testing.T) {
		store, src := t.TempDir(), t.TempDir()
		data := make([]byte, 3<<20+17)
		rand.Read(data)
		sum := md5.Sum(data)
		want := hex.EncodeToString(sum[:])
		path := filepath.Join(src, "data.bin")
		os.WriteFile(path, data, 0o644)
		port := wineServer(t, wine, exe, store, "run", "upload_server", "--port", "0", "--dir", ".")
		if got := strings.TrimSpace(python(t, py, pyUploadClient, port, path)); got != want {
			t.Fatalf("server's md5 %q, want %q", got, want)
		}
		stored, err := os.ReadFile(filepath.Join(store, "data.bin"))
		if sum2 := md5.Sum(stored); err != nil || hex.EncodeToString(sum2[:]) != want {
			t.Fatalf("stored file: %d bytes, %v", len(stored), err)
		}
		if entries, _ := os.ReadDir(store); len(entries) != 1 {
			t.Fatalf("store holds %v", entries)
		}
	})
	t.Run("framed echo", func(t *testing.T) {
		dir := t.TempDir()
		script := filepath.Join(dir, "echo.lua")
		os.WriteFile(script, []byte(`local srv = socket.serve("127.0.0.1", 0, function(c)
  while true do
    local msg = c:recv_frame()
    if not msg then return end
    c:send_frame(msg:upper())
  end
end)
print("listening on 127.0.0.1:" .. srv:port())
`), 0o644)
		port := wineServer(t, wine, exe, dir, "run", "echo.lua")
		if got := python(t, py, pyFrameClient, port, "hello", "wine", strings.Repeat("x", 100000)); got != "HELLO\nWINE\n"+strings.Repeat("X", 100000)+"\n" {
			t.Fatalf("echo %.40q...", got)
		}
	})
}
