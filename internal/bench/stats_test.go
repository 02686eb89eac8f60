package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1) // 1..100
	}
	thousand := make([]int64, 1000)
	for i := range thousand {
		thousand[i] = int64(i + 1)
	}
	tests := []struct {
		name   string
		sorted []int64
		p      float64
		want   int64
	}{
		{"the median of 1..100 is 50 (nearest rank)", hundred, 50, 50},
		{"p99 of 1..100 is 99", hundred, 99, 99},
		{"p99.9 of 1..100 rounds up to the largest", hundred, 99.9, 100},
		{"p100 is the largest", hundred, 100, 100},
		{"a tiny p is the smallest", hundred, 0.001, 1},
		{"p99.9 of 1..1000 is 999, not 1000", thousand, 99.9, 999},
		{"p50 of 1..1000 is 500", thousand, 50, 500},
		{"one sample is every percentile", []int64{7}, 99.9, 7},
		{"no samples give zero", nil, 50, 0},
		{"p50 of two samples is the first", []int64{3, 9}, 50, 3},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(%v) = %d; want %d", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	// 1000 samples of 1..1000 ms, shuffled: summarize sorts them.
	samples := make([]int64, 1000)
	for i := range samples {
		samples[i] = int64((i*7919)%1000+1) * int64(time.Millisecond)
	}
	l := summarize(samples, 3)
	want := Latency{Samples: 1000, Early: 3, Mean: 500.5, P50: 500, P99: 990, P999: 999, Max: 1000}
	if l != want {
		t.Errorf("summarize = %+v; want %+v", l, want)
	}
	if empty := summarize(nil, 0); empty != (Latency{}) {
		t.Errorf("summarize(nil) = %+v", empty)
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\thookd\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t9\nVmBad:\t12 MB\n")
	for _, tt := range []struct {
		field string
		want  int64
	}{
		{"VmRSS:", 40960 << 10}, {"VmHWM:", 51200 << 10}, {"VmSwap:", 0}, {"VmBad:", 0}, {"Threads:", 0},
	} {
		if got := statusField(status, tt.field); got != tt.want {
			t.Errorf("statusField(%q) = %d; want %d", tt.field, got, tt.want)
		}
	}
}

func TestStatmRSS(t *testing.T) {
	for _, tt := range []struct {
		statm string
		want  int64
	}{
		{"224512 10240 3072 400 0 52000 0\n", 10240 * 4096},
		{"224512", 0},
		{"224512 lots 3072", 0},
		{"", 0},
	} {
		if got := statmRSS([]byte(tt.statm), 4096); got != tt.want {
			t.Errorf("statmRSS(%q) = %d; want %d", tt.statm, got, tt.want)
		}
	}
}
