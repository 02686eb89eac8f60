//go:build unix

package bench

import (
	"runtime"
	"syscall"
	"time"
)

// rusage returns the CPU time (user + system) the process has used and its peak resident set size
// in bytes, from getrusage(RUSAGE_SELF).
func rusage() (cpu time.Duration, maxRSS int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		maxRSS <<= 10 // kilobytes everywhere but on Apple systems
	}
	return cpu, maxRSS
}
