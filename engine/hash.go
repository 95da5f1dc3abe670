package engine

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// NewHash returns a new digest by name: "md5", "sha1" or "sha256"; nil for
// "". MD5 and SHA-1 are here because the tutorials compare files with them,
// not for security.
func NewHash(name string) (hash.Hash, error) {
	switch name {
	case "":
		return nil, nil
	case "md5":
		return md5.New(), nil
	case "sha1":
		return sha1.New(), nil
	case "sha256":
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("unknown hash %q (md5, sha1, sha256)", name)
}

// HashFile returns the hex digest and the size of a file's contents, read
// in streaming fashion: a file of any size costs a small buffer. With dir
// set, name must be a plain name inside dir, opened through os.Root.
func HashFile(ctx context.Context, algo, name, dir string) (string, int64, error) {
	if algo == "" {
		return "", 0, fmt.Errorf("unknown hash %q (md5, sha1, sha256)", algo)
	}
	h, err := NewHash(algo)
	if err != nil {
		return "", 0, err
	}
	root, name, err := openRoot(FileOptions{Dir: dir}, name)
	if err != nil {
		return "", 0, err
	}
	defer root.Close()
	f, err := openRegular(root, name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ctxReader is r until ctx is cancelled: a long read of a big file stops
// with ErrInterrupted between chunks.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (cr ctxReader) Read(p []byte) (int, error) {
	if cr.ctx.Err() != nil {
		return 0, ErrInterrupted
	}
	return cr.r.Read(p)
}
