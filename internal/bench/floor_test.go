package bench

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/segment"
)

// floorBatch is the records per POST of the floor benchmark: `hookd bench --batch 100`.
const floorBatch = 100

// BenchmarkFloor measures, in one run and on the same receiver, what `hookd bench --batch 100`'s
// baseline costs per record against the least that any design of hookd can spend on the same
// records with the bench's batch policy. That least is a straight line with no actors, no queues,
// no messages between goroutines and no capture: each of GOMAXPROCS workers owns a Lua state and a
// connection of the policy's sender, and for every 100 records it builds each record and its JSON
// body (as the baseline does), runs the policy's should_enqueue_log_record, encodes the meta, writes
// all 100 durably as one group and waits for it, sends them through the policy's send_batch
// (kumo.http), and deletes them. The baseline workers build the same records and POST the same
// bodies with net/http.
//
// The durable write is hookd's spool (spool=segment, one store shared by the workers, as the engine
// has), or the least a durable write can cost (spool=bare-file: each worker compresses its group as
// one zstd frame, appends it to a file of its own and fdatasyncs it, on its own goroutine, and its
// deletes ride in the next group's frame; nothing could read it back after a crash, which is what
// makes it a floor).
//
// Rounds of the two alternate; each is timed by the process's CPU time (getrusage), so a noisy
// neighbour moves both alike. It reports the CPU µs per record of each and baseline/floor: the
// baseline keeps both cores busy, so the delivered/s hookd can reach against the baseline is at
// most that ratio.
func BenchmarkFloor(b *testing.B) {
	recv, srv, policy, store := floorSetup(b, ReceiverConfig{})
	spools := []struct {
		name string
		open func(dir string) (floorSpool, error)
	}{
		{"segment", func(string) (floorSpool, error) {
			return &segmentSpool{store: store, durable: make(chan error, 1)}, nil
		}},
		{"bare-file", openBareFile},
	}
	for _, sp := range spools {
		b.Run("spool="+sp.name, func(b *testing.B) { floorRounds(b, recv, srv.URL, policy, sp.open) })
	}
}

