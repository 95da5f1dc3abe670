package engine

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
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

// HashFile returns the hex digest of a file's contents, read in streaming
// fashion: a file of any size costs a small buffer.
func HashFile(algo, path string) (string, error) {
	if algo == "" {
		return "", fmt.Errorf("unknown hash %q (md5, sha1, sha256)", algo)
	}
	h, err := NewHash(algo)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
