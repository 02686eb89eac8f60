package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/message"
)

// tricky holds what JSON encoders disagree on: U+2028 and U+2029, HTML characters, controls with
// and without a short escape, DEL, the solidus, a quote and a backslash, the text `\u2028` (an
// escaped backslash when written), non-ASCII and astral characters. No CR or LF: a response's
// content has its line breaks folded, on purpose.
const tricky = "a\u2028b\u2029c <x>&'y' \x00\x01\x1f\x7f\t\b\f / \"q\\ \\u2028 é 😀 𝄞"

// jsonPathsPolicy sends one record through every path hookd writes JSON by: two log hooks (the
// record's JSON as the body, and a `log_record | tojson` template), kumo.serde.json_encode of the
// record in Lua, and local logs. The plain hook's first attempt fails (after posting its fresh
// body) so that the second attempt posts the body read back from the spool on disk.
const jsonPathsPolicy = `
kumo.on('init', function()
  kumo.configure_local_logs { log_dir = '{{LOGDIR}}', meta = { 'note' }, headers = { 'Subject' } }
  kumo.configure_log_hook { name = 'plain', meta = { 'note' }, headers = { 'Subject' } }
  kumo.configure_log_hook { name = 'tpl', meta = { 'note' }, headers = { 'Subject' },
    per_record = { Any = { template = '{{ log_record | tojson }}' } } }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
  if msg:get_meta('log_record').reception_protocol == 'LogRecord' then return false end
  msg:set_meta('queue', 'webhook')
  msg:set_meta('hook', hook)
  return true
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '1s', protocol = { custom_lua = { constructor = 'make.wh' } } }
end)
kumo.on('make.wh', function()
  local client = kumo.http.build_client {}
  local function post(path, body) client:post('{{WEBHOOK}}/' .. path):body(body):send() end
  return { send = function(self, msg)
    local hook = msg:get_meta('hook')
    if hook == 'tpl' then post('tojson', msg:get_data()) return 'ok' end
    if kumo.first_attempt(msg:id()) then
      post('fresh', msg:get_data())
      kumo.reject(451, 'once more, from the spool')
    end
    post('spooled', msg:get_data())
    post('lua', kumo.serde.json_encode(msg:get_meta('log_record')))
    return 'ok'
  end }
end)
`

