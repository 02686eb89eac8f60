package bench

import (
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// postTo sends body to the receiver and returns the status code and answer.
func postTo(t *testing.T, r *Receiver, contentType, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestReceiverCounts(t *testing.T) {
	g := NewGenerator(1, DefaultMix, 1, genBase)
	body := func(seqs ...int) string {
		if len(seqs) == 1 {
			return string(g.Body(nil, seqs[0]))
		}
		var b []byte
		b = append(b, '[')
		for i, s := range seqs {
			if i > 0 {
				b = append(b, ',')
			}
			b = g.Body(b, s)
		}
		return string(append(b, ']'))
	}
	epoch := time.Now()
	r := NewReceiver(ReceiverConfig{DecodeEvery: 1, KeepBodies: 2}, epoch)
	tally := r.Begin(10)

	steps := []struct {
		name, contentType, body string
		wantCode                int
		wantAnswer              string
	}{
		{"one record", "application/json", body(0), 200, `{"accepted":1}`},
		{"a JSON array", "application/json", body(1, 2, 3), 200, `{"accepted":3}`},
		{"NDJSON", "application/x-ndjson", body(4) + body(5), 200, `{"accepted":2}`},
		{"a record again is a duplicate", "application/json", body(2), 200, `{"accepted":1}`},
		{"a record beyond the phase", "application/json", string(NewGenerator(1, DefaultMix, 1, genBase).Body(nil, 12)), 200, `{"accepted":1}`},
		{"records without a sequence number are counted as unidentified", "", `{"type":"Delivery"}` + "\n" + `{"type":"Bounce"}`, 200, `{"accepted":2}`},
		{"a malformed body is refused", "application/json", `{"type":`, 400, ""},
	}
	for _, st := range steps {
		code, answer := postTo(t, r, st.contentType, st.body)
		if code != st.wantCode || (st.wantAnswer != "" && strings.TrimSpace(answer) != st.wantAnswer) {
			t.Errorf("%s: %d %s; want %d %s", st.name, code, answer, st.wantCode, st.wantAnswer)
		}
	}
	c := tally.Counts()
	want := Counts{Requests: 7, BadRequests: 1, Records: 7, Unique: 6, Duplicates: 1, Attempted: 10,
		Unidentified: 2, OutOfRange: 1, Decoded: 8, BodyBytes: c.BodyBytes, LastNewAt: c.LastNewAt}
	if c != want {
		t.Errorf("counts = %+v\nwant     %+v", c, want)
	}
	for seq := range 10 {
		at, times := tally.Arrival(seq)
		wantTimes := map[int]int{0: 1, 1: 1, 2: 2, 3: 1, 4: 1, 5: 1}[seq]
		if times != wantTimes || (times > 0) != (at > 0) || at > c.LastNewAt {
			t.Errorf("record %d arrived %d times at %d; want %d times, by %d", seq, times, at, wantTimes, c.LastNewAt)
		}
	}
	if kept := tally.Bodies(); len(kept) != 2 || string(kept[0]) != body(0) {
		t.Errorf("kept %d bodies; want the first two", len(kept))
	}
	// A new phase starts from nothing.
	if fresh := r.Begin(5).Counts(); fresh != (Counts{}) {
		t.Errorf("a new phase starts with %+v", fresh)
	}
}

func TestReceiverDecodeCatchesMismatch(t *testing.T) {
	r := NewReceiver(ReceiverConfig{DecodeEvery: 1}, time.Now())
	tally := r.Begin(5)
	g := NewGenerator(1, DefaultMix, 1, genBase)
	// A record whose header says 3 in a way the scan does not see: the full decode disagrees.
	good := string(g.Body(nil, 1))
	odd := strings.Replace(string(g.Body(nil, 3)), `"`+SeqHeader+`":"3"`, `"`+SeqHeader+`": "3"`, 1)
	if code, _ := postTo(t, r, "", good+odd); code != 200 {
		t.Fatalf("status %d", code)
	}
	c := tally.Counts()
	if c.DecodeErrors != 1 || !strings.Contains(c.FirstError, "2 records but 1 sequence numbers") {
		t.Errorf("counts = %+v; want the mismatch reported", c)
	}
	bad := strings.Replace(good, `"type":"`+string(g.Record(1).Type)+`"`, `"type":"Delivered"`, 1)
	postTo(t, r, "", bad)
	if c := tally.Counts(); c.DecodeErrors != 2 {
		t.Errorf("a record of an unknown type passed the full decode: %+v", c)
	}
}

func TestReceiverFailRate(t *testing.T) {
	const seed, rate, n = 42, 0.2, 200
	r := NewReceiver(ReceiverConfig{FailRate: rate, Seed: seed}, time.Now())
	tally := r.Begin(n)
	twin := rand.New(rand.NewPCG(seed, 0x5eed)) // the receiver's source, to predict its answers
	g := NewGenerator(1, DefaultMix, 1, genBase)
	failed := 0
	for seq := range n {
		wantFail := twin.Float64() < rate
		code, _ := postTo(t, r, "application/json", string(g.Body(nil, seq)))
		if wantFail != (code == http.StatusServiceUnavailable) || (!wantFail && code != http.StatusOK) {
			t.Fatalf("request %d: status %d; want failure=%v", seq, code, wantFail)
		}
		if wantFail {
			failed++
		}
	}
	if failed < n/10 || failed > n*3/10 {
		t.Fatalf("%d of %d requests failed; the seed should give about a fifth", failed, n)
	}
	c := tally.Counts()
	if c.FailedRequests != failed || c.Unique != n-failed || c.Attempted != n || c.Records != n-failed {
		t.Errorf("counts = %+v; want %d failed, %d unique, %d attempted", c, failed, n-failed, n)
	}
	for seq := range n {
		if _, times := tally.Arrival(seq); times > 1 {
			t.Errorf("record %d counted %d times", seq, times)
		}
	}
	// The same seed answers the same way again.
	again := NewReceiver(ReceiverConfig{FailRate: rate, Seed: seed}, time.Now())
	again.Begin(n)
	for seq := range 20 {
		code, _ := postTo(t, again, "", string(g.Body(nil, seq)))
		_, times := tally.Arrival(seq)
		if (code == http.StatusOK) != (times == 1) {
			t.Fatalf("request %d: a second receiver with the seed answered %d", seq, code)
		}
	}
}

func TestReceiverRefusesOtherMethods(t *testing.T) {
	r := NewReceiver(ReceiverConfig{}, time.Now())
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/events", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET = %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if code, _ := postTo(t, r, "", "{}"); code != http.StatusServiceUnavailable {
		t.Errorf("a POST before any phase = %d; want 503", code)
	}
}

func TestScanSeqs(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []int
		bad  int
	}{
		{`{"headers":{"X-Bench-Seq":"17"}}`, []int{17}, 0},
		{`[{"X-Bench-Seq":"1"},{"X-Bench-Seq":"0"}]`, []int{1, 0}, 0},
		{`{"X-Bench-Seq":""}`, nil, 1},
		{`{"X-Bench-Seq":"12x"}`, nil, 1},
		{`{"X-Bench-Seq":"99999999999"}`, nil, 1},
		{`{"X-Bench-Seq":"5`, nil, 1},
		{`{"x-bench-seq":"5"}`, nil, 0},
	} {
		seqs, bad := scanSeqs([]byte(tt.body))
		if len(seqs) != len(tt.want) || bad != tt.bad {
			t.Errorf("scanSeqs(%s) = %v, %d bad; want %v, %d", tt.body, seqs, bad, tt.want, tt.bad)
			continue
		}
		for i := range seqs {
			if seqs[i] != tt.want[i] {
				t.Errorf("scanSeqs(%s) = %v; want %v", tt.body, seqs, tt.want)
			}
		}
	}
}
