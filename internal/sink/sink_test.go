package sink

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixedClock returns a clock that starts at a fixed instant and advances one
// second per call.
func fixedClock() func() time.Time {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		now = now.Add(time.Second)
		return now
	}
}

// post sends body to the sink through ServeHTTP and returns the recorder.
func post(t *testing.T, s *Sink, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// accepted decodes a 200 {"accepted":N} answer.
func accepted(t *testing.T, rec *httptest.ResponseRecorder) int {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d (%s); want 200", rec.Code, rec.Body)
	}
	var resp struct {
		Accepted *int `json:"accepted"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Accepted == nil {
		t.Fatalf("body %q is not {\"accepted\":N}: %v", rec.Body, err)
	}
	return *resp.Accepted
}

// record renders a small log record.
func record(recordType, id, eventTime string) string {
	return `{"type":"` + recordType + `","id":"` + id + `","event_time":"` + eventTime + `"}`
}

func TestSinkAcceptsBodies(t *testing.T) {
	a, b, c := record("Delivery", "1", "t1"), record("Delivery", "2", "t1"), record("Bounce", "3", "t1")
	tests := []struct {
		name        string
		contentType string
		body        string
		want        int
		wantTypes   map[string]uint64
	}{
		{"a JSON object is one record", "application/json", a, 1, map[string]uint64{"Delivery": 1}},
		{"a JSON array is one record per element", "application/json", "[" + a + "," + b + "," + c + "]", 3,
			map[string]uint64{"Delivery": 2, "Bounce": 1}},
		{"NDJSON with its content type is one record per line", "application/x-ndjson", a + "\n" + b + "\n" + c + "\n", 3,
			map[string]uint64{"Delivery": 2, "Bounce": 1}},
		{"NDJSON without a content type is detected", "", a + "\r\n\r\n" + b, 2, map[string]uint64{"Delivery": 2}},
		{"NDJSON with blank lines and no trailing newline is accepted", "application/x-ndjson", "\n\n" + a + "\n\n" + c, 2,
			map[string]uint64{"Delivery": 1, "Bounce": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Clock: fixedClock()})
			if got := accepted(t, post(t, s, tt.contentType, tt.body)); got != tt.want {
				t.Errorf("accepted = %d; want %d", got, tt.want)
			}
			st := s.Stats()
			if st.Requests != 1 || st.Records != uint64(tt.want) || st.Unique != uint64(tt.want) || st.Duplicates != 0 {
				t.Errorf("stats = %+v; want 1 request and %d unique records", st, tt.want)
			}
			if st.Bytes != uint64(len(tt.body)) {
				t.Errorf("bytes = %d; want %d", st.Bytes, len(tt.body))
			}
			if len(st.ByType) != len(tt.wantTypes) {
				t.Errorf("by type = %v; want %v", st.ByType, tt.wantTypes)
			}
			for k, v := range tt.wantTypes {
				if st.ByType[k] != v {
					t.Errorf("by type[%q] = %d; want %d", k, st.ByType[k], v)
				}
			}
			if st.ContentTypes[tt.contentType] != 1 {
				t.Errorf("content types = %v; want one %q", st.ContentTypes, tt.contentType)
			}
		})
	}
}

func TestSinkRejectsBadBodies(t *testing.T) {
	good := record("Delivery", "1", "t")
	tests := []struct {
		name        string
		contentType string
		body        string
		maxBody     int64
		wantStatus  int
		wantMsg     string
	}{
		{name: "malformed JSON at index 2 of an array is named", body: "[" + good + "," + good + `,{"type":}]`,
			wantStatus: http.StatusBadRequest, wantMsg: "record 2:"},
		{name: "malformed JSON on the fourth NDJSON record is named", contentType: "application/x-ndjson",
			body: good + "\n" + good + "\n\n" + good + "\n{oops}\n", wantStatus: http.StatusBadRequest, wantMsg: "record 3:"},
		{name: "a non-object record is named", body: good + "\n42\n",
			wantStatus: http.StatusBadRequest, wantMsg: "record 1: expected a JSON object, got a number"},
		{name: "an empty body is a bad request", body: "", wantStatus: http.StatusBadRequest, wantMsg: "empty"},
		{name: "a body over the cap is too large", body: "[" + good + "," + good + "]", maxBody: 20,
			wantStatus: http.StatusRequestEntityTooLarge, wantMsg: "exceeds 20 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{MaxBodyBytes: tt.maxBody, Keep: true})
			rec := post(t, s, tt.contentType, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d (%s); want %d", rec.Code, rec.Body, tt.wantStatus)
			}
			var resp struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("error body %q is not JSON: %v", rec.Body, err)
			}
			if !strings.Contains(resp.Error, tt.wantMsg) {
				t.Errorf("error = %q; want it to mention %q", resp.Error, tt.wantMsg)
			}
			st := s.Stats()
			if st.Requests != 1 || st.BadRequests != 1 || st.Records != 0 || st.Unique != 0 || st.Bytes != 0 {
				t.Errorf("stats = %+v; want one bad request and nothing counted", st)
			}
			if len(st.ContentTypes) != 0 || !st.First.IsZero() || len(s.Received()) != 0 {
				t.Errorf("a rejected request left traces: %+v, %d kept", st, len(s.Received()))
			}
		})
	}
}

func TestSinkDeduplicates(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	reception := record("Reception", id, "2026-01-02T03:04:05Z")
	delivery := record("Delivery", id, "2026-01-02T03:04:07Z")
	retry := record("TransientFailure", id, "2026-01-02T03:04:06Z")
	noID := `{"type":"Rejection","id":"","sender":"a@b"}`
	s := New(Config{Keep: true, Clock: fixedClock()})

	steps := []struct {
		name     string
		body     string
		wantDups []bool
	}{
		{"a reception and a delivery of one message are both unique", reception + "\n" + delivery, []bool{false, false}},
		{"the same delivery sent again is a duplicate", "[" + delivery + "]", []bool{true}},
		{"another event about the same message is unique", retry, []bool{false}},
		{"a record without id is unique the first time", noID, []bool{false}},
		{"the same record without id, pretty-printed, is a duplicate", "{\n \"type\": \"Rejection\", \"id\": \"\", \"sender\": \"a@b\"\n}",
			[]bool{true}},
		{"duplicates within one request are caught", retry + "\n" + reception, []bool{true, true}},
	}
	var wantDups []bool
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			accepted(t, post(t, s, "", step.body))
			wantDups = append(wantDups, step.wantDups...)
			got := s.Received()
			if len(got) != len(wantDups) {
				t.Fatalf("kept %d records; want %d", len(got), len(wantDups))
			}
			for i, r := range got {
				if r.Dup != wantDups[i] {
					t.Errorf("record %d (%s) Dup = %v; want %v", i, r.Key, r.Dup, wantDups[i])
				}
			}
		})
	}
	st := s.Stats()
	if st.Records != 8 || st.Unique != 4 || st.Duplicates != 4 {
		t.Errorf("records/unique/duplicates = %d/%d/%d; want 8/4/4", st.Records, st.Unique, st.Duplicates)
	}
	if got := s.Received()[0].Key; got != "Reception/"+id+"/2026-01-02T03:04:05Z" {
		t.Errorf("first key = %q", got)
	}
}

func TestSinkReceivedKeepsRequestDetails(t *testing.T) {
	clock := fixedClock()
	s := New(Config{Keep: true, Clock: clock})
	srv := httptest.NewServer(s)
	defer srv.Close()

	body := record("Delivery", "a", "t1") + "\n" + record("Delivery", "b", "t1") + "\n"
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/one", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("X-Tenant", "acme")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(got)) != `{"accepted":2}` {
		t.Fatalf("answer = %d %s; want 200 {\"accepted\":2}", resp.StatusCode, got)
	}

	kept := s.Received()
	if len(kept) != 2 {
		t.Fatalf("kept %d records; want 2", len(kept))
	}
	want := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	for i, r := range kept {
		if r.ContentType != "application/x-ndjson" || r.Header.Get("X-Tenant") != "acme" || !r.At.Equal(want) {
			t.Errorf("record %d = {%q, tenant %q, %v}; want the request's details at %v",
				i, r.ContentType, r.Header.Get("X-Tenant"), r.At, want)
		}
	}
	if string(kept[1].Raw) != record("Delivery", "b", "t1") {
		t.Errorf("second record raw = %s", kept[1].Raw)
	}
	if New(Config{}).Received() != nil {
		t.Errorf("a sink without Keep returned kept records")
	}
}

func TestSinkFailRate(t *testing.T) {
	tests := []struct {
		name       string
		rate       float64
		status     int
		wantStatus int
	}{
		{"a rate of one half fails the requests the seeded source picks", 0.5, 0, http.StatusServiceUnavailable},
		{"a rate of one fails every request with the configured status", 1, http.StatusTooManyRequests, http.StatusTooManyRequests},
		{"a rate of zero never fails", 0, 0, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{FailRate: tt.rate, FailStatus: tt.status, Rand: rand.New(rand.NewPCG(7, 11))})
			twin := rand.New(rand.NewPCG(7, 11))
			var wantFailed, wantOK uint64
			for i := range 40 {
				wantFail := tt.rate >= 1 || (tt.rate > 0 && twin.Float64() < tt.rate)
				rec := post(t, s, "", record("Delivery", "id", "t"))
				if wantFail {
					wantFailed++
					if rec.Code != tt.wantStatus {
						t.Fatalf("request %d: status = %d; want %d", i, rec.Code, tt.wantStatus)
					}
					continue
				}
				wantOK++
				accepted(t, rec)
			}
			if tt.rate == 0.5 && (wantFailed == 0 || wantOK == 0) {
				t.Fatalf("the seed exercises only one outcome (%d failed, %d ok)", wantFailed, wantOK)
			}
			st := s.Stats()
			if st.Requests != 40 || st.FailedRequests != wantFailed || st.Records != wantOK {
				t.Errorf("requests/failed/records = %d/%d/%d; want 40/%d/%d",
					st.Requests, st.FailedRequests, st.Records, wantFailed, wantOK)
			}
		})
	}
}

func TestSinkDelay(t *testing.T) {
	t.Run("the delay is waited out before the records are counted", func(t *testing.T) {
		s := New(Config{Delay: time.Hour})
		entered, release := make(chan time.Duration), make(chan struct{})
		s.wait = func(ctx context.Context, d time.Duration) error {
			entered <- d
			<-release
			return nil
		}
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- post(t, s, "", record("Delivery", "1", "t")) }()
		if d := <-entered; d != time.Hour {
			t.Errorf("waited %v; want the configured hour", d)
		}
		if st := s.Stats(); st.Records != 0 || st.Requests != 1 {
			t.Errorf("during the delay: requests/records = %d/%d; want 1/0", st.Requests, st.Records)
		}
		close(release)
		accepted(t, <-done)
		if st := s.Stats(); st.Records != 1 {
			t.Errorf("after the delay: records = %d; want 1", st.Records)
		}
	})

	t.Run("a request cancelled during the delay ends it and counts nothing", func(t *testing.T) {
		s := New(Config{Delay: 24 * time.Hour})
		entered := make(chan struct{})
		s.wait = func(ctx context.Context, d time.Duration) error {
			close(entered)
			return waitContext(ctx, d)
		}
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(record("Delivery", "1", "t")))
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { s.ServeHTTP(rec, req); close(done) }()
		<-entered
		cancel()
		<-done
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status = %d; want 503", rec.Code)
		}
		if st := s.Stats(); st.Records != 0 || st.Requests != 1 || st.FailedRequests != 0 {
			t.Errorf("stats = %+v; want the request seen and nothing counted", st)
		}
	})

	t.Run("waitContext returns at once for a context already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := waitContext(ctx, 24*time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("waitContext = %v; want context.Canceled", err)
		}
	})
}

func TestSinkStatsEndpoint(t *testing.T) {
	s := New(Config{Clock: fixedClock()})
	accepted(t, post(t, s, "application/json", "["+record("Delivery", "1", "t")+","+record("Bounce", "2", "t")+"]"))
	accepted(t, post(t, s, "application/x-ndjson", record("Delivery", "1", "t")))
	post(t, s, "", "{")

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /stats = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var got Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("stats %s: %v", rec.Body, err)
	}
	want := s.Stats()
	if got.Requests != 3 || got.BadRequests != 1 || got.Records != 3 || got.Unique != 2 || got.Duplicates != 1 {
		t.Errorf("stats = %s; want 3 requests, 1 bad, 3 records, 2 unique, 1 duplicate", rec.Body)
	}
	if got.ByType["Delivery"] != 2 || got.ByType["Bounce"] != 1 || got.ContentTypes["application/x-ndjson"] != 1 {
		t.Errorf("by type %v, content types %v", got.ByType, got.ContentTypes)
	}
	if !got.First.Equal(want.First) || !got.Last.Equal(want.Last) || !got.Last.After(got.First) {
		t.Errorf("first/last = %v/%v; want %v/%v", got.First, got.Last, want.First, want.Last)
	}
}

func TestSinkMethods(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantAllow  string
	}{
		{"GET on a webhook path is not allowed", http.MethodGet, "/webhook", http.StatusMethodNotAllowed, "POST"},
		{"PUT on a webhook path is not allowed", http.MethodPut, "/", http.StatusMethodNotAllowed, "POST"},
		{"POST to /stats is not allowed", http.MethodPost, "/stats", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"DELETE on /stats is not allowed", http.MethodDelete, "/stats", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"HEAD on /stats is allowed", http.MethodHead, "/stats", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}")))
			if rec.Code != tt.wantStatus || rec.Header().Get("Allow") != tt.wantAllow {
				t.Errorf("%s %s = %d Allow %q; want %d Allow %q", tt.method, tt.path,
					rec.Code, rec.Header().Get("Allow"), tt.wantStatus, tt.wantAllow)
			}
			if st := s.Stats(); st.Requests != 0 {
				t.Errorf("a refused method counted %d requests", st.Requests)
			}
		})
	}
}

func TestSinkWaitFor(t *testing.T) {
	s := New(Config{})
	accepted(t, post(t, s, "", record("Delivery", "1", "t")+"\n"+record("Delivery", "2", "t")))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	t.Run("a count already reached returns at once even with a done context", func(t *testing.T) {
		if err := s.WaitFor(cancelled, 2); err != nil {
			t.Errorf("WaitFor(2) = %v; want nil", err)
		}
	})
	t.Run("a count not reached returns the context's error", func(t *testing.T) {
		err := s.WaitFor(cancelled, 3)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "have 2") {
			t.Errorf("WaitFor(3) = %v; want context.Canceled saying it has 2", err)
		}
	})
	t.Run("duplicates do not count towards the wait", func(t *testing.T) {
		accepted(t, post(t, s, "", record("Delivery", "1", "t")))
		if err := s.WaitFor(cancelled, 3); !errors.Is(err, context.Canceled) {
			t.Errorf("WaitFor(3) after a duplicate = %v; want context.Canceled", err)
		}
	})
	t.Run("a waiter wakes when the count is reached", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- s.WaitFor(context.Background(), 4) }()
		accepted(t, post(t, s, "", record("Delivery", "3", "t")))
		accepted(t, post(t, s, "", record("Delivery", "4", "t")))
		if err := <-done; err != nil {
			t.Errorf("WaitFor(4) = %v; want nil", err)
		}
	})
}
