package scripts_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak runs 200 mixed clients against the bundled servers at once,
// each checking every answer byte for byte, and fails on any loss: exec
// (plain and JSON headers), login, upload with download, UDP echo. It runs
// for WIRELAB_SOAK (a Go duration; 15 s by default, skipped with -short);
// the soak is WIRELAB_SOAK=3m.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	length := 15 * time.Second
	if v := os.Getenv("WIRELAB_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		length = d
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.Mkdir(store, 0o700)
	accounts := filepath.Join(dir, "account.txt")
	os.WriteFile(accounts, []byte("chen:123\n"), 0o600)
	plain := startServer(t, dir, "exec_fixed_server")
	withJSON := startServer(t, dir, "exec_fixed_server", "--json")
	login := startServer(t, dir, "login_server", "--accounts", accounts)
	upload := startServer(t, dir, "upload_server", "--dir", store)
	udp := startServer(t, dir, "udp_echo_server")

	var rounds, lost atomic.Int64
	failf := func(format string, args ...any) {
		if lost.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	stop := time.Now().Add(length)
	clients := []struct {
		n   int
		run func(id int)
	}{
		{80, func(id int) { // exec, plain: the documents' client
			c := dial(t, plain.port)
			c.SetDeadline(stop.Add(time.Minute))
			for i := 0; time.Now().Before(stop); i++ {
				want := fmt.Sprintf("client %d round %d\n", id, i)
				if got := docExec(t, c, "echo client "+strconv.Itoa(id)+" round "+strconv.Itoa(i)); got != want {
					failf("exec: %q, want %q", got, want)
					return
				}
				if i%10 == 0 {
					if got := docExec(t, c, "seq 1 20000"); got != seq(20000) {
						failf("exec seq: %d bytes", len(got))
						return
					}
				}
				rounds.Add(1)
			}
		}},
		{40, func(id int) { // exec with JSON headers
			c := dial(t, withJSON.port)
			c.SetDeadline(stop.Add(time.Minute))
			for i := 0; time.Now().Before(stop); i++ {
				want := fmt.Sprintf("%d:%d\n", id, i)
				c.Write([]byte(fmt.Sprintf("printf '%%s\\n' %d:%d", id, i)))
				var h struct {
					TotalSize int `json:"total_size"`
					Code      int `json:"code"`
				}
				if err := json.Unmarshal(readDocFrame(t, c), &h); err != nil {
					failf("json header: %v", err)
					return
				}
				body := make([]byte, h.TotalSize)
				if _, err := io.ReadFull(c, body); err != nil || string(body) != want || h.Code != 0 {
					failf("json exec: %q %v, want %q", body, err, want)
					return
				}
				rounds.Add(1)
			}
		}},
		{30, func(id int) { // login, right password every time
			for time.Now().Before(stop) {
				c := dial(t, login.port)
				c.Write([]byte("chen|123"))
				buf := make([]byte, 16)
				n, err := c.Read(buf)
				c.Close()
				if err != nil || string(buf[:n]) != "success" {
					failf("login: %q %v", buf[:n], err)
					return
				}
				rounds.Add(1)
			}
		}},
		{30, func(id int) { // upload with md5, then download it back
			for i := 0; time.Now().Before(stop); i++ {
				body := bytes.Repeat([]byte(fmt.Sprintf("%d/%d;", id, i)), 3000+(id%30)*997) // 24 KB to 250 KB
				sum := md5.Sum(body)
				name := fmt.Sprintf("c%d-%d.bin", id, i)
				c := dial(t, upload.port)
				c.SetDeadline(stop.Add(time.Minute))
				docUpload(c, map[string]any{"opt": "upload", "filename": name, "filesize": len(body), "md5": hex.EncodeToString(sum[:])}, body)
				if reply := readReply(t, c); reply["ok"] != true || reply["filename"] != name {
					failf("upload %s: %v", name, reply)
					return
				}
				docUpload(c, map[string]any{"opt": "download", "filename": name}, nil)
				reply := readReply(t, c)
				got := make([]byte, len(body))
				if _, err := io.ReadFull(c, got); reply["ok"] != true || err != nil || !bytes.Equal(got, body) {
					failf("download %s: %v %v", name, reply, err)
					return
				}
				c.Close()
				os.Remove(filepath.Join(store, name))
				rounds.Add(1)
			}
		}},
		{20, func(id int) { // UDP echo
			c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(udp.port))
			if err != nil {
				failf("udp: %v", err)
				return
			}
			defer c.Close()
			buf := make([]byte, 2048)
			for i := 0; time.Now().Before(stop); i++ {
				msg := fmt.Sprintf("%d/%d", id, i)
				for try := 0; ; try++ { // UDP may drop; a wrong echo is the loss
					c.Write([]byte(msg))
					c.SetReadDeadline(time.Now().Add(time.Second))
					n, err := c.Read(buf)
					if err == nil && string(buf[:n]) == msg {
						break
					}
					if err == nil || try == 5 {
						failf("udp: %q %v, want %q", buf[:n], err, msg)
						return
					}
				}
				rounds.Add(1)
			}
		}},
	}
	var wg sync.WaitGroup
	total := 0
	for _, kind := range clients {
		for i := 0; i < kind.n; i++ {
			id := total
			total++
			wg.Add(1)
			go func() { defer wg.Done(); kind.run(id) }()
		}
	}
	wg.Wait()
	t.Logf("%d clients, %v: %d rounds, %d lost", total, length, rounds.Load(), lost.Load())
	if lost.Load() > 0 || total != 200 {
		t.Fatalf("%d rounds lost", lost.Load())
	}
}
