package extras_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
)

// receiver is a webhook for the tests: it records what it receives and answers by path.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []request
}

type request struct {
	method, path, contentType, body string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{req.Method, req.URL.Path, req.Header.Get("Content-Type"), string(body)})
		r.mu.Unlock()
		switch req.URL.Path {
		case "/missing":
			http.Error(w, "no such hook", http.StatusNotFound)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "oops")
		case "/odd":
			w.WriteHeader(299)
			_, _ = io.WriteString(w, "fine")
		default:
			_, _ = io.WriteString(w, "thanks")
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// countClients wraps kumo.http.build_client so that the policy keeps every client it builds in the
// global table `clients`.
const countClients = `
clients = {}
local build = kumo.http.build_client
kumo.http.build_client = function(opts)
	local c = build(opts)
	table.insert(clients, c)
	return c
end
`

func TestNewJSON(t *testing.T) {
	r := newReceiver(t)
	unused := httptest.NewServer(http.NotFoundHandler())
	unused.Close() // nothing listens there any more
	p := load(t, countClients+`
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json { name = 'ok', url = '`+r.srv.URL+`/ok' }
log_hooks:new_json { name = 'missing', url = '`+r.srv.URL+`/missing' }
log_hooks:new_json { name = 'broken', url = '`+r.srv.URL+`/broken' }
log_hooks:new_json { name = 'odd', url = '`+r.srv.URL+`/odd' }
log_hooks:new_json { name = 'down', url = '`+unused.URL+`/' }
`)
	s := newState(t, p)
	cases := []struct {
		hook string
		want lua.Outcome
	}{
		{"ok", lua.Outcome{Kind: lua.Returned, Text: "200 OK: thanks"}},
		{"missing", lua.Outcome{Kind: lua.Rejected, Code: 500, Text: "404 Not Found: no such hook\n"}},
		{"broken", lua.Outcome{Kind: lua.Rejected, Code: 500, Text: "500 Internal Server Error: oops"}},
		{"odd", lua.Outcome{Kind: lua.Returned, Text: "299 nil: fine"}}, // no reason phrase: Lua's "%s" of nil
	}
	for i, tc := range cases {
		c, err := s.Connect("make."+tc.hook+".log_hook", tc.hook+".log_hook", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := hookMessage(t, record(message.Delivery))
		if got := c.Send(m); got != tc.want {
			t.Fatalf("%s: outcome %+v, want %+v", tc.hook, got, tc.want)
		}
		reqs := r.requests()
		if len(reqs) != i+1 {
			t.Fatalf("%s: %d requests", tc.hook, len(reqs))
		}
		got := reqs[i]
		if got.method != http.MethodPost || got.path != "/"+tc.hook || got.contentType != "application/json" ||
			got.body != string(m.Msg.Body) {
			t.Fatalf("%s: request %+v, want a POST of %q", tc.hook, got, m.Msg.Body)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// A transport error is a plain Lua error: a transient failure, retried.
	c, err := s.Connect("make.down.log_hook", "down.log_hook", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := c.Send(hookMessage(t, record(message.Delivery)))
	if out.Kind != lua.Failed || !strings.HasPrefix(out.Text, "sender:send method failed: ") {
		t.Fatalf("transport error: %+v", out)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// One client per connection, each closed with its connection.
	if n := s.L.GetGlobal("clients").(*glua.LTable).Len(); n != len(cases)+1 {
		t.Fatalf("%d clients for %d connections", n, len(cases)+1)
	}
	err = s.L.DoString(`
		for i, c in ipairs(clients) do
			local ok, e = pcall(function() return c:post('` + r.srv.URL + `/ok') end)
			if ok or not tostring(e):find('client was closed', 1, true) then
				error('client ' .. i .. ' is still open: ' .. tostring(e))
			end
		end`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewJSONClientStaysOpenAcrossSends(t *testing.T) {
	r := newReceiver(t)
	s := newState(t, load(t, countClients+`
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json { name = 'ok', url = '`+r.srv.URL+`/ok' }
`))
	c, err := s.Connect("make.ok.log_hook", "ok.log_hook", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	for range 3 {
		if out := c.Send(hookMessage(t, record(message.Bounce))); out.Kind != lua.Returned {
			t.Fatalf("send: %+v", out)
		}
	}
	if n := s.L.GetGlobal("clients").(*glua.LTable).Len(); n != 1 || len(r.requests()) != 3 {
		t.Fatalf("%d clients, %d requests", n, len(r.requests()))
	}
}

// TestWebhookExample runs a policy shaped like KumoMTA's documented webhook example.
func TestWebhookExample(t *testing.T) {
	r := newReceiver(t)
	p := load(t, `
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

log_hooks:new_json {
  name = 'webhook',
  url = '`+r.srv.URL+`/events',
  log_parameters = {
    headers = { 'Subject', 'X-Customer-ID' },
  },
}
`)
	h := p.Config().Hook("webhook")
	if h == nil || strings.Join(h.Headers, ",") != "Subject,X-Customer-ID" {
		t.Fatalf("hook %+v", h)
	}
	s := newState(t, p)
	rec := record(message.Delivery)
	rec.Headers = map[string]json.RawMessage{"Subject": []byte(`"hello"`)}
	m := hookMessage(t, rec)
	if !shouldEnqueue(t, s, m, "webhook") {
		t.Fatal("the record was not kept")
	}
	q, err := m.Msg.QueueName()
	if err != nil || q != "webhook.log_hook" {
		t.Fatalf("queue %q, %v", q, err)
	}
	qc := queueConfig(t, s, q)
	if qc.CustomLua == nil || qc.CustomLua.Constructor != "make.webhook.log_hook" || qc.CustomLua.BatchSize != 1 {
		t.Fatalf("queue config %+v", qc)
	}
	c, err := s.Connect(qc.CustomLua.Constructor, q, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := c.Send(m); out != (lua.Outcome{Kind: lua.Returned, Text: "200 OK: thanks"}) {
		t.Fatalf("send: %+v", out)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(reqs[0].body), &got); err != nil {
		t.Fatal(err)
	}
	if got["type"] != "Delivery" || got["headers"].(map[string]any)["Subject"] != "hello" {
		t.Fatalf("posted %s", reqs[0].body)
	}
}

// TestBatchedExample runs a policy shaped like KumoMTA's documented batched webhook example.
func TestBatchedExample(t *testing.T) {
	r := newReceiver(t)
	p := load(t, `
local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

log_hooks:new {
  name = 'webhook',
  batch_size = 100,
  constructor = function(domain, tenant, campaign)
    local connection = {}
    local client = kumo.http.build_client {}

    function connection:send_batch(messages)
      -- Each message's data is one JSON record; post them as one array.
      local records = {}
      for _, msg in ipairs(messages) do
        table.insert(records, msg:get_data())
      end
      local response = client
        :post '`+r.srv.URL+`/batch'
        :header('Content-Type', 'application/json')
        :body('[' .. table.concat(records, ',') .. ']')
        :send()

      local disposition = string.format(
        '%d %s: %s',
        response:status_code(),
        response:status_reason(),
        response:text()
      )
      if response:status_is_success() then
        return disposition
      end
      kumo.reject(500, disposition)
    end

    function connection:close()
      client:close()
    end

    return connection
  end,
}
`)
	s := newState(t, p)
	var msgs []*lua.Message
	for _, kind := range []message.RecordType{message.Delivery, message.Bounce, message.TransientFailure} {
		m := hookMessage(t, record(kind))
		if !shouldEnqueue(t, s, m, "webhook") {
			t.Fatalf("%s: not kept", kind)
		}
		msgs = append(msgs, m)
	}
	qc := queueConfig(t, s, "webhook.log_hook")
	if qc.CustomLua.BatchSize != 100 || qc.CustomLua.Constructor != "make.webhook.log_hook" {
		t.Fatalf("custom_lua %+v", qc.CustomLua)
	}
	c, err := s.Connect(qc.CustomLua.Constructor, "webhook.log_hook", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := c.SendBatch(msgs); out != (lua.Outcome{Kind: lua.Returned, Text: "200 OK: thanks"}) {
		t.Fatalf("send_batch: %+v", out)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 1 || reqs[0].path != "/batch" || reqs[0].contentType != "application/json" {
		t.Fatalf("requests %+v", reqs)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(reqs[0].body), &got); err != nil {
		t.Fatalf("posted %q: %v", reqs[0].body, err)
	}
	if len(got) != 3 || got[0]["type"] != "Delivery" || got[1]["type"] != "Bounce" || got[2]["type"] != "TransientFailure" {
		t.Fatalf("posted %s", reqs[0].body)
	}
}
