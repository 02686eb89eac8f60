package bench

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Latency summarises the latencies of one phase: from the moment a record was accepted (its Log
// call returned, its POST to the node was answered, or the baseline took it) to its first arrival
// at the receiver. Percentiles are exact (nearest rank over every sample).
type Latency struct {
	Samples int `json:"samples"`
	// Early counts records that arrived before the call that accepted them returned (the engine
	// may deliver before the caller sees the answer); they count as zero.
	Early int     `json:"early"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// summarize sorts the samples (nanoseconds) in place and summarises them.
func summarize(samples []int64, early int) Latency {
	l := Latency{Samples: len(samples), Early: early}
	if len(samples) == 0 {
		return l
	}
	slices.Sort(samples)
	sum := 0.0
	for _, s := range samples {
		sum += float64(s)
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	l.Mean = sum / float64(len(samples)) / 1e6
	l.P50 = ms(percentile(samples, 50))
	l.P99 = ms(percentile(samples, 99))
	l.P999 = ms(percentile(samples, 99.9))
	l.Max = ms(samples[len(samples)-1])
	return l
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted samples by the nearest-rank
// method: the smallest sample with at least p% of the samples at or below it.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	// The rank is ceil(p/100 * n); the product is rounded first so that 99.9% of 1000 is 999,
	// not 1000 because of binary fractions.
	rank := int(math.Ceil(math.Round(p/100*float64(len(sorted))*1e6) / 1e6))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// rssSampler records the peak of the process's resident set size while it runs.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done sync.WaitGroup
}

// sampleRSS samples the resident set size every interval until stopped.
func sampleRSS(every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.note()
	s.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.note()
			}
		}
	})
	return s
}

func (s *rssSampler) note() {
	rss := currentRSS()
	for p := s.peak.Load(); rss > p && !s.peak.CompareAndSwap(p, rss); p = s.peak.Load() {
	}
}

// Stop stops sampling and returns the peak seen.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.done.Wait()
	s.note()
	return s.peak.Load()
}

// currentRSS is the process's resident set size in bytes: the second field of /proc/self/statm
// (cheaper to read than /proc/self/status, which matters at 50 samples a second); 0 where that is
// unavailable.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	return statmRSS(b, os.Getpagesize())
}

// statmRSS reads the resident pages out of /proc/PID/statm text, in bytes.
func statmRSS(statm []byte, pageSize int) int64 {
	fields := bytes.Fields(statm)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil || pages < 0 {
		return 0
	}
	return pages * int64(pageSize)
}

// peakRSS is the process's lifetime peak resident set size in bytes: VmHWM where /proc has it,
// else getrusage's ru_maxrss.
func peakRSS() int64 {
	if v := procStatus("VmHWM:"); v > 0 {
		return v
	}
	_, maxrss := rusage()
	return maxrss
}

// procStatus reads one "Name: N kB" line of /proc/self/status, in bytes (0 when unavailable).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusField(b, field)
}

// statusField finds the line starting with field (e.g. "VmRSS:") in /proc/PID/status text and
// returns its value in bytes; 0 when it is missing or malformed.
func statusField(status []byte, field string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(field)) {
			continue
		}
		num, ok := bytes.CutSuffix(bytes.TrimSpace(line[len(field):]), []byte("kB"))
		if !ok {
			return 0
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(num)), 10, 64)
		if err != nil || v < 0 {
			return 0
		}
		return v << 10
	}
	return 0
}
