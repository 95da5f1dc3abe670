package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// FileOptions say where a file lives and how it is checked.
type FileOptions struct {
	// Dir, when set, confines the file to that directory: the name must be
	// a plain file name (CheckName) and is opened through os.Root, so that
	// no symbolic link leads out of Dir.
	Dir string
	// Hash names the digest computed on the fly: "md5", "sha1", "sha256"
	// or "" for none.
	Hash string
	// Size, for SendFile, is the exact number of bytes to send (-1: the
	// whole file as it is when opened).
	Size int64
	// Expect, for RecvFile, is the hex digest the bytes must have; on a
	// mismatch nothing is kept and the error wraps ErrChecksum.
	Expect string
	// Overwrite, for RecvFile, lets the file replace an existing one;
	// otherwise an existing file is never touched and the error wraps
	// ErrExists.
	Overwrite bool
	// Unique, for RecvFile, keeps both files when the name is taken: the
	// new one is stored as NAME.1, NAME.2, ..., the first that is free.
	Unique bool
	// Progress, when set, is called with the bytes moved so far as the
	// transfer goes, and once at the end.
	Progress func(done int64)
	// MinRate, for RecvFile, is the slowest the bytes may come on
	// average, in bytes a second, after the first RateGrace; a body
	// dripped slower fails with ErrTooSlow instead of holding the
	// connection. 0: no minimum.
	MinRate int64
	// RateGrace is the time a peer may stall in all, above the bytes it
	// owes at MinRate (0: DefaultRateGrace).
	RateGrace time.Duration
	// Head, for SendFile, is sent just before the file's bytes, once the
	// file is open and known to hold Size bytes: a request header that
	// announces them. When the file cannot be sent, nothing is.
	Head []byte
	// MaxStore, for RecvFile, is the most bytes the directory may hold:
	// its regular files, and the partial files under way at their
	// declared sizes. A file that would pass it fails with ErrStoreFull
	// before any byte is read. 0: no limit.
	MaxStore int64
	// Confirm, for RecvFile, is called with the hex digest (or "" without
	// Hash) once all the bytes are on disk and synced, and the connection
	// is free again, before the file takes its name: a nil error keeps
	// the file, any other drops it and is RecvFile's error.
	Confirm func(sum string) error
}

// DefaultRateGrace is the default FileOptions.RateGrace.
const DefaultRateGrace = 30 * time.Second

// FileResult is what a transfer did.
type FileResult struct {
	N    int64  // bytes moved
	Sum  string // hex digest, when a hash was asked for
	Name string // for RecvFile, the name the file was stored under
	// Sent, for SendFile, is every byte that went out, Head included,
	// also on failure: 0 means the connection is as it was.
	Sent int64
}

// CheckName reports whether name is a plain file name fit to be created in
// a directory from a name a peer sent, on this system and on a Windows
// peer's: not empty, not "." or "..", no slash or backslash; valid UTF-8
// (and no U+FFFD) without control characters (a newline forges log lines) or format
// characters (Unicode's Cf, such as U+202E, which reverses the text shown
// after it, and U+FEFF), nor line or paragraph separators; none of the
// characters Windows refuses (< > : " | ? *); not ending in a
// dot or a space (Windows drops them, so two names would be one); not a
// device name of Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9 and COM or
// LPT with a superscript digit, in any case, alone or before an
// extension: "nul.txt"); and not PartialDir. It returns a *NameError,
// which wraps ErrBadName, otherwise.
func CheckName(name string) error {
	if err := checkLocalName(name); err != nil {
		return err
	}
	for _, r := range name {
		if unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return &NameError{Name: name, Rule: fmt.Sprintf("control or format character U+%04X", r)}
		}
	}
	if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
		return &NameError{Name: name, Rule: "ends in a dot or a space"}
	}
	if i := strings.IndexAny(name, windowsForbidden); i >= 0 {
		return &NameError{Name: name, Rule: fmt.Sprintf("%q cannot be in a file name on Windows", name[i])}
	}
	if windowsDevice(name) {
		return &NameError{Name: name, Rule: "reserved on Windows"}
	}
	if strings.EqualFold(name, PartialDir) {
		return &NameError{Name: name, Rule: "reserved for partial files"}
	}
	return nil
}

