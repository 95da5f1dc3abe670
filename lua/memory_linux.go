package lua

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// machineMemory is the memory this process may use: the machine's, or
// its control group's limit (cgroup v2's memory.max) when that is less.
// 0 when unknown.
func machineMemory() int64 {
	var info syscall.Sysinfo_t
	if syscall.Sysinfo(&info) != nil {
		return 0
	}
	total := int64(info.Totalram) * int64(info.Unit)
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < total {
			total = n
		}
	}
	return total
}
