package bench

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/internal/jsonbody"
	"github.com/hookd/hookd/message"
)

// maxBody caps a webhook request body, as the test sink does.
const maxBody = 64 << 20

// ReceiverConfig tunes a Receiver.
type ReceiverConfig struct {
	// FailRate is the fraction of POST requests answered 503 (retryable for the built-in policies)
	// instead of 200; nothing in a failed request counts as received. The choice is made by a PCG
	// source seeded with Seed, so a run's sequence of answers is reproducible.
	FailRate float64
	Seed     uint64
	// DecodeEvery makes every DecodeEvery-th request be decoded in full with message.DecodeRecord and
	// its records checked against the sequence numbers found in it (1 = every request; 0 = none).
	DecodeEvery int
	// KeepBodies keeps the bodies of the first KeepBodies accepted requests of each phase (tests).
	KeepBodies int
}

// Receiver is the loopback webhook of a run. It finds each record's sequence number (SeqHeader) in
// the request body without decoding it, and notes when each record first arrived, how often it
// arrived, and how many records were sent in requests it failed on purpose. Counts belong to a Tally,
// one per phase (Begin). It is safe for concurrent use.
type Receiver struct {
	cfg   ReceiverConfig
	epoch time.Time
	mu    sync.Mutex
	rng   *rand.Rand
	cur   atomic.Pointer[Tally]
}

