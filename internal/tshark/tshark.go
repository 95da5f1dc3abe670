// Package tshark runs Wireshark's tshark for tests that check how it
// reads the capture files wirelab writes. A test using it is skipped when
// tshark is not installed (Debian's tshark package) or under -short.
package tshark

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Run runs tshark on args and returns its standard output; the test is
// skipped when tshark is not installed or under -short, and fails when it exits non-zero or
// says anything on stderr (its complaints about a file go there).
func Run(t *testing.T, args ...string) string {
	t.Helper()
	out, errText, err := RunAllowError(t, args...)
	if err != nil || errText != "" {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, errText)
	}
	return out
}

// RunAllowError runs tshark on args and returns its standard output,
// its standard error and how it exited.
func RunAllowError(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: Wireshark's reading of the files is not checked (tshark takes a while)")
	}
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (apt-get install tshark): Wireshark's reading of the files is not checked")
	}
	cmd := exec.Command(path, args...)
	// tshark reads no profile of the user's: its preferences (decryption
	// keys among them) are the defaults.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	// tshark warns on stderr when run as root; that says nothing of the file.
	errText := strings.TrimSpace(strings.ReplaceAll(errb.String(),
		`Running as user "root" and group "root". This could be dangerous.`, ""))
	return out.String(), errText, err
}

// Follow is tshark's follow,tcp,raw of a stream: the two nodes' addresses
// and the bytes each sent.
type Follow struct {
	Node [2]string
	Data [2][]byte
}

// FollowTCP is tshark -z follow,tcp,raw of stream stream of file.
func FollowTCP(t *testing.T, file string, stream int) Follow {
	t.Helper()
	out := Run(t, "-r", file, "-q", "-z", "follow,tcp,raw,"+strconv.Itoa(stream))
	var fl Follow
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "Node 0: "):
			fl.Node[0] = strings.TrimPrefix(line, "Node 0: ")
		case strings.HasPrefix(line, "Node 1: "):
			fl.Node[1] = strings.TrimPrefix(line, "Node 1: ")
		case line == "" || strings.HasPrefix(line, "====") || strings.Contains(line, ":"):
		default:
			node := 0
			if strings.HasPrefix(line, "\t") {
				node = 1
			}
			b, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("follow output line %q: %v", line, err)
			}
			fl.Data[node] = append(fl.Data[node], b...)
		}
	}
	return fl
}

// Expert returns the Error and Warning lines of a tshark -z expert
// report: each section's heading and its entries.
func Expert(report string) (bad []string, all []string) {
	section := ""
	for _, line := range strings.Split(report, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "=") || strings.HasPrefix(trimmed, "Frequency") {
			continue
		}
		all = append(all, trimmed)
		if i := strings.Index(trimmed, " ("); i > 0 && !strings.ContainsAny(trimmed[:i], " ") {
			section = trimmed[:i] // Errors (n), Warns (n), Notes (n), Chats (n), Comments (n)
		}
		if section == "Errors" || section == "Warns" {
			bad = append(bad, trimmed)
		}
	}
	return bad, all
}
