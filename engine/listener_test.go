package engine

import "testing"

// TestIsLoopback: addresses are parsed, so a name that merely starts like
// one (127.example.com) is not taken for this machine.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true, "::ffff:127.0.0.1": true,
		"localhost": true, "LocalHost": true, "unix:/tmp/s": true,
		"127.example.com": false, "127.": false, "127.0.0.1.nip.io": false, "0.0.0.0": false, "::": false,
		"": false, "10.0.0.1": false, "localhost.example.com": false, "128.0.0.1": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
