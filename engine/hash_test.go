package engine

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// blake3Vectors are the 256-bit hashes of the BLAKE3 specification's test
// vectors (test_vectors.json in the BLAKE3 repository): the input of
// length n is the bytes i % 251 for i in 0..n-1. The lengths cover one
// block, one chunk (1024 bytes) and the chunk boundaries around it, and
// trees deep enough for the SIMD paths (8 and 16 chunks at once).
var blake3Vectors = []struct {
	n    int
	want string
}{
	{0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
	{1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
	{1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
	{1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
	{1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
	{2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
	{8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
	{8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
	{16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
	{31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
}

func vectorInput(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// TestBlake3Vectors checks NewHash("blake3") against the specification,
// whole and written in uneven pieces (a transfer's chunks do not fall on
// BLAKE3's), and HashFile of the same bytes.
func TestBlake3Vectors(t *testing.T) {
	dir := t.TempDir()
	for _, v := range blake3Vectors {
		in := vectorInput(v.n)
		h, err := NewHash("blake3")
		if err != nil {
			t.Fatal(err)
		}
		h.Write(in)
		if got := hex.EncodeToString(h.Sum(nil)); got != v.want {
			t.Errorf("%d bytes: %s, want %s", v.n, got, v.want)
		}
		h, _ = NewHash("blake3")
		for rest := in; len(rest) > 0; {
			k := min(len(rest), 1+len(rest)%777)
			h.Write(rest[:k])
			rest = rest[k:]
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != v.want {
			t.Errorf("%d bytes in pieces: %s, want %s", v.n, got, v.want)
		}
		path := filepath.Join(dir, "v.bin")
		os.WriteFile(path, in, 0o600)
		sum, size, err := HashFile(context.Background(), "blake3", path, "")
		if err != nil || sum != v.want || size != int64(v.n) {
			t.Errorf("HashFile of %d bytes: %s %d %v", v.n, sum, size, err)
		}
	}
}

// TestCloneHash: a copy goes on from the original's state, and neither
// changes the other, for every digest NewHash makes.
func TestCloneHash(t *testing.T) {
	for _, name := range strings.Split(HashNames, ", ") {
		t.Run(name, func(t *testing.T) {
			sum := func(s string) string {
				h, _ := NewHash(name)
				h.Write([]byte(s))
				return hex.EncodeToString(h.Sum(nil))
			}
			h, err := NewHash(name)
			if err != nil {
				t.Fatal(err)
			}
			h.Write([]byte("ab"))
			c, err := CloneHash(name, h)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("c"))
			h.Write([]byte("d"))
			if got := hex.EncodeToString(c.Sum(nil)); got != sum("abc") {
				t.Errorf("copy: %s, want %s", got, sum("abc"))
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != sum("abd") {
				t.Errorf("original: %s, want %s", got, sum("abd"))
			}
		})
	}
}

// TestNewHashUnknown: an unknown name is an error that lists the known
// ones, also for HashFile.
func TestNewHashUnknown(t *testing.T) {
	want := `unknown hash "xxh3" (md5, sha1, sha256, blake3)`
	if _, err := NewHash("xxh3"); err == nil || err.Error() != want {
		t.Fatalf("NewHash: %v", err)
	}
	if _, _, err := HashFile(context.Background(), "xxh3", "x", ""); err == nil || err.Error() != want {
		t.Fatalf("HashFile: %v", err)
	}
	if h, err := NewHash(""); h != nil || err != nil {
		t.Fatalf("NewHash(\"\"): %v %v", h, err)
	}
}
