package lua

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/message"
)

// webhookPolicy is a log hook in the style of KumoMTA's webhook example: keep every record that is
// not about a hook message, queue it per tenant, and POST it as JSON from a custom_lua sender.
const webhookPolicy = `
local kumo = require 'kumo'
kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  msg:set_meta('queue', (msg:get_meta 'tenant' or 'default') .. '@webhook')
  return true
end)
kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client {}
  local sender = {}
  local function post(body)
    local response = client:post(URL):header('Content-Type', 'application/json'):body(body):send()
    local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
    if response:status_is_success() then
      return disposition
    end
    kumo.reject(400, disposition)
  end
  function sender:send(msg)
    return post('[' .. msg:get_data() .. ']')
  end
  function sender:send_batch(msgs)
    local bodies = {}
    for i, msg in ipairs(msgs) do
      bodies[i] = msg:get_data()
    end
    return post('[' .. table.concat(bodies, ',') .. ']')
  end
  return sender
end)
`

// BenchmarkHookDecision is the policy's should_enqueue_log_record for one new record: the lazy
// log_record view, a meta read and a meta write.
func BenchmarkHookDecision(b *testing.B) {
	s := newState(b, load(b, webhookPolicy))
	m := hookMessage(b, message.Delivery)
	meta := m.Msg.Meta.Clone()
	b.ReportAllocs()
	for b.Loop() {
		m.record, m.cache, m.Msg.Meta = nil, nil, meta.Clone() // as for a new message
		keep, err := s.ShouldEnqueue(m, "webhook")
		if err != nil || !keep {
			b.Fatal(keep, err)
		}
	}
}

// BenchmarkSessionSend is one webhook POST of one record, and of a batch of 100, through the
// policy's sender, against the same POSTs made by plain net/http to the same loopback server:
// the difference is what the policy (Lua, kumo.http) costs on top of HTTP itself.
func BenchmarkSessionSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	s := newState(b, load(b, webhookPolicy))
	s.L.SetGlobal("URL", glua.LString(srv.URL))
	c, err := s.Connect("make.webhook", "webhook", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	m := hookMessage(b, message.Delivery)
	batch := make([]*Message, 100)
	for i := range batch {
		batch[i] = hookMessage(b, message.Delivery)
	}
	one := append(append([]byte{'['}, bytes.TrimSuffix(m.Msg.Body, []byte{'\n'})...), ']')
	var hundred []byte
	for i, bm := range batch {
		hundred = append(hundred, ",["[min(i, 1)])
		hundred = append(hundred, bytes.TrimSuffix(bm.Msg.Body, []byte{'\n'})...)
	}
	hundred = append(hundred, ']')
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	plain := func(b *testing.B, body []byte) {
		for b.Loop() {
			resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
	}
	b.Run("records=1/net-http", func(b *testing.B) { plain(b, one) })
	b.Run("records=1/policy", func(b *testing.B) {
		for b.Loop() {
			if out := c.Send(m); out.Kind != Returned {
				b.Fatal(out)
			}
		}
	})
	b.Run("records=100/net-http", func(b *testing.B) {
		plain(b, hundred)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/record")
	})
	b.Run("records=100/policy", func(b *testing.B) {
		for b.Loop() {
			if out := c.SendBatch(batch); out.Kind != Returned {
				b.Fatal(out)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/record")
	})
}