// NewReceiver returns a receiver whose receipt times are measured from epoch (on the monotonic clock).
func NewReceiver(cfg ReceiverConfig, epoch time.Time) *Receiver {
	return &Receiver{cfg: cfg, epoch: epoch, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
}

// Tally is what a receiver counted during one phase.
type Tally struct {
	keep  int
	first []atomic.Int64 // receipt of record seq, nanoseconds since the epoch; 0 = not yet
	count []atomic.Uint32

	requests, failed, bad                     atomic.Int64
	records, unique, attempted                atomic.Int64
	unidentified, outOfRange                  atomic.Int64
	decoded, decodeErrors, bodyBytes, lastNew atomic.Int64

	mu       sync.Mutex
	firstErr string
	bodies   [][]byte
}

// Begin starts counting a new phase whose records are numbered 0..n-1, and returns its tally.
func (r *Receiver) Begin(n int) *Tally {
	t := &Tally{keep: r.cfg.KeepBodies, first: make([]atomic.Int64, n), count: make([]atomic.Uint32, n)}
	r.cur.Store(t)
	return t
}

// ServeHTTP takes POSTed records: one JSON object, an array or NDJSON, as the sink does.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST records here", http.StatusMethodNotAllowed)
		return
	}
	t := r.cur.Load()
	if t == nil {
		http.Error(w, "no phase is running", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	now := max(time.Since(r.epoch).Nanoseconds(), 1)
	n := t.requests.Add(1)
	if err != nil {
		t.bad.Add(1)
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	seqs, unmarked := scanSeqs(body)
	if len(seqs) == 0 {
		recs, err := jsonbody.Split(body, jsonbody.IsNDJSON(req.Header.Get("Content-Type")))
		if err != nil {
			t.bad.Add(1)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		unmarked = len(recs)
	}
	t.attempted.Add(int64(len(seqs) + unmarked))
	if r.shouldFail() {
		t.failed.Add(1)
		http.Error(w, "simulated failure", http.StatusServiceUnavailable)
		return
	}
	if r.cfg.DecodeEvery > 0 && n%int64(r.cfg.DecodeEvery) == 0 && len(seqs) > 0 {
		t.verify(body, req.Header.Get("Content-Type"), seqs)
	}
	t.unidentified.Add(int64(unmarked))
	t.bodyBytes.Add(int64(len(body)))
	fresh := false
	for _, s := range seqs {
		if s >= len(t.first) {
			t.outOfRange.Add(1)
			continue
		}
		t.records.Add(1)
		if t.count[s].Add(1) == 1 {
			t.first[s].Store(now)
			t.unique.Add(1)
			fresh = true
		}
	}
	if fresh {
		for last := t.lastNew.Load(); now > last && !t.lastNew.CompareAndSwap(last, now); last = t.lastNew.Load() {
		}
	}
	t.keepBody(body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"accepted":` + strconv.Itoa(len(seqs)+unmarked) + "}\n"))
}

// shouldFail rolls the seeded dice for a simulated failure.
func (r *Receiver) shouldFail() bool {
	if r.cfg.FailRate <= 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64() < r.cfg.FailRate
}

// scanSeqs returns the sequence numbers in a body, in order, and how many markers held no number.
func scanSeqs(body []byte) (seqs []int, bad int) {
	for {
		i := bytes.Index(body, []byte(seqMarker))
		if i < 0 {
			return seqs, bad
		}
		body = body[i+len(seqMarker):]
		n, j := 0, 0
		for ; j < len(body) && j < 10 && body[j] >= '0' && body[j] <= '9'; j++ {
			n = n*10 + int(body[j]-'0')
		}
		if j == 0 || j >= len(body) || body[j] != '"' {
			bad++
			continue
		}
		seqs = append(seqs, n)
		body = body[j:]
	}
}

// verify decodes every record of a body and checks that each carries the sequence number the scan
// found for it.
func (t *Tally) verify(body []byte, contentType string, seqs []int) {
	recs, err := jsonbody.Split(body, jsonbody.IsNDJSON(contentType))
	if err == nil && len(recs) != len(seqs) {
		err = fmt.Errorf("%d records but %d sequence numbers", len(recs), len(seqs))
	}
	for i := 0; err == nil && i < len(recs); i++ {
		var rec *message.LogRecord
		if rec, err = message.DecodeRecord(recs[i]); err != nil {
			break
		}
		if got, want := string(rec.Headers[SeqHeader]), strconv.Quote(strconv.Itoa(seqs[i])); got != want {
			err = fmt.Errorf("record %d: header %s is %s, the scan found %s", i, SeqHeader, got, want)
		}
		t.decoded.Add(1)
	}
	if err != nil {
		t.decodeErrors.Add(1)
		t.mu.Lock()
		if t.firstErr == "" {
			t.firstErr = err.Error()
		}
		t.mu.Unlock()
	}
}

func (t *Tally) keepBody(body []byte) {
	if t.keep == 0 {
		return
	}
	t.mu.Lock()
	if len(t.bodies) < t.keep {
		t.bodies = append(t.bodies, body)
	}
	t.mu.Unlock()
}

// Unique is the number of distinct records received so far.
func (t *Tally) Unique() int { return int(t.unique.Load()) }

// Bodies returns the kept request bodies (ReceiverConfig.KeepBodies).
func (t *Tally) Bodies() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([][]byte(nil), t.bodies...)
}

// Arrival returns when record seq first arrived, in nanoseconds since the epoch, and how many times
// it arrived (0: never).
func (t *Tally) Arrival(seq int) (at int64, times int) {
	return t.first[seq].Load(), int(t.count[seq].Load())
}

// Counts are a tally's totals.
type Counts struct {
	Requests       int    `json:"requests"`        // POST requests
	FailedRequests int    `json:"failed_requests"` // answered 503 on purpose
	BadRequests    int    `json:"bad_requests"`    // unreadable or malformed bodies
	Records        int    `json:"records"`         // records received in accepted requests, duplicates included
	Unique         int    `json:"unique"`          // distinct sequence numbers received
	Duplicates     int    `json:"duplicates"`      // Records - Unique
	Attempted      int    `json:"attempted"`       // records sent, failed requests included
	Unidentified   int    `json:"unidentified"`    // records without a sequence number
	OutOfRange     int    `json:"out_of_range"`    // sequence numbers beyond the phase's records
	Decoded        int    `json:"decoded"`         // records decoded in full
	DecodeErrors   int    `json:"decode_errors"`   // requests that failed the full decode
	FirstError     string `json:"first_decode_error,omitempty"`
	BodyBytes      int64  `json:"body_bytes"` // bytes of accepted bodies
	LastNewAt      int64  `json:"-"`          // when the last new record arrived, ns since the epoch
}

// Counts returns the tally's totals so far.
func (t *Tally) Counts() Counts {
	t.mu.Lock()
	firstErr := t.firstErr
	t.mu.Unlock()
	c := Counts{
		Requests: int(t.requests.Load()), FailedRequests: int(t.failed.Load()), BadRequests: int(t.bad.Load()),
		Records: int(t.records.Load()), Unique: int(t.unique.Load()), Attempted: int(t.attempted.Load()),
		Unidentified: int(t.unidentified.Load()), OutOfRange: int(t.outOfRange.Load()),
		Decoded: int(t.decoded.Load()), DecodeErrors: int(t.decodeErrors.Load()), FirstError: firstErr,
		BodyBytes: t.bodyBytes.Load(), LastNewAt: t.lastNew.Load(),
	}
	c.Duplicates = c.Records - c.Unique
	return c
}
