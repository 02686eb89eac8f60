package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
)

// webhookPolicy keeps Delivery, Bounce and TransientFailure records, captures the meta keys tenant
// and campaign and the headers Subject and X-*, and POSTs each record to $HOOKD_TEST_WEBHOOK.
const webhookPolicy = "testdata/webhook.lua"

// deliveryTimeout bounds each wait for records to cross the node; over loopback they take
// milliseconds, retries a second each.
const deliveryTimeout = 20 * time.Second

// testRecord is a log record the test posts, and what the webhook must make of it.
type testRecord struct {
	Type      string
	ID        string
	Sender    string
	Recipient string
	Queue     string
	Code      int
	Content   string
	Meta      map[string]string
	Headers   map[string]string
	LogRecord bool // reception_protocol "LogRecord": about a message a log hook made
	Times     bool // carries its own timestamp, event_time and nodeid
}

// kept reports whether the test policy posts the record to the webhook.
func (r testRecord) kept() bool {
	return !r.LogRecord && (r.Type == "Delivery" || r.Type == "Bounce" || r.Type == "TransientFailure")
}

func (r testRecord) json() []byte {
	obj := map[string]any{
		"type": r.Type, "id": r.ID, "sender": r.Sender, "recipient": r.Recipient, "queue": r.Queue,
		"response": map[string]any{"code": r.Code, "content": r.Content}, "meta": r.Meta, "headers": r.Headers,
		"size": 1234, "bounce_classification": "Uncategorized",
	}
	if r.LogRecord {
		obj["reception_protocol"] = "LogRecord"
	}
	if r.Times {
		obj["timestamp"] = 1700000000
		obj["event_time"] = "2023-11-14T22:13:20Z"
		obj["nodeid"] = "11111111-2222-3333-4444-555555555555"
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return b
}

// mailEvents makes n records of each given type, numbered from first.
func mailEvents(first int, counts map[string]int) []testRecord {
	var out []testRecord
	i := first
	for _, typ := range slices.Sorted(maps.Keys(counts)) {
		for range counts[typ] {
			i++
			code, content := 250, "2.0.0 OK"
			switch typ {
			case "Bounce":
				code, content = 550, "5.1.1 user unknown"
			case "TransientFailure":
				code, content = 451, "4.7.1 try again later"
			}
			out = append(out, testRecord{
				Type: typ, ID: fmt.Sprintf("%032x", 0xe2e0000+i), Sender: fmt.Sprintf("bounces-%d@tenant.example", i),
				Recipient: fmt.Sprintf("user%d@example.net", i), Queue: "example.net", Code: code,
				Content: fmt.Sprintf("%s (%d)", content, i),
				Meta: map[string]string{"tenant": fmt.Sprintf("tenant-%d", i%3), "campaign": "spring",
					"secret": "not for the webhook"},
				Headers: map[string]string{"Subject": fmt.Sprintf("Offer %d", i), "X-Campaign": "spring",
					"Received": "from somewhere"},
				Times: i%2 == 0,
			})
		}
	}
	return out
}

// postRecords sends records to the node's /api/log/v1 in the given body shape and wants them all
// accepted.
func postRecords(t *testing.T, c *child, shape string, recs []testRecord) {
	t.Helper()
	var body bytes.Buffer
	contentType := "application/json"
	switch shape {
	case "array":
		body.WriteByte('[')
		for i, r := range recs {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(r.json())
		}
		body.WriteByte(']')
	case "ndjson":
		contentType = "application/x-ndjson"
		for _, r := range recs {
			body.Write(r.json())
			body.WriteByte('\n')
		}
	case "object":
		for _, r := range recs {
			postRecords(t, c, "array", []testRecord{r})
		}
		return
	}
	resp, err := http.Post(c.url+"/api/log/v1", contentType, &body)
	if err != nil {
		t.Fatalf("POST /api/log/v1: %v", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Accepted int    `json:"accepted"`
		Error    string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK ||
		answer.Accepted != len(recs) {
		t.Fatalf("POST /api/log/v1 (%s of %d): status %d, answer %+v, %v", shape, len(recs), resp.StatusCode, answer, err)
	}
}

// queuedAt returns the messages the node's queues hold, from GET /api/admin/queues/v1.
func queuedAt(t *testing.T, c *child) int {
	t.Helper()
	resp, err := http.Get(c.url + "/api/admin/queues/v1")
	if err != nil {
		t.Fatalf("GET /api/admin/queues/v1: %v", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Queues []struct{ Scheduled, Ready, InFlight int } `json:"queues"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("GET /api/admin/queues/v1: %v", err)
	}
	n := 0
	for _, q := range answer.Queues {
		n += q.Scheduled + q.Ready + q.InFlight
	}
	return n
}

// quiesce waits, within deliveryTimeout, until the node's queues are empty and the webhook has seen
// no new request for quiet.
func quiesce(t *testing.T, c *child, requests func() uint64, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(deliveryTimeout)
	tick := time.NewTicker(quiet / 10)
	defer tick.Stop()
	last, since := requests(), time.Now()
	for range tick.C {
		if n := requests(); n != last {
			last, since = n, time.Now()
		}
		if queued := queuedAt(t, c); queued == 0 && time.Since(since) >= quiet {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("the node did not settle: %d messages queued, %d webhook requests", queued, last)
		}
	}
}

// webhook is a loopback receiver that keeps every record, behind an optional handler.
func webhook(t *testing.T, wrap func(http.Handler) http.Handler) (*sink.Sink, string) {
	t.Helper()
	recv := sink.New(sink.Config{Keep: true})
	var h http.Handler = recv
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return recv, srv.URL + "/events"
}

// checkArrivals asserts that the webhook holds exactly the kept records of sent, each once, as the
// record's JSON in an application/json request, with the meta and headers the policy captures.
func checkArrivals(t *testing.T, recv *sink.Sink, sent []testRecord) {
	t.Helper()
	checkDeliveries(t, recv, sent, false)
}

// checkDeliveries checks that every kept record arrived with the right content, nothing else did,
// and (unless duplicates are allowed, as after a crash) each exactly once. It returns how many
// records arrived more than once.
func checkDeliveries(t *testing.T, recv *sink.Sink, sent []testRecord, allowDuplicates bool) int {
	t.Helper()
	want := map[string]testRecord{}
	for _, r := range sent {
		if r.kept() {
			want[r.Type+"/"+r.ID] = r
		}
	}
	seen := map[string]int{}
	for _, got := range recv.Received() {
		rec, err := message.DecodeRecord(got.Raw)
		if err != nil {
			t.Errorf("the webhook got %q, which is not a log record: %v", got.Raw, err)
			continue
		}
		key := string(rec.Type) + "/" + rec.ID
		seen[key]++
		if got.ContentType != "application/json" {
			t.Errorf("%s arrived with Content-Type %q; want application/json", key, got.ContentType)
		}
		r, ok := want[key]
		if !ok {
			t.Errorf("%s arrived, but the policy drops it: %s", key, got.Raw)
			continue
		}
		compareRecord(t, key, r, rec)
	}
	dups := 0
	for key := range want {
		switch n := seen[key]; {
		case n == 0:
			t.Errorf("%s never arrived", key)
		case n > 1 && allowDuplicates:
			dups++
		case n > 1:
			t.Errorf("%s arrived %d times; want exactly once", key, n)
		}
	}
	return dups
}

func compareRecord(t *testing.T, key string, want testRecord, got *message.LogRecord) {
	t.Helper()
	if got.Sender != want.Sender || !slices.Equal(got.Recipient, message.Recipients{want.Recipient}) ||
		got.Queue != want.Queue {
		t.Errorf("%s: envelope %q -> %q via %q; want %q -> %q via %q", key, got.Sender, got.Recipient, got.Queue,
			want.Sender, want.Recipient, want.Queue)
	}
	if int(got.Response.Code) != want.Code || got.Response.Content != want.Content {
		t.Errorf("%s: response %d %q; want %d %q", key, got.Response.Code, got.Response.Content, want.Code, want.Content)
	}
	wantMeta := map[string]string{"tenant": want.Meta["tenant"], "campaign": want.Meta["campaign"]}
	if m := stringMap(t, got.Meta); !maps.Equal(m, wantMeta) {
		t.Errorf("%s: meta %v; want the policy's meta list only: %v", key, m, wantMeta)
	}
	wantHeaders := map[string]string{"Subject": want.Headers["Subject"], "X-Campaign": want.Headers["X-Campaign"]}
	if h := stringMap(t, got.Headers); !maps.Equal(h, wantHeaders) {
		t.Errorf("%s: headers %v; want Subject and X-* only: %v", key, h, wantHeaders)
	}
	switch {
	case want.Times && (got.Timestamp != 1700000000 || got.NodeID != "11111111-2222-3333-4444-555555555555"):
		t.Errorf("%s: timestamp %d, nodeid %q; want the record's own", key, got.Timestamp, got.NodeID)
	case !want.Times && (got.Timestamp == 0 || got.EventTime.Unix() != got.Timestamp || got.NodeID == ""):
		t.Errorf("%s: timestamp %d, event_time %s, nodeid %q; want them filled in", key, got.Timestamp,
			got.EventTime, got.NodeID)
	}
}

func stringMap(t *testing.T, raw map[string]json.RawMessage) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			t.Errorf("%s is %s; want a string", k, v)
		}
		out[k] = s
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	recv, url := webhook(t, nil)
	node := startNode(t, webhookPolicy, "HOOKD_TEST_WEBHOOK="+url)

	sent := mailEvents(0, map[string]int{
		"Delivery": 12, "Bounce": 5, "TransientFailure": 5, // kept
		"Reception": 4, "Delayed": 2, // turned away by per_record
		"AdminBounce": 2, "Expiration": 2, "Feedback": 1, // dropped by should_enqueue_log_record
	})
	for _, r := range mailEvents(100, map[string]int{"Delivery": 3, "Bounce": 1}) {
		r.LogRecord = true // about webhook deliveries: must never reach the webhook
		sent = append(sent, r)
	}
	rand.New(rand.NewPCG(7, 11)).Shuffle(len(sent), func(i, j int) { sent[i], sent[j] = sent[j], sent[i] })
	third := len(sent) / 3
	postRecords(t, node, "array", sent[:third])
	postRecords(t, node, "ndjson", sent[third:2*third])
	postRecords(t, node, "object", sent[2*third:])

	kept := 0
	for _, r := range sent {
		if r.kept() {
			kept++
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(kept)); err != nil {
		t.Fatal(err)
	}
	// Every webhook delivery makes a Delivery record about a LogRecord message; none may be fed back.
	quiesce(t, node, func() uint64 { return recv.Stats().Requests }, 400*time.Millisecond)

	checkArrivals(t, recv, sent)
	if st := recv.Stats(); st.Requests != uint64(kept) || st.Records != uint64(kept) || st.Duplicates != 0 {
		t.Errorf("webhook stats %+v; want %d requests of one record each and no duplicates", st, kept)
	}
	if code := node.terminate(t); code != 0 {
		stderr := node.stderr.String()
		t.Errorf("hookd run exited %d after SIGTERM; want 0\n%s", code, stderr)
	}
	if strings.Contains(node.stderr.String(), "level=ERROR") {
		t.Errorf("hookd run logged errors:\n%s", node.stderr.String())
	}
}

func TestEndToEndRetriesAFailingWebhook(t *testing.T) {
	const failFirst = 4
	var calls atomic.Int64
	recv, url := webhook(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= failFirst {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	node := startNode(t, webhookPolicy, "HOOKD_TEST_WEBHOOK="+url)
	sent := mailEvents(200, map[string]int{"Delivery": 4, "Bounce": 2})
	postRecords(t, node, "ndjson", sent)

	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(len(sent))); err != nil {
		t.Fatalf("%v (webhook calls %d)", err, calls.Load())
	}
	quiesce(t, node, func() uint64 { return uint64(calls.Load()) }, 400*time.Millisecond)

	checkArrivals(t, recv, sent)
	if got, want := calls.Load(), int64(failFirst+len(sent)); got != want {
		t.Errorf("the webhook was called %d times; want %d (%d refusals, then each record once)", got, want, failFirst)
	}
	if code := node.terminate(t); code != 0 {
		stderr := node.stderr.String()
		t.Errorf("hookd run exited %d after SIGTERM; want 0\n%s", code, stderr)
	}
}
