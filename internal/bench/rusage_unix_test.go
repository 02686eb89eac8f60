//go:build unix

package bench

import (
	"testing"
	"time"
)

func TestRusageAdvances(t *testing.T) {
	cpu0, _ := rusage()
	deadline := time.Now().Add(2 * time.Second)
	for x := uint64(1); ; x = x*6364136223846793005 + 1 {
		if cpu, maxRSS := rusage(); cpu > cpu0 {
			if maxRSS <= 0 {
				t.Errorf("peak RSS = %d; want it positive", maxRSS)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not advance while spinning (x=%d)", x)
		}
	}
}