// floorRounds alternates rounds of the baseline and of the straight line (on spools that open
// returns, one per worker) and reports their CPU per record.
func floorRounds(b *testing.B, recv *Receiver, url string, policy *lua.Policy, open func(dir string) (floorSpool, error)) {
	workers := runtime.GOMAXPROCS(0)
	gen := NewGenerator(1, DefaultMix, 1, time.Now())
	lines := make([]*floorLine, workers)
	for i := range lines {
		sp, err := open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if lines[i], err = newFloorLine(policy, sp, gen, byte(i)); err != nil {
			b.Fatal(err)
		}
		defer lines[i].close()
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	const perWorker = 20 * floorBatch
	n := workers * perWorker
	// round runs one batch-sending function on every worker, each over its own perWorker records,
	// checks that the receiver got every record, and returns the CPU time it took.
	round := func(work func(w int, seqs []int) error) time.Duration {
		t := recv.Begin(n)
		before, _ := rusage()
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				seqs := make([]int, floorBatch)
				for start := w * perWorker; start < (w+1)*perWorker; start += floorBatch {
					for i := range seqs {
						seqs[i] = start + i
					}
					if err := work(w, seqs); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		after, _ := rusage()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		if got := t.Unique(); got != n {
			b.Fatalf("the receiver got %d distinct records of %d", got, n)
		}
		return after - before
	}
	plain := func(_ int, seqs []int) error {
		body := []byte{'['}
		for i, seq := range seqs {
			if i > 0 {
				body = append(body, ',')
			}
			body = gen.Body(body, seq)
		}
		return post(b.Context(), client, url, append(body, ']'))
	}
	straight := func(w int, seqs []int) error { return lines[w].deliver(seqs) }

	var plainCPU, floorCPU time.Duration
	rounds := 0
	for b.Loop() {
		plainCPU += round(plain)
		floorCPU += round(straight)
		rounds++
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(rounds*n) }
	b.ReportMetric(per(plainCPU), "baseline-cpu-µs/record")
	b.ReportMetric(per(floorCPU), "floor-cpu-µs/record")
	b.ReportMetric(float64(plainCPU)/float64(floorCPU), "baseline/floor")
}

// floorSetup starts a receiver and its server, loads the batch policy posting to it and opens a
// spool store; the test's cleanup closes them.
func floorSetup(tb testing.TB, cfg ReceiverConfig) (*Receiver, *httptest.Server, *lua.Policy, *segment.Store) {
	recv := NewReceiver(cfg, time.Now())
	srv := httptest.NewServer(recv)
	tb.Cleanup(srv.Close)
	store, err := segment.Open(segment.Options{Dir: tb.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return recv, srv, floorPolicy(tb, srv.URL), store
}

// floorPolicy is the policy `hookd bench --batch 100` runs, posting to url.
func floorPolicy(tb testing.TB, url string) *lua.Policy {
	cfg, err := Config{Records: 1, Batch: floorBatch}.withDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	text, name, err := (&runner{cfg: cfg}).policySource(url)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := lua.LoadSource(name, text, lua.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// floorLine is one worker of the straight line: a Lua state for the hook decision and a connection
// of the policy's sender on it, and buffers reused from batch to batch.
type floorLine struct {
	state   *lua.State
	conn    *lua.Connection
	spool   floorSpool
	gen     *Generator
	ids     *message.IDGen
	msgs    []*lua.Message
	entries []*persistence.Entry
}

func newFloorLine(p *lua.Policy, spool floorSpool, gen *Generator, node byte) (*floorLine, error) {
	st, err := p.NewState()
	if err != nil {
		return nil, err
	}
	conn, err := st.Connect("make.bench.webhook", "bench.webhook", nil, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &floorLine{state: st, conn: conn, spool: spool, gen: gen, ids: message.NewIDGen([6]byte{node, 1, 2, 3, 4, 5})}, nil
}

func (f *floorLine) close() {
	f.conn.Close()
	f.state.Close()
	f.spool.close()
}

// deliver takes the records seqs from their creation to the webhook and out of the spool again.
func (f *floorLine) deliver(seqs []int) error {
	f.msgs, f.entries = f.msgs[:0], f.entries[:0]
	for _, seq := range seqs {
		rec := f.gen.Record(seq)
		body := append(rec.AppendJSON(make([]byte, 0, 1024)), '\n')
		m, err := message.NewHookMessageJSON(rec, f.ids.New(time.Now()), body, body[:len(body)-1:len(body)-1])
		if err != nil {
			return err
		}
		lm := &lua.Message{Msg: m, Record: rec}
		keep, err := f.state.ShouldEnqueue(lm, "bench")
		if err != nil {
			return err
		}
		if !keep {
			continue
		}
		name, err := m.QueueName()
		if err != nil {
			return err
		}
		meta, err := persistence.EncodeMeta(m)
		if err != nil {
			return err
		}
		f.msgs = append(f.msgs, lm)
		f.entries = append(f.entries, &persistence.Entry{ID: m.ID, Queue: name, Meta: meta, Body: m.Body})
	}
	if err := f.spool.put(f.entries); err != nil {
		return err
	}
	if out := f.conn.SendBatch(f.msgs); out.Kind != lua.Returned {
		return fmt.Errorf("send_batch: %v", out)
	}
	f.spool.delete(f.entries)
	return nil
}

// floorSpool is where the straight line makes a group durable and deletes it once delivered.
type floorSpool interface {
	put(es []*persistence.Entry) error // returns once the group is durable
	delete(es []*persistence.Entry)
	close()
}

// segmentSpool is hookd's spool, shared by the workers.
type segmentSpool struct {
	store   *segment.Store
	durable chan error
}

func (s *segmentSpool) put(es []*persistence.Entry) error {
	s.store.PutGroup(es, func(err error) { s.durable <- err })
	return <-s.durable
}

func (s *segmentSpool) delete(es []*persistence.Entry) {
	for _, e := range es {
		s.store.Delete(e.ID)
	}
}

func (s *segmentSpool) close() {} // the store is the benchmark's

// bareFile is the least a durable group can cost: one zstd frame per group (the pending deletes'
// IDs in it), written to a preallocated file of the worker's own and fdatasynced on the worker's
// goroutine (the preallocation keeps the file's size out of each sync, as the segment store does).
type bareFile struct {
	file            *os.File
	enc             *zstd.Encoder
	raw, zbuf, dels []byte
}

// bareFileSize is what a bare file is preallocated to: more than a sub-benchmark writes.
const bareFileSize = 256 << 20

func openBareFile(dir string) (floorSpool, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "bare"))
	if err == nil {
		_, err = f.Write(make([]byte, bareFileSize))
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return nil, err
	}
	return &bareFile{file: f, enc: enc}, nil
}

func (s *bareFile) put(es []*persistence.Entry) error {
	s.raw = append(s.raw[:0], s.dels...)
	s.dels = s.dels[:0]
	for _, e := range es {
		s.raw = append(s.raw, e.ID[:]...)
		s.raw = append(s.raw, e.Queue...)
		s.raw = append(s.raw, e.Meta...)
		s.raw = append(s.raw, e.Body...)
	}
	s.zbuf = s.enc.EncodeAll(s.raw, s.zbuf[:0])
	if _, err := s.file.Write(s.zbuf); err != nil {
		return err
	}
	return syscall.Fdatasync(int(s.file.Fd()))
}

func (s *bareFile) delete(es []*persistence.Entry) {
	for _, e := range es {
		s.dels = append(s.dels, e.ID[:]...)
	}
}

func (s *bareFile) close() {
	s.file.Close()
	s.enc.Close()
}

// TestFloorLineDelivers: the floor benchmark's straight line delivers every record of a batch to the
// receiver, in one request, each decoded in full.
func TestFloorLineDelivers(t *testing.T) {
	recv, _, p, store := floorSetup(t, ReceiverConfig{DecodeEvery: 1})
	line, err := newFloorLine(p, &segmentSpool{store: store, durable: make(chan error, 1)}, NewGenerator(1, DefaultMix, 1, time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer line.close()
	tally := recv.Begin(floorBatch)
	seqs := make([]int, floorBatch)
	for i := range seqs {
		seqs[i] = i
	}
	if err := line.deliver(seqs); err != nil {
		t.Fatal(err)
	}
	c := tally.Counts()
	if tally.Unique() != floorBatch || c.Requests != 1 || c.DecodeErrors != 0 {
		t.Fatalf("received %d distinct records in %d requests (%d decode errors), want %d in 1", tally.Unique(), c.Requests, c.DecodeErrors, floorBatch)
	}
}
