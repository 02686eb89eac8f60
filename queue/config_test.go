package queue

import (
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	logHooks := Config{RetryInterval: time.Minute, MaxRetryInterval: 20 * time.Minute}
	kumoDefault := Config{RetryInterval: 20 * time.Minute}
	cases := []struct {
		name   string
		cfg    Config
		base   []time.Duration // attempts 0..8
		lo, hi time.Duration   // jitter at r=0 and r just below 1
	}{
		{"log_hooks defaults (1m capped at 20m) double up to the cap", logHooks,
			secs(60, 120, 240, 480, 960, 1200, 1200, 1200, 1200), -time.Second, time.Second},
		{"KumoMTA defaults (20m uncapped) keep doubling", kumoDefault,
			secs(1200, 2400, 4800, 9600, 19200, 38400, 76800, 153600, 307200), -30 * time.Second, 29 * time.Second},
		{"a 10s interval has no jitter at all (m/2 = 0.25 s truncates to 0)", Config{RetryInterval: 10 * time.Second},
			secs(10, 20, 40, 80, 160, 320, 640, 1280, 2560), 0, 0},
		{"a cap below the interval wins from the first retry", Config{RetryInterval: time.Hour, MaxRetryInterval: 30 * time.Minute},
			secs(1800, 1800, 1800, 1800, 1800, 1800, 1800, 1800, 1800), -30 * time.Second, 29 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for n, want := range tc.base {
				if got := tc.cfg.BaseDelay(uint16(n)); got != want {
					t.Errorf("attempt %d: base %v, want %v", n, got, want)
				}
				lo := tc.cfg.RetryDelay(uint16(n), 0)
				hi := tc.cfg.RetryDelay(uint16(n), 0.999999)
				mid := tc.cfg.RetryDelay(uint16(n), 0.5)
				if lo != want+tc.lo || hi != want+tc.hi || mid != want {
					t.Errorf("attempt %d: delays at r=0, 0.5, ~1 are %v %v %v, want %v %v %v",
						n, lo, mid, hi, want+tc.lo, want, want+tc.hi)
				}
			}
		})
	}
	t.Run("jitter never leaves its bounds and takes every whole-second value in them", func(t *testing.T) {
		seen := map[time.Duration]bool{}
		for i := 0; i < 1000; i++ {
			r := float64(i) / 1000
			d := kumoDefault.RetryDelay(3, r) - 9600*time.Second
			if d < -30*time.Second || d >= 30*time.Second || d%time.Second != 0 {
				t.Fatalf("r=%v: jitter %v out of bounds", r, d)
			}
			seen[d] = true
		}
		if len(seen) != 60 { // -30 (only at r = 0) through 29
			t.Fatalf("saw %d distinct jitter values, want 60", len(seen))
		}
	})
	t.Run("huge attempt counts saturate instead of overflowing", func(t *testing.T) {
		d := kumoDefault.RetryDelay(65535, 0.5)
		if d <= 0 {
			t.Fatalf("delay %v", d)
		}
		if got := logHooks.RetryDelay(65535, 0.5); got != 20*time.Minute {
			t.Fatalf("capped delay %v", got)
		}
	})
	t.Run("the jitter range is a fortieth of the interval, at most 30 s", func(t *testing.T) {
		if got := logHooks.JitterRange(); got != 1500*time.Millisecond {
			t.Fatalf("1m: %v", got)
		}
		if got := (Config{RetryInterval: 10 * time.Hour}).JitterRange(); got != 30*time.Second {
			t.Fatalf("10h: %v", got)
		}
	})
}

func secs(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, s := range v {
		out[i] = time.Duration(s) * time.Second
	}
	return out
}

func TestIdealConnections(t *testing.T) {
	cases := []struct{ limit, ready, want int }{
		{32, 0, 0}, {32, 1, 1}, {32, 2, 2}, {32, 10, 7}, {32, 100, 29}, {32, 1000, 32}, {1, 500, 1}, {0, 5, 0},
	}
	for _, tc := range cases {
		if got := IdealConnections(tc.limit, tc.ready); got != tc.want {
			t.Errorf("IdealConnections(%d, %d) = %d, want %d", tc.limit, tc.ready, got, tc.want)
		}
	}
}
