package segment

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// typicalEntry is the spool entry of a typical webhook message: a Delivery record of about 600 bytes
// (without TLS fields) as the body, its envelope and captured meta. Records differ as real ones do (ids, times, recipients,
// sizes), so compression is not flattered.
func typicalEntry(ids *message.IDGen, rng *rand.Rand, now time.Time) *persistence.Entry {
	id := ids.New(now)
	domains := []string{"gmail.com", "yahoo.com", "outlook.com", "example.org", "icloud.com"}
	tenants := []string{"acme", "globex", "initech", "umbrella"}
	dom, tenant := domains[rng.IntN(len(domains))], tenants[rng.IntN(len(tenants))]
	dp := "ESMTP"
	rec := &message.LogRecord{Type: message.Delivery, ID: ids.New(now.Add(-time.Minute)).String(),
		Sender:    "news@" + tenant + ".example",
		Recipient: message.Recipients{fmt.Sprintf("user%d@%s", rng.IntN(1e7), dom)},
		Queue:     tenant + "@" + dom, Site: "mx." + dom, Size: uint64(2000 + rng.IntN(80000)),
		Response:  message.Response{Code: 250, Content: fmt.Sprintf("OK %x", rng.Uint32())},
		Timestamp: now.Unix(), EventTime: now, Created: now.Unix() - 60, CreatedTime: now.Add(-time.Minute),
		BounceClassification: "Uncategorized", Meta: map[string]json.RawMessage{"tenant": []byte(`"` + tenant + `"`)},
		DeliveryProtocol: &dp, NodeID: "5b6c1f1e-4d2a-4c7e-9d7b-2f5e8c1a9b3d"}
	body := append(rec.AppendJSON(nil), '\n')
	m, _ := message.NewHookMessage(rec, id, body)
	m.Meta.SetString("queue", "webhook")
	meta, _ := persistence.EncodeMeta(m)
	return &persistence.Entry{ID: id, Queue: "webhook", Meta: meta, Body: body}
}

func benchEntries(n int) []*persistence.Entry {
	ids := message.NewIDGen(message.RandomNode())
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]*persistence.Entry, n)
	now := time.Now()
	for i := range out {
		out[i] = typicalEntry(ids, rng, now.Add(time.Duration(i)*time.Millisecond))
	}
	return out
}

// BenchmarkRawAppendFsync is the disk's own ceiling for one writer: append a typical record's bytes
// and fsync, without compression or framing.
func BenchmarkRawAppendFsync(b *testing.B) {
	e := benchEntries(1)[0]
	rec := append(append([]byte{}, e.Meta...), e.Body...)
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPut measures durable puts: each writer waits for its put's acknowledgement (after fsync)
// before the next one, as a producer waiting for an HTTP answer does. cpu-µs/put is the CPU the
// whole process spent per put (writers, writer, syncer, runtime).
func BenchmarkPut(b *testing.B) {
	entries := benchEntries(20000)
	for _, writers := range []int{1, 8, 64} {
		for _, pre := range []int64{-1, 0} { // without and with the default preallocation
			name := "writers=" + strconv.Itoa(writers) + "/prealloc=" + strconv.FormatBool(pre == 0)
			b.Run(name, func(b *testing.B) { benchPut(b, entries, writers, pre) })
		}
	}
}

func benchPut(b *testing.B, entries []*persistence.Entry, writers int, prealloc int64) {
	s := open(b, b.TempDir(), func(o *Options) { o.Preallocate = prealloc })
	defer s.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				e := *entries[i%int64(len(entries))]
				e.ID[15] ^= byte(i >> 16) // distinct ids past the prepared set
				s.Put(&e, func(err error) { done <- err })
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
	reportRate(b, float64(b.N), el, cpu, "puts", "put")
	b.ReportMetric(float64(b.N)/float64(st.Frames), "puts/fsync")
	b.ReportMetric(float64(st.Bytes)/float64(b.N), "disk-B/put")
}

// reportRate reports n units per second and the whole process's CPU per unit (writers, writer,
// syncer, runtime).
func reportRate(b *testing.B, n float64, el, cpu time.Duration, units, unit string) {
	b.ReportMetric(n/el.Seconds(), units+"/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/n, "cpu-µs/"+unit)
	}
}

// BenchmarkLoad reads messages back the way deliveries do, in the order they were written.
func BenchmarkLoad(b *testing.B) {
	s := open(b, b.TempDir())
	defer s.Close()
	entries := benchEntries(5000)
	for _, e := range entries {
		s.Put(e, nil)
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := s.Load(entries[i%len(entries)].ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRecover measures Open on a spool of n live messages (HOOKD_BENCH_RECOVER sets n; default
// 100,000; the figure is for 1,000,000).
func BenchmarkRecover(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("HOOKD_BENCH_RECOVER")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	s := open(b, dir)
	entries := benchEntries(10000)
	for i := 0; i < n; i++ {
		e := *entries[i%len(entries)]
		e.ID[14], e.ID[15] = byte(i>>16), byte(i>>8)
		e.ID[13] ^= byte(i)
		s.Put(&e, nil)
		if i%50000 == 0 {
			s.Flush()
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	disk := s.Stats().DiskBytes
	s.Close()
	b.ResetTimer()
	for b.Loop() {
		s := open(b, dir)
		if got := s.Len(); got != n {
			b.Fatalf("recovered %d of %d", got, n)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "messages")
	b.ReportMetric(float64(disk)/float64(n), "disk-B/msg")
}

// BenchmarkCompressFrame compresses frames of 1 to 27 typical puts with each of the writer's
// encoders, which it picks by size (see compress.go); B/put is the compressed size per put.
func BenchmarkCompressFrame(b *testing.B) {
	encs, err := newEncoders()
	if err != nil {
		b.Fatal(err)
	}
	es := benchEntries(27)
	for _, n := range []int{1, 2, 4, 27} {
		var raw []byte
		for _, e := range es[:n] {
			raw = appendEntry(raw, &entry{kind: kindPut, id: e.ID, queue: []byte(e.Queue), meta: e.Meta, body: e.Body})
		}
		for _, v := range []struct {
			name string
			enc  *zstd.Encoder
		}{{"fast", encs.fast}, {"dict", encs.dict}, {"plain", encs.plain}} {
			b.Run("puts="+strconv.Itoa(n)+"/"+v.name, func(b *testing.B) {
				var out []byte
				for b.Loop() {
					out = v.enc.EncodeAll(raw, out[:0])
				}
				b.ReportMetric(float64(len(out))/float64(n), "B/put")
			})
		}
	}
}
