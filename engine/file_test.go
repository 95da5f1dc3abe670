package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestCheckName: the names a store accepts, and the rule each refused one
// breaks, in the words Reason gives scripts.
func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"report.txt": "", "报告.pdf": "", ".bashrc": "", "a b.txt": "", "CONSOLE": "", "com10": "",
		"nullify.txt": "", "LPT": "", "x.con": "", ".wirelab-partial.1": "", "wc.txt.part-0123456789ab": "",
		"":                 "bad file name",
		"..":               "bad file name",
		"a/b":              "bad file name",
		`a\b`:              "bad file name",
		"two\nlines":       "bad file name (control or format character U+000A)",
		"esc\x1b[31m":      "bad file name (control or format character U+001B)",
		"del\x7f":          "bad file name (control or format character U+007F)",
		"c1\u0085":         "bad file name (control or format character U+0085)",
		"evil\u202Etxt.sh": "bad file name (control or format character U+202E)",
		"\uFEFFbom.txt":    "bad file name (control or format character U+FEFF)",
		"zw\u200Bj":        "bad file name (control or format character U+200B)",
		"line\u2028sep":    "bad file name (control or format character U+2028)",
		"bad\xffutf8":      "bad file name (not UTF-8)",
		"was\uFFFDbad":     "bad file name (not UTF-8)",
		"trailing.":        "bad file name (ends in a dot or a space)",
		"trailing ":        "bad file name (ends in a dot or a space)",
		"...":              "bad file name (ends in a dot or a space)",
		"CON":              "bad file name (reserved on Windows)",
		"con":              "bad file name (reserved on Windows)",
		"Nul.tar.gz":       "bad file name (reserved on Windows)",
		"aux.c":            "bad file name (reserved on Windows)",
		"PRN.txt":          "bad file name (reserved on Windows)",
		"COM1":             "bad file name (reserved on Windows)",
		"com9.log":         "bad file name (reserved on Windows)",
		"LPT5":             "bad file name (reserved on Windows)",
		"lpt1.txt":         "bad file name (reserved on Windows)",
		"COM\u00b9":        "bad file name (reserved on Windows)",
		"CON .txt":         "bad file name (reserved on Windows)",
		".wirelab-partial": "bad file name (reserved for partial files)",
		"a:b.txt":          `bad file name (':' cannot be in a file name on Windows)`,
		"what?.txt":        `bad file name ('?' cannot be in a file name on Windows)`,
		"x<y>z":            `bad file name ('<' cannot be in a file name on Windows)`,
		`say"hi"`:          `bad file name ('"' cannot be in a file name on Windows)`,
		"a|b":              `bad file name ('|' cannot be in a file name on Windows)`,
		"*.txt":            `bad file name ('*' cannot be in a file name on Windows)`,
		".WireLab-Partial": "bad file name (reserved for partial files)",
	} {
		err := CheckName(name)
		if got := ""; err != nil {
			got = Reason(err)
			if !errors.Is(err, ErrBadName) || got != want {
				t.Errorf("%q: %q (%v), want %q", name, got, err, want)
			}
			if strings.ContainsAny(err.Error(), "\n\r\x1b\u202e\ufeff") {
				t.Errorf("%q: the error %q does not keep to one line", name, err)
			}
		} else if want != "" {
			t.Errorf("%q accepted, want %q", name, want)
		}
	}
}

