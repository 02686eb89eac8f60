package segment

import (
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/persistence"
)

// BenchmarkPutGroup measures durable groups of typical entries (~1 KiB each before compression):
// each writer waits for its group's acknowledgement before the next, as an HTTP producer of a
// batch does. One op is one group; entries/s counts their messages.
func BenchmarkPutGroup(b *testing.B) {
	entries := benchEntries(20000)
	for _, size := range []int{1, 10, 100} {
		for _, writers := range []int{1, 8} {
			b.Run("size="+strconv.Itoa(size)+"/writers="+strconv.Itoa(writers), func(b *testing.B) {
				benchPutGroup(b, entries, size, writers)
			})
		}
	}
}

func benchPutGroup(b *testing.B, entries []*persistence.Entry, size, writers int) {
	s := open(b, b.TempDir())
	defer s.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	raw := 0
	for _, e := range entries[:size] {
		raw += len(e.Queue) + len(e.Meta) + len(e.Body)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			g := make([]persistence.Entry, size)
			ptrs := make([]*persistence.Entry, size)
			for {
				op := next.Add(1) - 1
				if op >= int64(b.N) {
					return
				}
				for j := range g {
					i := op*int64(size) + int64(j)
					g[j] = *entries[i%int64(len(entries))]
					g[j].ID[15] ^= byte(i >> 16) // distinct ids past the prepared set
					g[j].ID[14] ^= byte(i >> 24)
					ptrs[j] = &g[j]
				}
				s.PutGroup(ptrs, func(err error) { done <- err })
				if err := <-done; err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	st := s.Stats()
	n := float64(b.N) * float64(size)
	reportRate(b, n, el, cpu, "entries", "entry")
	b.ReportMetric(float64(st.CallerFrames)/float64(st.Frames), "caller-frames")
	b.ReportMetric(float64(st.Bytes)/n, "disk-B/entry")
	b.ReportMetric(float64(raw)/float64(size), "raw-B/entry")
}

// nosyncFS is the real file system with fsync made a no-op: what is left of a put's latency is the
// store's own path (goroutine hand-overs, encoding, the write into the page cache).
type nosyncFS struct{ osFS }

func (f nosyncFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	file, err := f.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return nosyncFile{file}, nil
}

func (nosyncFS) SyncDir(string) error { return nil }

type nosyncFile struct{ File }

func (nosyncFile) Sync() error     { return nil }
func (nosyncFile) Datasync() error { return nil }

// BenchmarkIdleLatency is the latency of one message on an idle store, from the call to its
// acknowledgement: a Put (handed to the writer goroutine) against a PutGroup of one (written on
// the caller's goroutine, writeNow), on the disk and with fsync made a no-op (which leaves the
// store's own path). p50 and p99 are per-call latencies.
func BenchmarkIdleLatency(b *testing.B) {
	e := benchEntries(1)[0]
	for _, disk := range []bool{true, false} {
		for _, group := range []bool{false, true} {
			name := map[bool]string{true: "disk", false: "nosync"}[disk] + "/" + map[bool]string{true: "group1", false: "put"}[group]
			b.Run(name, func(b *testing.B) {
				s := open(b, b.TempDir(), func(o *Options) {
					if !disk {
						o.FS = nosyncFS{}
					}
				})
				defer s.Close()
				done := make(chan error, 1)
				cb := func(err error) { done <- err }
				lat := make([]time.Duration, 0, 1<<16)
				one := []*persistence.Entry{nil}
				i := 0
				for b.Loop() {
					c := *e
					c.ID[15], c.ID[14] = byte(i), byte(i>>8)
					i++
					t := time.Now()
					if group {
						one[0] = &c
						s.PutGroup(one, cb)
					} else {
						s.Put(&c, cb)
					}
					if err := <-done; err != nil {
						b.Fatal(err)
					}
					if len(lat) < cap(lat) {
						lat = append(lat, time.Since(t))
					}
					time.Sleep(20 * time.Microsecond) // idle: the writer and the syncer park again
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
				if st := s.Stats(); group && st.CallerFrames == 0 {
					b.Fatal("no group was written by its caller")
				}
			})
		}
	}
}
