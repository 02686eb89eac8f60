package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/hookd/hookd/internal/jsonbody"
)

// DefaultMaxBodyBytes caps a request body when Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 64 << 20

// DefaultFailStatus answers simulated failures when Config.FailStatus is zero.
const DefaultFailStatus = http.StatusServiceUnavailable

// statsPath is the path that answers GET with the Stats.
const statsPath = "/stats"

// Config tunes a Sink. The zero value accepts everything at once and keeps
// only counters.
type Config struct {
	// FailRate is the fraction of POST requests answered with FailStatus
	// instead of 200 (0 = never, 1 = always). Nothing in a failed request is
	// counted as a record.
	FailRate float64
	// FailStatus answers simulated failures; 0 means DefaultFailStatus (503).
	FailStatus int
	// Delay is latency added to every POST request (0 = none). A request
	// whose context ends during the delay is answered 503 and not counted.
	Delay time.Duration
	// Keep keeps every accepted record for Received (for tests). Without it
	// the Sink keeps only counters and the set of dedup keys.
	Keep bool
	// MaxBodyBytes caps a request body (larger: 413); 0 means
	// DefaultMaxBodyBytes (64 MiB).
	MaxBodyBytes int64
	// Rand is the randomness source for FailRate; tests inject a seeded
	// one. nil means a source seeded from the time. The Sink serialises its
	// use, so it must not be shared with other goroutines.
	Rand *rand.Rand
	// Clock timestamps receipts; nil means time.Now.
	Clock func() time.Time
}

// Received is one accepted record, kept when Config.Keep is set.
type Received struct {
	// Key is the record's dedup key (see Sink).
	Key string
	// Raw is the record exactly as it appeared in the body.
	Raw json.RawMessage
	// ContentType is the Content-Type header of the request ("" if none).
	ContentType string
	// Header holds the request's headers; the records of one request share
	// it, so it must not be modified.
	Header http.Header
	// At is when the request was accepted, by Config.Clock.
	At time.Time
	// Dup is true when an earlier record had the same key.
	Dup bool
}

// Stats are a Sink's counters. Requests = accepted + FailedRequests +
// BadRequests + requests abandoned by their client during the delay.
type Stats struct {
	Requests       uint64            `json:"requests"`        // POST requests seen
	FailedRequests uint64            `json:"failed_requests"` // answered with FailStatus
	BadRequests    uint64            `json:"bad_requests"`    // answered 400 or 413
	Records        uint64            `json:"records"`         // records accepted, duplicates included
	Unique         uint64            `json:"unique"`          // distinct dedup keys
	Duplicates     uint64            `json:"duplicates"`      // records whose key was seen before
	ByType         map[string]uint64 `json:"by_type"`         // accepted records by "type" ("" if none)
	ContentTypes   map[string]uint64 `json:"content_types"`   // Content-Type of accepted requests
	Bytes          uint64            `json:"bytes"`           // body bytes of accepted requests
	First          time.Time         `json:"first,omitzero"`  // first accepted request
	Last           time.Time         `json:"last,omitzero"`   // last accepted request
}

// Sink is a webhook receiver: an http.Handler that counts and deduplicates
// the log records POSTed to it. It is safe for concurrent use.
//
// Records are deduplicated by key = type + "/" + id + "/" + event_time
// (the numeric timestamp when event_time is missing). The id alone would not
// do: a log record's id is the spool id of the message it describes, so a
// Reception and a Delivery of one message share it. Records without an id
// are keyed by the SHA-256 of their compacted JSON.
//
// Memory: without Config.Keep the Sink holds counters and a set of 16-byte
// key digests, about 20 to 40 bytes per distinct record (roughly 300 MiB
// for ten million); duplicates cost nothing. With Keep every record is also
// kept in full.
type Sink struct {
	cfg        Config
	maxBody    int64
	failStatus int
	clock      func() time.Time
	// wait waits out Config.Delay; tests replace it.
	wait func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	rng      *rand.Rand
	stats    Stats
	seen     map[digest]struct{}
	received []Received
	// changed is closed and replaced whenever Unique grows.
	changed chan struct{}
}

