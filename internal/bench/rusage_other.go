//go:build !unix

package bench

import "time"

// rusage is not available here: CPU time and peak RSS read as zero.
func rusage() (cpu time.Duration, maxRSS int64) { return 0, 0 }