// TestOneJSONRuleOnEveryPath offers one record with tricky strings over HTTP (written with
// escapes the rule does not use: \u2028, \u003c, a surrogate pair, \/) and checks that every JSON
// text hookd writes about it holds each string exactly as message.AppendJSONString writes it: the
// record's own JSON, the webhook body (fresh, and read back from the spool), the local log line,
// kumo.serde.json_encode in Lua, and the HTTP API's JSON answers (an admin list, an error);
// tojson differs only by its four HTML escapes.
func TestOneJSONRuleOnEveryPath(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string][]byte{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[strings.TrimPrefix(r.URL.Path, "/")] = b
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	logDir := t.TempDir()
	tried := map[string]bool{}
	first := func(args ...any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		id, _ := args[0].(string)
		was := tried[id]
		tried[id] = true
		return !was, nil
	}
	policy := strings.NewReplacer("{{LOGDIR}}", logDir, "{{WEBHOOK}}", hook.URL).Replace(jsonPathsPolicy)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.New(engine.Config{PolicySource: []byte(policy), Logger: quiet, SpoolDir: t.TempDir(),
		Functions: map[string]engine.Func{"first_attempt": first}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := eng.Stop(sctx); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	api := httptest.NewServer(httpapi.New(eng, httpapi.Options{Logger: quiet}))
	t.Cleanup(api.Close)

	// The record, and the JSON it is offered as: every string written with foreign escapes.
	in := &message.LogRecord{
		Type: message.Bounce, ID: "cross-path", Sender: "news@example.com", Recipient: message.Recipients{"user@example.org"},
		Queue: tricky, Site: tricky, BounceClassification: tricky, EgressPool: ptr(tricky), NodeID: tricky,
		Response:    message.Response{Code: 550, Content: tricky, Command: ptr(tricky)},
		PeerAddress: &message.PeerAddress{Name: tricky, Addr: "192.0.2.1"},
		TLSCipher:   tricky, TLSPeerSubjectName: []string{tricky}, ProviderName: tricky, SessionID: tricky,
		Meta:      map[string]json.RawMessage{"note": foreign(t, tricky)},
		Headers:   map[string]json.RawMessage{"Subject": foreign(t, tricky)},
		EventTime: time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC), CreatedTime: time.Date(2024, 11, 8, 15, 29, 0, 0, time.UTC),
	}
	in.Timestamp, in.Created = in.EventTime.Unix(), in.CreatedTime.Unix()
	offered, err := json.Marshal(in) // LogRecord.MarshalJSON, then encoding/json's escaping of it
	if err != nil {
		t.Fatal(err)
	}
	offered = bytes.ReplaceAll(bytes.ReplaceAll(offered, []byte("😀"), []byte(`\ud83d\ude00`)), []byte("/"), []byte(`\/`))
	if !bytes.Contains(offered, []byte(`\u2028`)) || !bytes.Contains(offered, []byte(`\u003c`)) {
		t.Fatalf("the offered record should carry foreign escapes: %s", offered)
	}
	if code, body := send(t, api.URL, "POST", "/api/log/v1", string(offered)); code != 200 {
		t.Fatalf("POST /api/log/v1: %d %s", code, body)
	}

	want := message.AppendJSONString(nil, tricky)
	decoded, err := message.DecodeRecord(offered)
	if err != nil {
		t.Fatal(err)
	}
	recordJSON := decoded.AppendJSON(nil)
	checkStrings(t, "the record's own JSON (LogRecord.AppendJSON)", recordJSON, want)

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook received %d of the 4 bodies", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	fresh, spooled, lua, tojson := bodies["fresh"], bodies["spooled"], bodies["lua"], bodies["tojson"]
	mu.Unlock()
	for name, body := range map[string][]byte{"the fresh webhook body": fresh, "the webhook body read from the spool": spooled} {
		if !bytes.Equal(body, append(bytes.Clone(recordJSON), '\n')) {
			t.Errorf("%s is not the record's JSON:\n got %s\nwant %s", name, body, recordJSON)
		}
		checkStrings(t, name, body, want)
	}
	checkStrings(t, "kumo.serde.json_encode(log_record)", lua, want)
	// tojson is the rule plus minijinja's HTML escapes, and nothing else.
	html := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`)
	checkStrings(t, "log_record | tojson", tojson, []byte(html.Replace(string(want))))
	if got, wantBody := string(tojson), html.Replace(string(recordJSON))+"\n"; got != wantBody {
		t.Errorf("tojson differs from the record's JSON by more than the HTML escapes:\n got %s\nwant %s", got, wantBody)
	}

	// The HTTP API's own answers.
	reason := foreign(t, tricky)
	if code, body := send(t, api.URL, "POST", "/api/admin/bounce/v1",
		`{"domain":"nowhere.invalid","duration":"1h","reason":`+string(reason)+`}`); code != 200 {
		t.Fatalf("POST bounce: %d %s", code, body)
	}
	code, list := send(t, api.URL, "GET", "/api/admin/bounce/v1", "")
	var entries []map[string]json.RawMessage
	if code != 200 || json.Unmarshal([]byte(list), &entries) != nil || len(entries) != 1 {
		t.Fatalf("GET bounce: %d %s", code, list)
	}
	if got := entries[0]["reason"]; !bytes.Equal(got, want) {
		t.Errorf("the admin API's reason:\n got %s\nwant %s", got, want)
	}
	// An error answer quotes the refused address (in Go's quoting, which is text like any other):
	// the answer is that text written by the rule.
	code, res := send(t, api.URL, "POST", "/api/inject/v1",
		`{"envelope_sender":"a@example.com","content":"Subject: x\r\n\r\nx","recipients":[{"email":`+string(reason)+`}]}`)
	var refused struct{ Error string }
	if code != 400 || json.Unmarshal([]byte(res), &refused) != nil || !strings.Contains(refused.Error, "😀") {
		t.Fatalf("POST inject with a bad address: %d %s", code, res)
	}
	if want := `{"error":` + string(message.AppendJSONString(nil, refused.Error)) + "}\n"; res != want {
		t.Errorf("the inject API's error answer:\n got %s\nwant %s", res, want)
	}

	// Local logs: the segments are closed, and readable, once the engine stopped.
	stop()
	line := localLine(t, logDir, in.ID, in.Type)
	if !bytes.Equal(line, recordJSON) {
		t.Errorf("the local log line is not the record's JSON:\n got %s\nwant %s", line, recordJSON)
	}
	checkStrings(t, "the local log line", line, want)
}

func ptr(s string) *string { return &s }

// foreign writes s as JSON with escapes the rule does not use: encoding/json's (\u003c, \u0026,
// \u2028, \u2029), a surrogate pair for 😀, \/ for the solidus.
func foreign(t *testing.T, s string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("😀"), []byte(`\ud83d\ude00`)), []byte("/"), []byte(`\/`))
}

// stringFields are the members of a record that hold tricky, as paths of member names (a number
// for an array index).
var stringFields = [][]string{
	{"queue"}, {"site"}, {"bounce_classification"}, {"egress_pool"}, {"nodeid"}, {"tls_cipher"},
	{"provider_name"}, {"session_id"}, {"response", "content"}, {"response", "command"},
	{"peer_address", "name"}, {"tls_peer_subject_name", "0"}, {"meta", "note"}, {"headers", "Subject"},
}

// checkStrings asserts that each string member of the record JSON doc is, byte for byte, want.
// Members are taken as raw bytes (json.RawMessage), whatever order they come in.
func checkStrings(t *testing.T, what string, doc, want []byte) {
	t.Helper()
	if !json.Valid(doc) {
		t.Errorf("%s is not valid JSON: %s", what, doc)
		return
	}
	for _, path := range stringFields {
		raw := json.RawMessage(doc)
		for _, step := range path {
			if step == "0" {
				var arr []json.RawMessage
				if json.Unmarshal(raw, &arr) != nil || len(arr) == 0 {
					raw = nil
					break
				}
				raw = arr[0]
				continue
			}
			var obj map[string]json.RawMessage
			if json.Unmarshal(raw, &obj) != nil {
				raw = nil
				break
			}
			raw = obj[step]
		}
		if !bytes.Equal(raw, want) {
			t.Errorf("%s: %s is\n %s\nwant\n %s", what, strings.Join(path, "."), raw, want)
		}
	}
}

func send(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// localLine returns the line of the local log segments in dir about the record id of type typ.
func localLine(t *testing.T, dir, id string, typ message.RecordType) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := dec.DecodeAll(data, nil)
		if err != nil {
			t.Fatalf("%s is not zstd: %v", filepath.Base(f), err)
		}
		for _, line := range bytes.Split(raw, []byte("\n")) {
			var head struct{ Type, ID string }
			if json.Unmarshal(line, &head) == nil && head.ID == id && head.Type == string(typ) {
				return line
			}
		}
	}
	t.Fatalf("no local log line for %s %s in %d files", typ, id, len(files))
	return nil
}
