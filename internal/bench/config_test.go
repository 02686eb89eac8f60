package bench

import "testing"

func TestDefaultConcurrencyKeepsAboutAThousandRecordsInFlight(t *testing.T) {
	for _, c := range []struct{ logBatch, want int }{{0, 64}, {1, 64}, {16, 64}, {20, 51}, {100, 10}, {500, 8}, {10000, 8}} {
		if got := DefaultConcurrency(c.logBatch); got != c.want {
			t.Errorf("DefaultConcurrency(%d) = %d, want %d", c.logBatch, got, c.want)
		}
	}
	cfg, err := Config{Records: 1, LogBatch: 100}.withDefaults()
	if err != nil || cfg.Concurrency != 10 {
		t.Errorf("100 records per Log call: concurrency %d (%v), want 10", cfg.Concurrency, err)
	}
	cfg, err = Config{Records: 1, LogBatch: 100, Concurrency: 3}.withDefaults()
	if err != nil || cfg.Concurrency != 3 {
		t.Errorf("an explicit concurrency became %d (%v), want 3", cfg.Concurrency, err)
	}
}
