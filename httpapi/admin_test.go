package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
)

// adminPolicy keeps injected mail queued (its deliverer always answers 451) and posts every
// TransientFailure and AdminBounce record to the webhook.
const adminPolicy = `
kumo.on('init', function()
  kumo.configure_log_hook { name = 'audit', per_record = { Any = { enable = false },
    AdminBounce = { enable = true }, TransientFailure = { enable = true } } }
end)
kumo.on('should_enqueue_log_record', function(msg) msg:set_meta('queue', 'audit'); return true end)
kumo.on('get_queue_config', function(domain)
  if domain == 'audit' then
    return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.audit' } } }
  end
  return kumo.make_queue_config { retry_interval = '1h', protocol = { custom_lua = { constructor = 'make.busy' } } }
end)
kumo.on('make.busy', function() return { send = function() kumo.reject(451, 'mailbox busy') end } end)
kumo.on('make.audit', function()
  local client = kumo.http.build_client {}
  return { send = function(self, msg)
    client:post('{{WEBHOOK_URL}}'):header('Content-Type', 'application/json'):body(msg:get_data()):send()
    return 'ok'
  end }
end)
`

type adminRig struct {
	eng  *engine.Engine
	srv  *httptest.Server
	sink *sink.Sink
}

func newAdminRig(t *testing.T, token string) *adminRig {
	t.Helper()
	s := sink.New(sink.Config{Keep: true})
	hook := httptest.NewServer(s)
	t.Cleanup(hook.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.New(engine.Config{PolicySource: []byte(strings.ReplaceAll(adminPolicy, "{{WEBHOOK_URL}}", hook.URL)),
		Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(ctx)
	})
	srv := httptest.NewServer(httpapi.New(eng, httpapi.Options{Logger: quiet, AdminToken: token}))
	t.Cleanup(srv.Close)
	return &adminRig{eng: eng, srv: srv, sink: s}
}

func (a *adminRig) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *adminRig) inject(t *testing.T, tenant string, n int) {
	t.Helper()
	var rcpts []string
	for i := 0; i < n; i++ {
		rcpts = append(rcpts, `{"email":"user`+string(rune('a'+i))+`@example.org"}`)
	}
	code, body := a.do(t, "POST", "/api/inject/v1", "", `{"envelope_sender":"news@shop.example","recipients":[`+
		strings.Join(rcpts, ",")+`],"content":"Subject: hi\r\n\r\nhello","meta":{"tenant":"`+tenant+`"}}`)
	if code != 200 {
		t.Fatalf("inject: %d %s", code, body)
	}
}

func (a *adminRig) waitRecords(t *testing.T, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.sink.WaitFor(ctx, n); err != nil {
		t.Fatalf("%d records at the webhook, want %d: %v", a.sink.Stats().Unique, n, err)
	}
}

func (a *adminRig) recordsOf(t *testing.T, kind message.RecordType) []*message.LogRecord {
	var out []*message.LogRecord
	for _, r := range a.sink.Received() {
		rec, err := message.DecodeRecord(r.Raw)
		if err == nil && rec.Type == kind {
			out = append(out, rec)
		}
	}
	return out
}