// checkLocalName is the part of CheckName that the last element of a
// script's own path (no FileOptions.Dir) must pass too: a plain name,
// valid UTF-8, no control characters. The rules for Windows peers and
// format characters are left to names from the network, so that a script
// may still send its own "aux.c".
func checkLocalName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return &NameError{Name: name}
	}
	for _, r := range name {
		// U+FFFD too: it is what a decoder left of bytes that were not
		// UTF-8 (a JSON header's, say).
		if r == utf8.RuneError {
			return &NameError{Name: name, Rule: "not UTF-8"}
		}
		if unicode.IsControl(r) {
			return &NameError{Name: name, Rule: fmt.Sprintf("control or format character U+%04X", r)}
		}
	}
	return nil
}

// windowsForbidden are the characters Windows refuses in a file name
// (besides the slashes and control characters refused everywhere); ':'
// would name an NTFS stream of another file.
const windowsForbidden = `<>:"|?*`

// windowsDevice reports whether Windows takes name for a device: its part
// before the first dot, without trailing spaces, is one of the reserved
// names, in any case.
func windowsDevice(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) < 4 || (base[:3] != "COM" && base[:3] != "LPT") {
		return false
	}
	switch base[3:] {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
		return true
	}
	return false
}

// openRegular opens name in root for reading, refusing anything but a
// regular file. The open does not block, so a FIFO or a device put in a
// served directory cannot pin the caller.
func openRegular(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%q: %w", name, ErrNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openRoot resolves (dir, name) for o: with o.Dir, name must pass
// CheckName and lives in o.Dir; without it, name is a path whose
// directory is trusted and whose last element needs only be plain.
func openRoot(o FileOptions, name string) (*os.Root, string, error) {
	dir, check := o.Dir, CheckName
	if dir == "" {
		dir, name = filepath.Split(name)
		if dir == "" {
			dir = "."
		}
		check = checkLocalName
	}
	if err := check(name); err != nil {
		return nil, "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	return root, name, nil
}

// idleReader refreshes a read deadline before every read, so that a
// transfer fails when the peer stalls for the timeout, however long the
// whole transfer takes.
type idleReader struct {
	ctx  context.Context
	c    *Conn
	r    io.Reader
	rate *minRate // or nil
}

// minRate bounds a transfer from below: by any moment, got bytes must
// have come at min a second since start, after grace.
type minRate struct {
	start time.Time
	grace time.Duration
	got   int64
	min   int64
}

// deadline is when the transfer fails unless more bytes come.
func (m *minRate) deadline() time.Time {
	return m.start.Add(m.grace + time.Duration(float64(m.got)/float64(m.min)*float64(time.Second)))
}

func (ir idleReader) Read(p []byte) (int, error) {
	c := ir.c
	if c.timeoutFor(ir.ctx) > 0 || ir.rate != nil {
		c.arm(ir.ctx, &c.rw)
	}
	if ir.rate != nil {
		if d := ir.rate.deadline(); c.rw.deadline == 0 || d.Sub(epoch) < time.Duration(c.rw.deadline) {
			c.rw.deadline = int64(d.Sub(epoch))
			c.nc.SetReadDeadline(d)
		}
	}
	n, err := ir.r.Read(p)
	if ir.rate != nil {
		ir.rate.got += int64(n)
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(ir.rate.deadline()) && ir.ctx.Err() == nil {
			err = ErrTooSlow
		}
	}
	return n, err
}

// idleWriter is idleReader's twin for writes.
type idleWriter struct {
	ctx context.Context
	c   *Conn
	w   io.Writer
}

func (iw idleWriter) Write(p []byte) (int, error) {
	if iw.c.timeoutFor(iw.ctx) > 0 {
		iw.c.arm(iw.ctx, &iw.c.ww)
	}
	return iw.w.Write(p)
}

// SendFile streams a file's bytes to the peer without passing them through
// the caller, hashing them on the way when o.Hash is set, and returns the
// bytes sent and the hex digest. Without a hash the bytes go by
// sendfile(2); with one, reading, hashing and sending overlap, chunk by
// chunk, and the digest is that of the very bytes sent. The timeout applies
// to each stall, not the whole transfer. With o.Size >= 0 it sends exactly
// that many bytes, failing with ErrShortFile, before sending anything, if
// the file has fewer (or after, if it shrinks meanwhile). o.Head goes out
// first; FileResult.Sent counts all that went out, also on failure.
func (c *Conn) SendFile(ctx context.Context, path string, o FileOptions) (FileResult, error) {
	fail := func(err error) (FileResult, error) { return FileResult{}, &OpError{Op: "send_file", Err: err} }
	root, name, err := openRoot(o, path)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	f, err := openRegular(root, name)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	size := o.Size
	if size < 0 {
		size = st.Size()
	}
	if st.Size() < size {
		return fail(fmt.Errorf("%w: %s has %d bytes, not %d", ErrShortFile, name, st.Size(), size))
	}
	h, err := NewHash(o.Hash)
	if err != nil {
		return fail(err)
	}
	res := FileResult{Name: name}
	err = c.write(ctx, "send_file", func() error {
		if len(o.Head) > 0 {
			m, err := idleWriter{ctx, c, c.nc}.Write(o.Head)
			res.Sent += int64(m)
			if err != nil {
				return err
			}
		}
		var err error
		if h == nil {
			res.N, err = c.sendfile(ctx, f, size, o.Progress)
		} else {
			// The hash reads the file beside sendfile: two passes over
			// the page cache, no copy through this process for the
			// socket. A file that changes meanwhile gets a digest that
			// is not that of the bytes sent, which the peer's check
			// catches: it fails loudly.
			wait, stop := hashFile(f, size, h)
			res.N, err = c.sendfile(ctx, f, size, o.Progress)
			if err != nil {
				stop()
			}
			if herr := wait(); err == nil {
				err = herr
			}
		}
		res.Sent += res.N
		return err
	})
	if err == nil {
		res.Sum = hexSum(h)
	}
	return res, err
}

// RecvFile reads exactly size bytes from the peer into the file at path
// (or name in o.Dir), hashing them on the way when o.Hash is set, and
// returns the bytes received and the hex digest. Reading the socket (1 MiB
// at a time), hashing and writing overlap, and the disk starts writing
// back while bytes still come. The bytes go to a partial file in the
// directory's PartialDir, which is synced and linked into place only when
// all of them arrived, the digest matched o.Expect and o.Confirm agreed: a
// peer that disconnects halfway leaves nothing behind. Without
// o.Overwrite an existing file is never replaced (ErrExists). Before any
// byte is read, a size over the file system's free space fails with
// ErrNoSpace, and one that would take the directory past o.MaxStore with
// ErrStoreFull; the bytes stay unread.
func (c *Conn) RecvFile(ctx context.Context, path string, size int64, o FileOptions) (FileResult, error) {
	fail := func(err error) (FileResult, error) { return FileResult{}, &OpError{Op: "recv_file", Err: err} }
	if size < 0 {
		return fail(fmt.Errorf("negative size %d", size))
	}
	root, name, err := openRoot(o, path)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	if !o.Overwrite && !o.Unique {
		if _, err := root.Lstat(name); err == nil {
			return fail(fmt.Errorf("%w: %s", ErrExists, name))
		}
	}
	h, err := NewHash(o.Hash)
	if err != nil {
		return fail(err)
	}
	tmp, f, err := reserve(root, name, size, o.MaxStore)
	if err != nil {
		return fail(err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			root.Remove(tmp)
		}
		removePartialDir(root)
	}()
	n, err := c.recvInto(ctx, &syncWriter{f: f}, size, h, o)
	res := FileResult{N: n, Sum: hexSum(h)}
	if err != nil {
		return res, err
	}
	if err := settle(f, res.Sum, o); err != nil {
		return res, &OpError{Op: "recv_file", Err: err}
	}
	keep = true // closed
	if o.MaxStore > 0 {
		// Linked and not yet unlinked, the file would count twice.
		storeMu.Lock()
		defer storeMu.Unlock()
	}
	defer root.Remove(tmp)
	if res.Name, err = storeAs(root, tmp, name, o); err != nil {
		return res, &OpError{Op: "recv_file", Err: err}
	}
	syncDir(root) // the new name durable too, where the system lets it be
	return res, nil
}

// storeMu makes a MaxStore check and the partial file that it admits one
// step, so that two uploads at once cannot both pass the same room.
var storeMu sync.Mutex

// reserve checks that size bytes fit, on the file system and under
// maxStore (0: no limit), and creates the partial file that will hold
// them. Under a limit the partial file is set to size at once (a sparse
// file, no block written) so that the next check counts it whole.
func reserve(root *os.Root, name string, size, maxStore int64) (string, *os.File, error) {
	if free, ok := freeSpace(root); ok && size > free {
		return "", nil, fmt.Errorf("%w: %d bytes declared, %d free", ErrNoSpace, size, free)
	}
	if maxStore <= 0 {
		return createTemp(root, name)
	}
	storeMu.Lock()
	defer storeMu.Unlock()
	used, err := storeUsage(root)
	if err != nil {
		return "", nil, err
	}
	if used+size > maxStore {
		return "", nil, fmt.Errorf("%w: %d bytes stored, %d more would pass the limit of %d", ErrStoreFull, used, size, maxStore)
	}
	tmp, f, err := createTemp(root, name)
	if err == nil {
		if err = f.Truncate(size); err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}
	return tmp, f, err
}

// storeUsage is the size of every regular file in root and in its
// PartialDir, where uploads under way count their declared size.
func storeUsage(root *os.Root) (int64, error) {
	var total int64
	for _, dir := range []string{".", PartialDir} {
		d, err := root.Open(dir)
		if errors.Is(err, fs.ErrNotExist) && dir == PartialDir {
			continue
		}
		if err != nil {
			return 0, err
		}
		entries, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
	}
	return total, nil
}

// recvInto copies exactly size bytes from the peer to w, hashing them
// into h when it is not nil, under the read lock, the deadline and ctx,
// and returns how many it copied. Bytes put back and bytes already
// buffered come first, then the socket itself; what goes to w is not put
// back on failure.
func (c *Conn) recvInto(ctx context.Context, w io.Writer, size int64, h hash.Hash, o FileOptions) (int64, error) {
	var n int64
	err := c.read(ctx, "recv_file", func() error {
		var pending []byte
		if k := int(min(int64(len(c.pend)), size)); k > 0 {
			pending = append([]byte(nil), c.pend[:k]...)
			c.consumePend(k)
		}
		buffered := min(int64(c.r.Buffered()), size-int64(len(pending)))
		rate := newMinRate(o, int64(len(pending))+buffered)
		src := io.MultiReader(bytes.NewReader(pending), io.LimitReader(c.r, buffered), idleReader{ctx, c, c.nc, rate})
		var rerr, werr error
		n, rerr, werr = pipe(size, src, h, w, o.Progress)
		if rerr == io.EOF {
			rerr = io.ErrUnexpectedEOF
		}
		if rerr != nil {
			return rerr
		}
		return werr
	})
	return n, err
}

// newMinRate returns the bound of o.MinRate for a transfer that starts
// now with got bytes already in hand, or nil for none.
func newMinRate(o FileOptions, got int64) *minRate {
	if o.MinRate <= 0 {
		return nil
	}
	rate := &minRate{start: time.Now(), grace: o.RateGrace, got: got, min: o.MinRate}
	if rate.grace <= 0 {
		rate.grace = DefaultRateGrace
	}
	return rate
}

// settle makes the received file f fit to take its name: its digest sum
// matches o.Expect, it is synced, o.Confirm agrees, and it is closed. On
// an error the file is to be dropped.
func settle(f *os.File, sum string, o FileOptions) error {
	if o.Expect != "" && !strings.EqualFold(o.Expect, sum) {
		return fmt.Errorf("%w: got %s, want %s", ErrChecksum, sum, o.Expect)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if o.Confirm != nil {
		if err := o.Confirm(sum); err != nil {
			return err
		}
	}
	return f.Close()
}

// storeAs gives the partial file tmp in root the name name, and returns
// the name it took. With o.Overwrite it is renamed over any file there.
// Otherwise an existing file is never touched: tmp is linked as name if
// that is free, else, with o.Unique, as the first of NAME.1, NAME.2, ...
// that is, and without it the error wraps ErrExists. A link leaves tmp
// in place: the caller removes it.
func storeAs(root *os.Root, tmp, name string, o FileOptions) (string, error) {
	if o.Overwrite {
		if err := root.Rename(tmp, name); err != nil {
			return "", err
		}
		return name, nil
	}
	// link(2) fails if the name exists, so a file that appeared meanwhile
	// is not replaced either.
	for i := 0; ; i++ {
		candidate := name
		if i > 0 {
			candidate = fmt.Sprintf("%s.%d", name, i)
		}
		err := root.Link(tmp, candidate)
		if err == nil {
			return candidate, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		if !o.Unique || i >= 10000 {
			return "", fmt.Errorf("%w: %s", ErrExists, candidate)
		}
	}
}

// PartialDir is the subdirectory where RecvFile keeps its partial files,
// made (mode 0700) in the file's directory while one is under way. No
// name CheckName accepts leads into it or is it, so that CleanPartial,
// which looks only there, can never remove a file that was stored.
const PartialDir = ".wirelab-partial"

// errNotPartialDir is the error when PartialDir is there but is not a
// directory: a file that an older wirelab stored under the name.
var errNotPartialDir = fmt.Errorf("%s is not a directory: move it away to receive files here", PartialDir)

// partMark marks the partial files of RecvFile: "NAME.part-HEX", with 12
// hex digits.
const partMark = ".part-"

// createTemp creates a new partial file for name in root's PartialDir,
// locked (flock; LockFileEx on Windows) for as long as it is open, so that CleanPartial can tell
// the leftovers of a killed process from transfers under way. It returns
// the file's path in root.
func createTemp(root *os.Root, name string) (string, *os.File, error) {
	var rnd [6]byte
	for range 100 {
		if err := root.Mkdir(PartialDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
		rand.Read(rnd[:])
		base := name + partMark + hex.EncodeToString(rnd[:])
		if len(base) > 250 {
			base = "wirelab" + partMark + hex.EncodeToString(rnd[:])
		}
		tmp := PartialDir + "/" + base
		f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		switch {
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, fs.ErrNotExist):
			// Windows says "not found" where Unix says ENOTDIR: a file
			// took the directory's name.
			if st, serr := root.Lstat(PartialDir); serr == nil && !st.IsDir() {
				return "", nil, errNotPartialDir
			}
			continue // another transfer removed the empty directory meanwhile
		case errors.Is(err, syscall.ENOTDIR):
			return "", nil, errNotPartialDir
		case err == nil:
			tryLock(f)
		}
		return tmp, f, err
	}
	return "", nil, errors.New("cannot create a partial file")
}

// CleanPartial removes from dir's PartialDir the partial files that
// RecvFile left when its process was killed mid-transfer: files named as
// createTemp names them that no process holds locked. It never looks at
// dir itself, where only stored files live. It returns how many it
// removed.
func CleanPartial(dir string) (int, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	st, err := root.Lstat(PartialDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err == nil && !st.IsDir() {
		err = errNotPartialDir
	}
	if err != nil {
		return 0, err
	}
	d, err := root.Open(PartialDir)
	if err != nil {
		return 0, err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		i := strings.LastIndex(name, partMark)
		if i < 0 || !e.Type().IsRegular() {
			continue
		}
		if _, err := hex.DecodeString(name[i+len(partMark):]); err != nil || len(name)-i-len(partMark) != 12 {
			continue
		}
		path := PartialDir + "/" + name
		f, err := root.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		if removeUnlocked(root, path, f) {
			removed++
		}
		f.Close()
	}
	removePartialDir(root)
	return removed, nil
}

// removePartialDir removes root's PartialDir when it is an empty
// directory, so that a store holds only what was stored; createTemp makes
// it again. A file of that name (stored before the name was reserved) is
// never removed.
func removePartialDir(root *os.Root) {
	if st, err := root.Lstat(PartialDir); err == nil && st.IsDir() {
		root.Remove(PartialDir) // fails, as it should, while not empty
	}
}

func hexSum(h hash.Hash) string {
	if h == nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
