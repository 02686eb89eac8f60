package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
)

// testPolicy keeps every record for the hook "webhook" and POSTs it to the test's webhook. Injected
// messages go to queues whose deliverer accepts everything at once, so that an injection shows at
// the webhook as a Reception and then a Delivery record.
const testPolicy = `
local kumo = require 'kumo'
local WEBHOOK_URL = '{{WEBHOOK_URL}}'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook', meta = { 'tenant' } }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  msg:set_meta('queue', 'webhook')
  return true
end)

kumo.on('get_queue_config', function(domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      retry_interval = '1s',
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
  return kumo.make_queue_config {
    protocol = { custom_lua = { constructor = 'make.accept' } },
  }
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local response = client:post(WEBHOOK_URL)
        :header('Content-Type', 'application/json')
        :body(msg:get_data())
        :send()
      local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
      if response:status_is_success() then
        return disposition
      end
      kumo.reject(400, disposition)
    end,
    close = function(self)
      client:close()
    end,
  }
end)

kumo.on('make.accept', function()
  return {
    send = function(self, msg)
      return '250 accepted'
    end,
    close = function(self) end,
  }
end)
`

const testNodeID = "5a4f2c9e-8d1b-4e57-9c3a-0f6b7d2e1a48"

// waitTimeout bounds every wait for the pipeline; deliveries over loopback take milliseconds.
const waitTimeout = 10 * time.Second

// node is an engine behind the API, with a webhook receiver that keeps what it gets.
type node struct {
	eng  *engine.Engine
	hook *sink.Sink
	api  *httptest.Server
}

func startNode(t *testing.T, opts httpapi.Options) *node {
	t.Helper()
	return newNode(t, opts, true)
}

// newNode is startNode, except that the engine is started only when start is true.
func newNode(t *testing.T, opts httpapi.Options, start bool) *node {
	t.Helper()
	hook := sink.New(sink.Config{Keep: true})
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close) // last: the engine drains its deliveries into it first
	src := strings.ReplaceAll(testPolicy, "{{WEBHOOK_URL}}", hookSrv.URL+"/events")
	eng, err := engine.New(engine.Config{Policy: "test.lua", PolicySource: []byte(src), NodeID: testNodeID,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("loading the test policy: %v", err)
	}
	if start {
		if err := eng.Start(t.Context()); err != nil {
			t.Fatalf("starting the engine: %v", err)
		}
	}
	t.Cleanup(func() {
		// Stopping is not what these tests are about (cmd/hookd's end-to-end tests check that a node
		// stops cleanly), so a slow stop is only reported.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Logf("stopping the engine: %v", err)
		}
	})
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	api := httptest.NewServer(httpapi.New(eng, opts))
	t.Cleanup(api.Close)
	return &node{eng: eng, hook: hook, api: api}
}