// New returns a Sink configured by cfg.
func New(cfg Config) *Sink {
	s := &Sink{
		cfg:        cfg,
		maxBody:    cfg.MaxBodyBytes,
		failStatus: cfg.FailStatus,
		clock:      cfg.Clock,
		wait:       waitContext,
		rng:        cfg.Rand,
		seen:       make(map[digest]struct{}),
		changed:    make(chan struct{}),
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.failStatus == 0 {
		s.failStatus = DefaultFailStatus
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rng == nil {
		seed := uint64(time.Now().UnixNano())
		s.rng = rand.New(rand.NewPCG(seed, seed>>32|seed<<32))
	}
	s.stats.ByType = make(map[string]uint64)
	s.stats.ContentTypes = make(map[string]uint64)
	return s
}

// ServeHTTP accepts records on POST to any path but /stats and answers
// GET /stats with the Stats as JSON; any other method is answered 405.
//
// A POST body is one JSON object, a JSON array of objects, or NDJSON (one
// object per line; announced by Content-Type application/x-ndjson, or
// detected when the body holds several top-level values). A malformed body
// is answered 400 with a message naming the index of the bad record, a body
// over the cap 413; in both cases nothing of the request is counted but the
// request itself. Accepted requests are answered 200 {"accepted":N}.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == statsPath {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+statsPath)
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; POST records here")
		return
	}
	s.ingest(w, r)
}

// ingest handles one POST of records.
func (s *Sink) ingest(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		s.countBad()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body exceeds %d bytes", s.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return
	}
	if s.cfg.Delay > 0 {
		if err := s.wait(r.Context(), s.cfg.Delay); err != nil {
			writeError(w, http.StatusServiceUnavailable, "request ended during the delay: "+err.Error())
			return
		}
	}
	if s.shouldFail() {
		writeError(w, s.failStatus, "simulated failure")
		return
	}
	contentType := r.Header.Get("Content-Type")
	records, err := jsonbody.Split(body, jsonbody.IsNDJSON(contentType))
	if err != nil {
		s.countBad()
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var header http.Header
	if s.cfg.Keep {
		header = r.Header.Clone()
	}
	s.accept(records, contentType, header, len(body))
	writeJSON(w, http.StatusOK, struct {
		Accepted int `json:"accepted"`
	}{len(records)})
}

// shouldFail rolls the dice for a simulated failure and counts it.
func (s *Sink) shouldFail() bool {
	if s.cfg.FailRate <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.FailRate < 1 && s.rng.Float64() >= s.cfg.FailRate {
		return false
	}
	s.stats.FailedRequests++
	return true
}

// countBad counts a request answered 400 or 413.
func (s *Sink) countBad() {
	s.mu.Lock()
	s.stats.BadRequests++
	s.mu.Unlock()
}

// keyedRecord is a record with its dedup key worked out.
type keyedRecord struct {
	raw        json.RawMessage
	key        string
	recordType string
	digest     digest
}

// accept counts the records of one well-formed request.
func (s *Sink) accept(records []json.RawMessage, contentType string, header http.Header, size int) {
	keyed := make([]keyedRecord, len(records))
	for i, raw := range records {
		key, recordType := recordKey(raw)
		keyed[i] = keyedRecord{raw: raw, key: key, recordType: recordType, digest: digestOf(key)}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	uniqueBefore := s.stats.Unique
	for _, k := range keyed {
		_, dup := s.seen[k.digest]
		if dup {
			s.stats.Duplicates++
		} else {
			s.seen[k.digest] = struct{}{}
			s.stats.Unique++
		}
		s.stats.Records++
		s.stats.ByType[k.recordType]++
		if s.cfg.Keep {
			s.received = append(s.received, Received{
				Key: k.key, Raw: k.raw, ContentType: contentType, Header: header, At: now, Dup: dup,
			})
		}
	}
	s.stats.ContentTypes[contentType]++
	s.stats.Bytes += uint64(size)
	if s.stats.First.IsZero() {
		s.stats.First = now
	}
	s.stats.Last = now
	if s.stats.Unique != uniqueBefore {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// Stats returns a copy of the counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByType = maps.Clone(s.stats.ByType)
	st.ContentTypes = maps.Clone(s.stats.ContentTypes)
	return st
}

// Received returns every accepted record in arrival order when Config.Keep
// is set, and nil otherwise. The slice is a copy; the records' Raw and
// Header are shared and must not be modified.
func (s *Sink) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.received == nil {
		return nil
	}
	out := make([]Received, len(s.received))
	copy(out, s.received)
	return out
}

// WaitFor blocks until at least unique distinct records have been accepted
// or ctx is done; in the second case it returns an error wrapping ctx.Err().
func (s *Sink) WaitFor(ctx context.Context, unique uint64) error {
	for {
		s.mu.Lock()
		have, changed := s.stats.Unique, s.changed
		s.mu.Unlock()
		if have >= unique {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("sink: waiting for %d unique records, have %d: %w", unique, have, ctx.Err())
		}
	}
}

// waitContext waits for d or until ctx is done, whichever comes first.
func waitContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers with {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