// TestRecvFileNamedLikePartial: a file stored under a name that looks like
// one of RecvFile's partial files is kept by CleanPartial.
func TestRecvFileNamedLikePartial(t *testing.T) {
	a, b := tcpPair(t)
	dir := t.TempDir()
	go a.Send(context.Background(), []byte("hello"))
	const name = ".wc.txt.part-0123456789ab"
	if r, err := b.RecvFile(context.Background(), name, 5, FileOptions{Dir: dir}); err != nil || r.Name != name {
		t.Fatalf("%+v %v", r, err)
	}
	if n, err := CleanPartial(dir); n != 0 || err != nil {
		t.Fatalf("removed %d: %v", n, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, name)); string(data) != "hello" {
		t.Fatalf("stored file: %q %v", data, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left %v", entries)
	}
}

// TestRecvFileRefusedBeforeReading: a declared size over the free space
// of the file system, or one that would take the directory past MaxStore,
// fails before any byte is read (they are still there for the next
// receive) and creates nothing.
func TestRecvFileRefusedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "old.bin"), make([]byte, 600), 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700) // not a file: not counted
	for _, c := range []struct {
		name  string
		size  int64
		max   int64
		want  error
		limit string
	}{
		{"over the free space", 1 << 60, 0, ErrNoSpace, "free"},
		{"past MaxStore", 401, 1000, ErrStoreFull, "limit of 1000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := tcpPair(t)
			a.Send(context.Background(), []byte("next"))
			_, err := b.RecvFile(context.Background(), "new.bin", c.size, FileOptions{Dir: dir, MaxStore: c.max})
			if !errors.Is(err, c.want) || Reason(err) != c.want.Error() || !strings.Contains(err.Error(), c.limit) {
				t.Fatalf("%v", err)
			}
			if got, err := b.RecvExact(context.Background(), 4); string(got) != "next" {
				t.Fatalf("the bytes after: %q %v", got, err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 2 {
				t.Fatalf("left %v", entries)
			}
		})
	}
	// What fits is stored; then the store is full to the byte.
	a, b := tcpPair(t)
	go a.Send(context.Background(), make([]byte, 400))
	if _, err := b.RecvFile(context.Background(), "fits.bin", 400, FileOptions{Dir: dir, MaxStore: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RecvFile(context.Background(), "more.bin", 1, FileOptions{Dir: dir, MaxStore: 1000}); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("one more byte: %v", err)
	}
}

// TestRecvFileMaxStoreConcurrent: uploads under way count at their
// declared sizes, so two at once cannot both take the same room.
func TestRecvFileMaxStoreConcurrent(t *testing.T) {
	dir := t.TempDir()
	a1, b1 := tcpPair(t)
	_, b2 := tcpPair(t)
	first := make(chan error, 1)
	go func() {
		_, err := b1.RecvFile(context.Background(), "one.bin", 600, FileOptions{Dir: dir, MaxStore: 1000})
		first <- err
	}()
	// The first holds its room once its partial file is there, sized.
	for {
		entries, _ := os.ReadDir(filepath.Join(dir, PartialDir))
		if len(entries) == 1 {
			if info, _ := entries[0].Info(); info != nil && info.Size() == 600 {
				break
			}
		}
		select {
		case err := <-first:
			t.Fatalf("first ended early: %v", err)
		case <-time.After(time.Millisecond): // polling, not a margin
		}
	}
	if _, err := b2.RecvFile(context.Background(), "two.bin", 600, FileOptions{Dir: dir, MaxStore: 1000}); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("second: %v", err)
	}
	a1.Send(context.Background(), make([]byte, 600))
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != "one.bin" {
		t.Fatalf("left %v", entries)
	}
}

// TestRecvFileOwnPath: a script's own path needs only a plain last
// element: the rules for names from the network (here, Windows' devices)
// apply with Dir alone.
func TestRecvFileOwnPath(t *testing.T) {
	testbin.SkipWindows(t, "a local file named aux.c, which Windows takes for its AUX device")
	a, b := tcpPair(t)
	dir := t.TempDir()
	go a.Send(context.Background(), []byte("int main;"))
	if _, err := b.RecvFile(context.Background(), filepath.Join(dir, "aux.c"), 9, FileOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := HashFile(context.Background(), "md5", filepath.Join(dir, "aux.c"), ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := HashFile(context.Background(), "md5", "aux.c", dir); !errors.Is(err, ErrBadName) {
		t.Fatalf("from the network: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left %v", entries)
	}
}

// TestPartialDirTakenByAFile: a file named PartialDir, stored before the
// name was reserved, is never removed; receiving says what to do.
func TestPartialDirTakenByAFile(t *testing.T) {
	dir := t.TempDir()
	taken := filepath.Join(dir, PartialDir)
	os.WriteFile(taken, []byte("kept"), 0o600)
	if n, err := CleanPartial(dir); n != 0 || err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("clean: %d %v", n, err)
	}
	a, b := tcpPair(t)
	go a.Send(context.Background(), []byte("x"))
	if _, err := b.RecvFile(context.Background(), "f", 1, FileOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("recv: %v", err)
	}
	if data, _ := os.ReadFile(taken); string(data) != "kept" {
		t.Fatalf("%s: %q", taken, data)
	}
}

// TestRecvFileManyAtOnce: transfers that start and end together share
// the partial directory, which each removes once empty: none fails for
// it, and all are kept under names of their own.
func TestRecvFileManyAtOnce(t *testing.T) {
	dir := t.TempDir()
	const n = 50
	errs := make(chan error, n)
	for range n {
		a, b := tcpPair(t)
		go a.Send(context.Background(), []byte("hello"))
		go func() {
			_, err := b.RecvFile(context.Background(), "same.txt", 5, FileOptions{Dir: dir, Unique: true})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != n {
		t.Fatalf("%d entries: %v", len(entries), entries)
	}
}