// post sends body to path and returns the status, the decoded JSON answer and the response.
func (n *node) post(t *testing.T, path, contentType, body string) (int, map[string]any, *http.Response) {
	t.Helper()
	resp, err := n.api.Client().Post(n.api.URL+path, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return decodeAnswer(t, resp)
}

func (n *node) get(t *testing.T, path string) (int, map[string]any, *http.Response) {
	t.Helper()
	resp, err := n.api.Client().Get(n.api.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return decodeAnswer(t, resp)
}

func decodeAnswer(t *testing.T, resp *http.Response) (int, map[string]any, *http.Response) {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	var answer map[string]any
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatalf("the answer (status %d) is not a JSON object: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, answer, resp
}

// settle waits until the webhook holds want distinct records and no queue holds a message, so that
// nothing the node accepted is still on its way.
func (n *node) settle(t *testing.T, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := n.hook.WaitFor(ctx, uint64(want)); err != nil {
		t.Fatalf("%v; engine stats %+v", err, n.eng.Stats())
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n.eng.Stats().Queued != 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("messages still queued: %+v", n.eng.Stats())
		case <-tick.C:
		}
	}
}

// arrived decodes every record the webhook accepted, in arrival order.
func (n *node) arrived(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range n.hook.Received() {
		var rec map[string]any
		if err := json.Unmarshal(r.Raw, &rec); err != nil {
			t.Fatalf("the webhook got a record that is not a JSON object: %q", r.Raw)
		}
		out = append(out, rec)
	}
	return out
}

// record renders a log record with the given type and id, and extra JSON members appended.
func record(typ, id string, extra ...string) string {
	fields := []string{
		`"type":` + strconv.Quote(typ), `"id":` + strconv.Quote(id), `"sender":"sender@example.com"`,
		`"recipient":"rcpt@example.net"`, `"queue":"example.net"`,
		`"response":{"code":250,"content":"OK"}`, `"timestamp":1700000000`,
		`"event_time":"2023-11-14T22:13:20Z"`, `"nodeid":"11111111-2222-3333-4444-555555555555"`,
	}
	return "{" + strings.Join(append(fields, extra...), ",") + "}"
}

func spoolID(i int) string { return fmt.Sprintf("%032x", 0xabc000+i) }

// typeAndID lists "Type/id" of records, sorted.
func typeAndID(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%v/%v", r["type"], r["id"]))
	}
	slices.Sort(out)
	return out
}

func TestLogAcceptsEveryBodyShape(t *testing.T) {
	a, b, c := record("Delivery", spoolID(1)), record("Bounce", spoolID(2)), record("TransientFailure", spoolID(3))
	all := []string{"Bounce/" + spoolID(2), "Delivery/" + spoolID(1), "TransientFailure/" + spoolID(3)}
	tests := []struct {
		name        string
		contentType string
		body        string
		want        []string
	}{
		{"one JSON object is one record", "application/json", a, all[1:2]},
		{"a JSON array is one record per element", "application/json", "[" + a + ",\n" + b + "," + c + "]", all},
		{"NDJSON with its content type is one record per line", "application/x-ndjson",
			a + "\n" + b + "\n" + c + "\n", all},
		{"NDJSON with a charset parameter is still NDJSON", "application/x-ndjson; charset=utf-8",
			a + "\n" + b + "\n" + c, all},
		{"NDJSON without a content type is detected", "", a + "\n\n" + b + "\r\n" + c, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, httpapi.Options{})
			code, answer, _ := n.post(t, "/api/log/v1", tt.contentType, tt.body)
			if code != http.StatusOK || answer["accepted"] != float64(len(tt.want)) {
				t.Fatalf("answer %d %v; want 200 {\"accepted\":%d}", code, answer, len(tt.want))
			}
			n.settle(t, len(tt.want))
			if got := typeAndID(n.arrived(t)); !slices.Equal(got, tt.want) {
				t.Errorf("the webhook got %v; want %v", got, tt.want)
			}
			if st := n.hook.Stats(); st.Duplicates != 0 || st.ContentTypes["application/json"] != st.Records {
				t.Errorf("webhook stats %+v; want no duplicates and every request application/json", st)
			}
		})
	}
}

