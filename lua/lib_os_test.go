package lua

import (
	"context"
	"io"
	"testing"
)

// TestGetenvEmpty checks that os.getenv tells a variable set empty ("")
// from one not set (nil), as 5.1's does.
func TestGetenvEmpty(t *testing.T) {
	t.Setenv("WIRELAB_TEST_EMPTY", "")
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	defer L.Close()
	err := Run(L, "getenv", []byte(`
		assert(os.getenv("WIRELAB_TEST_EMPTY") == "")
		assert(os.getenv("WIRELAB_TEST_NOT_SET") == nil)`), nil)
	if err != nil {
		t.Fatal(err)
	}
}