func TestAdminBounce(t *testing.T) {
	a := newAdminRig(t, "")
	a.inject(t, "acme", 2)
	a.inject(t, "globex", 1)
	a.waitRecords(t, 3) // each first attempt fails: a TransientFailure each
	code, body := a.do(t, "POST", "/api/admin/bounce/v1", "", `{"tenant":"acme","reason":"customer left","duration":"10m"}`)
	var created struct {
		ID           string            `json:"id"`
		Bounced      map[string]uint64 `json:"bounced"`
		TotalBounced uint64            `json:"total_bounced"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &created) != nil || created.ID == "" {
		t.Fatalf("POST bounce: %d %s", code, body)
	}
	a.waitRecords(t, 5)
	bounces := a.recordsOf(t, message.AdminBounce)
	if len(bounces) != 2 {
		t.Fatalf("%d AdminBounce records, want the 2 messages of tenant acme", len(bounces))
	}
	for _, b := range bounces {
		if b.Response.Code != 551 || b.Response.Enhanced == nil || b.Response.Enhanced.String() != "5.7.1" ||
			b.Response.Content != "Administrator bounced with reason: customer left" || b.Site != "localhost" ||
			!strings.HasPrefix(b.Queue, "acme@") {
			t.Fatalf("AdminBounce record %+v", b)
		}
	}
	code, body = a.do(t, "GET", "/api/admin/bounce/v1", "", "")
	if code != 200 || !strings.Contains(body, created.ID) || !strings.Contains(body, `"acme@example.org":2`) ||
		!strings.Contains(body, `"total_bounced":2`) {
		t.Fatalf("GET bounce: %d %s", code, body)
	}
	code, body = a.do(t, "GET", "/api/admin/queues/v1", "", "")
	if code != 200 || !strings.Contains(body, `"name":"globex@example.org"`) || !strings.Contains(body, `"oldest_age"`) ||
		!strings.Contains(body, `"attempts":{"1":1}`) {
		t.Fatalf("GET queues: %d %s", code, body)
	}
	if code, body = a.do(t, "DELETE", "/api/admin/bounce/v1", "", `{"id":"`+created.ID+`"}`); code != 200 {
		t.Fatalf("DELETE bounce: %d %s", code, body)
	}
	if code, _ = a.do(t, "DELETE", "/api/admin/bounce/v1", "", `{"id":"`+created.ID+`"}`); code != 404 {
		t.Fatalf("DELETE of a cancelled bounce: %d, want 404", code)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"tenant":"acme"}`, "reason"}, {`{"reason":"x","duration":"soon"}`, "duration"}, {`{"reason":"x","color":"red"}`, "color"},
	} {
		if code, body = a.do(t, "POST", "/api/admin/bounce/v1", "", bad.body); code != 400 || !strings.Contains(body, bad.field) {
			t.Errorf("POST %s: %d %s; want 400 naming %s", bad.body, code, body, bad.field)
		}
	}
}

func TestAdminSuspend(t *testing.T) {
	a := newAdminRig(t, "")
	a.inject(t, "acme", 1)
	a.waitRecords(t, 1)
	code, body := a.do(t, "POST", "/api/admin/suspend/v1", "", `{"tenant":"acme","reason":"maintenance"}`)
	if code != 200 || !strings.Contains(body, `"id"`) {
		t.Fatalf("POST suspend: %d %s", code, body)
	}
	var created struct{ ID string }
	json.Unmarshal([]byte(body), &created)
	a.inject(t, "acme", 1) // a new message for the suspended queue fails transiently at once
	a.waitRecords(t, 2)
	var suspended *message.LogRecord
	for _, r := range a.recordsOf(t, message.TransientFailure) {
		if strings.Contains(r.Response.Content, "suspended") {
			suspended = r
		}
	}
	if suspended == nil || suspended.Response.Code != 451 || suspended.Response.Enhanced.String() != "4.4.4" ||
		suspended.Response.Content != "KumoMTA internal: scheduled queue is suspended: maintenance" {
		t.Fatalf("no suspension TransientFailure: %+v", a.recordsOf(t, message.TransientFailure))
	}
	code, body = a.do(t, "GET", "/api/admin/suspend/v1", "", "")
	if code != 200 || !strings.Contains(body, created.ID) || !strings.Contains(body, "maintenance") {
		t.Fatalf("GET suspend: %d %s", code, body)
	}
	if code, body = a.do(t, "DELETE", "/api/admin/suspend/v1", "", `{"id":"`+created.ID+`"}`); code != 200 {
		t.Fatalf("DELETE suspend: %d %s", code, body)
	}
	if code, body = a.do(t, "POST", "/api/admin/suspend/v1", "", `{"routing_domain":"x","reason":"y"}`); code != 400 ||
		!strings.Contains(body, "routing_domain") {
		t.Fatalf("suspend by routing_domain: %d %s; want 400", code, body)
	}
}

func TestAdminToken(t *testing.T) {
	a := newAdminRig(t, "s3cret")
	for _, path := range []string{"/api/admin/bounce/v1", "/api/admin/suspend/v1", "/api/admin/queues/v1"} {
		if code, _ := a.do(t, "GET", path, "", ""); code != 401 {
			t.Errorf("GET %s without the token: %d, want 401", path, code)
		}
		if code, _ := a.do(t, "GET", path, "wrong", ""); code != 401 {
			t.Errorf("GET %s with a wrong token: %d, want 401", path, code)
		}
		if code, body := a.do(t, "GET", path, "s3cret", ""); code != 200 {
			t.Errorf("GET %s with the token: %d %s", path, code, body)
		}
	}
	if code, _ := a.do(t, "GET", "/api/check-liveness/v1", "", ""); code != 200 {
		t.Errorf("liveness needs no token: %d", code)
	}
}