func TestLogRefusesBadRequestsWhole(t *testing.T) {
	good := func(i int) string { return record("Delivery", spoolID(i)) }
	lines := func(recs ...string) string { return strings.Join(recs, "\n") + "\n" }
	array := func(recs ...string) string { return "[" + strings.Join(recs, ",") + "]" }
	tests := []struct {
		name        string
		contentType string
		body        string
		code        int
		want        []string // every one must appear in the error message
	}{
		{"malformed JSON at record 2 of an array names record 2", "application/json",
			array(good(0), good(1), `{"type":"Delivery",}`, good(3)), 400, []string{"record 2", "malformed JSON"}},
		{"an array cut short names the record it ends in", "application/json",
			`[` + good(0) + `,{"type":"Deliv`, 400, []string{"record 1"}},
		{"a trailing comma in an array names the missing record", "application/json",
			`[` + good(0) + `,]`, 400, []string{"record 1"}},
		{"data after the array is refused", "application/json",
			array(good(0), good(1)) + `]`, 400, []string{"after the array"}},
		{"malformed JSON at record 3 of NDJSON names record 3", "application/x-ndjson",
			lines(good(0), good(1), good(2), `{"type":"Delivery"`, good(4)), 400, []string{"record 3", "malformed JSON"}},
		{"malformed JSON in NDJSON without its content type names the record", "",
			lines(good(0), `{"type" "Delivery"}`), 400, []string{"record 1"}},
		{"an unknown record type names the record and the field", "application/json",
			array(good(0), record("Shipment", spoolID(1))), 400, []string{"record 1", `"type"`, "Shipment"}},
		{"a record without a type names the field", "application/x-ndjson",
			lines(good(0), good(1), `{"id":"`+spoolID(2)+`"}`), 400, []string{"record 2", `"type"`, "missing"}},
		{"a response code that is a string names the nested field", "application/json",
			array(good(0), good(1), good(2), good(3), `{"type":"Bounce","response":{"code":"x"}}`), 400,
			[]string{"record 4", `"response.code"`}},
		{"a recipient list with a number names the element", "application/x-ndjson",
			lines(`{"type":"Delivery","recipient":["a@example.com",7]}`), 400, []string{"record 0", `"recipient[1]"`}},
		{"an array sent as NDJSON is one record that is not an object", "application/x-ndjson",
			array(good(0), good(1)), 400, []string{"record 0", "object"}},
		{"a record that is not an object names the record", "application/json",
			array(good(0), `"Delivery"`), 400, []string{"record 1", "object"}},
		{"invalid UTF-8 in a string names the record and the field", "application/json",
			array(good(0), record("Delivery", spoolID(1), "\"queue\":\"bad\xff\xfequeue\"")), 400,
			[]string{"record 1", `"queue"`, "invalid UTF-8"}},
		{"invalid UTF-8 inside meta names the record and meta", "application/x-ndjson",
			lines(good(0), good(1), record("Delivery", spoolID(2), "\"meta\":{\"tenant\":\"\xc3\"}")), 400,
			[]string{"record 2", `"meta"`, "invalid UTF-8"}},
		{"an unpaired surrogate escape is refused as well", "application/json",
			array(record("Bounce", spoolID(0), `"sender":"a\udc00@example.com"`)), 400,
			[]string{"record 0", `"sender"`, "unpaired surrogate"}},
		{"an empty body is refused", "application/json", "", 400, []string{"no records"}},
		{"a body of blank lines is refused", "application/x-ndjson", "\n \r\n\t\n", 400, []string{"no records"}},
		{"an empty array is refused", "application/json", "[ ]", 400, []string{"no records"}},
		{"more records than MaxRecords are refused", "application/x-ndjson",
			lines(good(0), good(1), good(2), good(3), good(4), good(5)), 400, []string{"6 records", "limit is 5"}},
		{"a body over MaxBody is refused with 413", "application/x-ndjson",
			lines(good(0), good(1), record("Delivery", spoolID(2), `"site":"`+strings.Repeat("x", 4096)+`"`)), 413,
			[]string{"over 4096 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, httpapi.Options{MaxBody: 4096, MaxRecords: 5})
			before := n.eng.Stats()
			code, answer, _ := n.post(t, "/api/log/v1", tt.contentType, tt.body)
			msg, _ := answer["error"].(string)
			if code != tt.code {
				t.Fatalf("status %d (%v); want %d", code, answer, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if after := n.eng.Stats(); after.Received != before.Received {
				t.Errorf("the engine received %d records from a refused request", after.Received-before.Received)
			}
			// A record posted afterwards is the only one that may reach the webhook.
			marker := record("Delivery", spoolID(99))
			if code, answer, _ := n.post(t, "/api/log/v1", "application/json", marker); code != http.StatusOK {
				t.Fatalf("the marker record was refused: %d %v", code, answer)
			}
			n.settle(t, 1)
			if got, want := typeAndID(n.arrived(t)), []string{"Delivery/" + spoolID(99)}; !slices.Equal(got, want) {
				t.Errorf("the webhook got %v; want only the marker %v", got, want)
			}
		})
	}
}

func TestLogFillsInWhatIsMissing(t *testing.T) {
	bare := func(i int, extra string) string {
		return `{"type":"Delivery","id":"` + spoolID(i) + `","sender":"s@example.com","recipient":"r@example.net"` +
			extra + `}`
	}
	tests := []struct {
		name          string
		body          string
		wantTimestamp int64  // 0: the time of the request
		wantEventTime string // "": the same second as the timestamp
		wantNodeID    string
	}{
		{"a record without timestamp, event_time and nodeid gets the node's", bare(1, ""), 0, "", testNodeID},
		{"a record with only a timestamp gets the matching event_time", bare(2, `,"timestamp":1700000000`),
			1700000000, "2023-11-14T22:13:20Z", testNodeID},
		{"a record with only an event_time gets the matching timestamp", bare(3, `,"event_time":"2023-11-14T22:13:20.5Z"`),
			1700000000, "2023-11-14T22:13:20.5Z", testNodeID},
		{"a record with all three keeps its own", record("Delivery", spoolID(4)),
			1700000000, "2023-11-14T22:13:20Z", "11111111-2222-3333-4444-555555555555"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, httpapi.Options{})
			before := time.Now().Unix()
			if code, answer, _ := n.post(t, "/api/log/v1", "application/json", tt.body); code != http.StatusOK {
				t.Fatalf("refused: %d %v", code, answer)
			}
			after := time.Now().Unix()
			n.settle(t, 1)
			got := n.hook.Received()
			if len(got) != 1 {
				t.Fatalf("the webhook got %d records; want 1", len(got))
			}
			rec, err := message.DecodeRecord(got[0].Raw)
			if err != nil {
				t.Fatalf("the webhook got %q, which does not decode: %v", got[0].Raw, err)
			}
			switch ts := rec.Timestamp; {
			case tt.wantTimestamp == 0 && (ts < before || ts > after):
				t.Errorf("timestamp %d; want the time of the request, %d to %d", ts, before, after)
			case tt.wantTimestamp != 0 && ts != tt.wantTimestamp:
				t.Errorf("timestamp %d; want %d", ts, tt.wantTimestamp)
			}
			if rec.EventTime.Unix() != rec.Timestamp {
				t.Errorf("event_time %s is not the second of timestamp %d", rec.EventTime, rec.Timestamp)
			}
			if tt.wantEventTime != "" && !rec.EventTime.Equal(mustTime(t, tt.wantEventTime)) {
				t.Errorf("event_time %s; want %s", rec.EventTime, tt.wantEventTime)
			}
			if rec.NodeID != tt.wantNodeID {
				t.Errorf("nodeid %q; want %q", rec.NodeID, tt.wantNodeID)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestLogCapturesOnlyTheConfiguredMeta(t *testing.T) {
	n := startNode(t, httpapi.Options{})
	body := record("Bounce", spoolID(1), `"meta":{"tenant":"acme","campaign":"spring","secret":"s3"}`)
	if code, answer, _ := n.post(t, "/api/log/v1", "application/json", body); code != http.StatusOK {
		t.Fatalf("refused: %d %v", code, answer)
	}
	n.settle(t, 1)
	got := n.arrived(t)
	if len(got) != 1 {
		t.Fatalf("the webhook got %d records; want 1", len(got))
	}
	meta, _ := json.Marshal(got[0]["meta"])
	if string(meta) != `{"tenant":"acme"}` {
		t.Errorf("meta %s; want only the hook's meta list: {\"tenant\":\"acme\"}", meta)
	}
}

func TestInject(t *testing.T) {
	t.Run("a valid request is queued, answered with its ids, and logged", func(t *testing.T) {
		n := startNode(t, httpapi.Options{})
		body := `{"envelope_sender":"news@example.com",
			"recipients":[{"email":"ann@example.net"},{"email":"bob@example.org","name":"Bob"}],
			"content":{"subject":"hello","text_body":"hi there","from":{"email":"news@example.com"}},
			"meta":{"tenant":"acme","queue":"accept.example"}}`
		code, answer, _ := n.post(t, "/api/inject/v1", "application/json", body)
		if code != http.StatusOK {
			t.Fatalf("status %d (%v); want 200", code, answer)
		}
		if answer["success_count"] != float64(2) || answer["fail_count"] != float64(0) {
			t.Errorf("answer %v; want success_count 2 and fail_count 0", answer)
		}
		ids, _ := answer["ids"].([]any)
		if len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("ids %v; want two distinct spool ids", answer["ids"])
		}
		var want []string
		for _, id := range ids {
			if s, _ := id.(string); len(s) != 32 {
				t.Errorf("id %v is not a 32-digit spool id", id)
			}
			want = append(want, fmt.Sprintf("Delivery/%s", id), fmt.Sprintf("Reception/%s", id))
		}
		slices.Sort(want)
		n.settle(t, len(want))
		got := n.arrived(t)
		if ids := typeAndID(got); !slices.Equal(ids, want) {
			t.Errorf("the webhook got %v; want a Reception and a Delivery per message %v", ids, want)
		}
		for _, rec := range got {
			if rec["reception_protocol"] != "HTTP" || rec["sender"] != "news@example.com" {
				t.Errorf("record %v: want reception_protocol HTTP and sender news@example.com", rec)
			}
			if meta, _ := rec["meta"].(map[string]any); meta["tenant"] != "acme" {
				t.Errorf("record %v: want the captured meta tenant=acme", rec)
			}
		}
	})
	bad := []struct {
		name  string
		body  string
		field string
	}{
		{"a request without envelope_sender names the field",
			`{"recipients":[{"email":"a@example.net"}],"content":"Subject: x\r\n\r\nx"}`, "envelope_sender"},
		{"a recipient without an email names the recipient",
			`{"envelope_sender":"a@example.com","recipients":[{"email":"b@example.net"},{"name":"x"}],` +
				`"content":"Subject: x\r\n\r\nx"}`, "recipients[1].email"},
		{"a request without content names the field",
			`{"envelope_sender":"a@example.com","recipients":[{"email":"b@example.net"}]}`, "content"},
		{"a body that is not an object is refused as a whole", `["a"]`, "request"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, httpapi.Options{})
			code, answer, _ := n.post(t, "/api/inject/v1", "application/json", tt.body)
			msg, _ := answer["error"].(string)
			if code != http.StatusBadRequest || !strings.Contains(msg, tt.field) {
				t.Errorf("answer %d %v; want 400 naming %q", code, answer, tt.field)
			}
			if st := n.eng.Stats(); st.Received != 0 || st.Enqueued != 0 {
				t.Errorf("a refused injection reached the engine: %+v", st)
			}
		})
	}
}

func TestLivenessAndQueues(t *testing.T) {
	n := startNode(t, httpapi.Options{})
	t.Run("a running node is alive", func(t *testing.T) {
		if code, answer, _ := n.get(t, "/api/check-liveness/v1"); code != http.StatusOK {
			t.Errorf("liveness %d %v; want 200", code, answer)
		}
	})
	t.Run("the queue a record went through is listed", func(t *testing.T) {
		if code, answer, _ := n.post(t, "/api/log/v1", "", record("Delivery", spoolID(1))); code != http.StatusOK {
			t.Fatalf("refused: %d %v", code, answer)
		}
		n.settle(t, 1)
		resp, err := n.api.Client().Get(n.api.URL + "/api/admin/queues/v1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct {
			Queues []struct {
				Name                       string `json:"name"`
				Scheduled, Ready, InFlight int
				Deliverable                bool
			} `json:"queues"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatalf("the answer is not a list of queues: %v", err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("status %d, Content-Type %q; want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if len(got.Queues) != 1 {
			t.Fatalf("queues %+v; want exactly the queue webhook", got.Queues)
		}
		q := got.Queues[0]
		if q.Name != "webhook" || !q.Deliverable || q.Scheduled+q.Ready+q.InFlight != 0 {
			t.Errorf("queue %+v; want webhook, deliverable and empty", q)
		}
	})
}

func TestANodeThatIsNotRunningRefusesWork(t *testing.T) {
	opts := httpapi.Options{AcceptTimeout: 3 * time.Second}
	nodes := []struct {
		name    string
		node    func(t *testing.T) *node
		wantMsg string
	}{
		{"before Start", func(t *testing.T) *node { return newNode(t, opts, false) }, "not started"},
		{"after Stop", func(t *testing.T) *node {
			n := startNode(t, opts)
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			defer cancel()
			if err := n.eng.Stop(ctx); err != nil {
				t.Fatalf("stopping: %v", err)
			}
			return n
		}, "stopping"},
	}
	requests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"log records are refused with 503 and Retry-After", http.MethodPost, "/api/log/v1", record("Delivery", spoolID(1))},
		{"injections are refused with 503 and Retry-After", http.MethodPost, "/api/inject/v1",
			`{"envelope_sender":"a@example.com","recipients":[{"email":"b@example.net"}],"content":"Subject: x\r\n\r\nx"}`},
		{"liveness says 503 with Retry-After", http.MethodGet, "/api/check-liveness/v1", ""},
	}
	for _, state := range nodes {
		t.Run(state.name, func(t *testing.T) {
			n := state.node(t)
			for _, tt := range requests {
				t.Run(tt.name, func(t *testing.T) {
					var code int
					var answer map[string]any
					var resp *http.Response
					if tt.method == http.MethodGet {
						code, answer, resp = n.get(t, tt.path)
					} else {
						code, answer, resp = n.post(t, tt.path, "application/json", tt.body)
					}
					if code != http.StatusServiceUnavailable {
						t.Errorf("status %d (%v); want 503", code, answer)
					}
					if ra := resp.Header.Get("Retry-After"); ra != "3" {
						t.Errorf("Retry-After %q; want the accept timeout, 3", ra)
					}
					if msg, _ := answer["error"].(string); !strings.Contains(msg, state.wantMsg) {
						t.Errorf("error %q does not say %q", msg, state.wantMsg)
					}
				})
			}
			if got := n.hook.Stats().Requests; got != 0 {
				t.Errorf("the webhook got %d requests from a node that is not running", got)
			}
		})
	}
}
