//go:build !unix

package segment

import "time"

// processCPU is unknown here: benchmarks leave out their CPU figures.
func processCPU() time.Duration { return 0 }
