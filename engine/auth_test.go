package engine

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2Hash returns a PHC-format argon2id hash of pw.
func argon2Hash(pw string, m, t uint32, p uint8) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// cpuTime is the CPU time this process has used: unlike the clock, what
// other processes do does not change it.
func cpuTime() time.Duration { return testbin.CPUTime() }

// checkTimes returns the least CPU time of n checks of each user's
// password, taken in turns so that drift (the garbage collector) touches
// both alike: the work the check does, which is what its answer time
// tells on an idle server, however loaded the machine running the test.
func checkTimes(a *Accounts, user1, user2 string, n int) (time.Duration, time.Duration) {
	best1, best2 := time.Hour, time.Hour
	for i := 0; i < n; i++ {
		start := cpuTime()
		a.Check(user1, "wrong password")
		best1 = min(best1, cpuTime()-start)
		start = cpuTime()
		a.Check(user2, "wrong password")
		best2 = min(best2, cpuTime()-start)
	}
	return best1, best2
}

// TestUnknownUserTakesAsLong: whatever the file's algorithm and cost, an
// unknown user costs what a wrong password of a known one costs, so the
// answer time does not tell which users exist.
func TestUnknownUserTakesAsLong(t *testing.T) {
	cost := 12
	if testing.Short() {
		cost = 8
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("secret"), cost)
	if err != nil {
		t.Fatal(err)
	}
	for name, hash := range map[string]string{
		fmt.Sprintf("bcrypt cost %d", cost): string(bc),
		"argon2id 64 MiB":                   argon2Hash("secret", 64*1024, 1, 4),
		"argon2id 8 MiB t=3":                argon2Hash("secret", 8*1024, 3, 1),
	} {
		t.Run(name, func(t *testing.T) {
			testbin.SkipWine(t, testbin.WineCPU)
			path := filepath.Join(t.TempDir(), "accounts")
			os.WriteFile(path, []byte("alice:"+hash+"\n"), 0o600)
			a, err := LoadAccounts(path)
			if err != nil {
				t.Fatal(err)
			}
			if !a.Check("alice", "secret") || a.Check("alice", "nope") || a.Check("bob", "secret") {
				t.Fatal("wrong answers")
			}
			known, unknown := checkTimes(a, "alice", "bob", 7)
			if ratio := float64(unknown) / float64(known); ratio < 0.7 || ratio > 1.4 {
				t.Fatalf("unknown user %v, known user %v (ratio %.2f)", unknown, known, ratio)
			}
			t.Logf("unknown user %v, known user %v", unknown, known)
		})
	}
}

// TestHashingBounded: checks running at once never exceed the CPU count,
// so 40 concurrent argon2id logins do not take 64 MiB each at once.
func TestHashingBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts")
	os.WriteFile(path, []byte("alice:"+argon2Hash("secret", 4*1024, 2, 1)+"\n"), 0o600)
	a, err := LoadAccounts(path)
	if err != nil {
		t.Fatal(err)
	}
	hashingPeak.Store(0)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); a.Check("alice", "x") }()
	}
	wg.Wait()
	if peak := int(hashingPeak.Load()); peak < 1 || peak > runtime.NumCPU() {
		t.Fatalf("%d hashes at once on %d CPUs", peak, runtime.NumCPU())
	}
}
