package lua

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

const senderPolicy = `
closed = 0
constructed = 0
kumo.on('make.test', function(domain, tenant, campaign)
	constructed = constructed + 1
	args = tostring(domain) .. ',' .. tostring(tenant) .. ',' .. tostring(campaign)
	local conn = {}
	function conn:send(msg) return behaviour(msg) end
	function conn:send_batch(msgs) return behaviour(msgs[1], #msgs) end
	function conn:close() closed = closed + 1 end
	return conn
end)
kumo.on('make.bad', function() return 42 end)
kumo.on('make.fails', function() error('cannot connect') end)
`

func TestConnection(t *testing.T) {
	outcomes := []struct {
		name, behaviour string
		want            Outcome
	}{
		{"a returned string", `return 'ok ' .. msg:id():sub(1, 4)`, Outcome{Kind: Returned}},
		{"a returned number", `return 250`, Outcome{Kind: Returned, Text: "250"}},
		{"kumo.reject", `kumo.reject(421, 'go away')`, Outcome{Kind: Rejected, Code: 421, Text: "go away"}},
		{"a reject re-raised through pcall", `local ok, e = pcall(kumo.reject, 550, 'no'); error(e)`, Outcome{Kind: Rejected, Code: 550, Text: "no"}},
		{"kumo.disconnect", `kumo.disconnect(451, 'later')`, Outcome{Kind: Rejected, Code: 451, Text: "later"}},
		{"a runtime error", `local x = nil; return x.y`, Outcome{Kind: Failed}},
		{"error()", `error('boom')`, Outcome{Kind: Failed}},
		{"returning nothing", `return`, Outcome{Kind: Failed, Text: "sender:send method failed: expected the method to return a string, got nothing"}},
		{"returning nil", `return nil`, Outcome{Kind: Failed, Text: "sender:send method failed: expected the method to return a string, got nil"}},
		{"returning a table", `return {}`, Outcome{Kind: Failed, Text: "sender:send method failed: expected the method to return a string, got table"}},
		{"returning a boolean", `return true`, Outcome{Kind: Failed, Text: "sender:send method failed: expected the method to return a string, got boolean"}},
	}
	for _, tc := range outcomes {
		t.Run("send: "+tc.name, func(t *testing.T) {
			s := newState(t, load(t, senderPolicy+"function behaviour(msg) "+tc.behaviour+" end"))
			c, err := s.Connect("make.test", "example.com", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := hookMessage(t, message.Delivery)
			got := c.Send(m)
			if got.Kind != tc.want.Kind || got.Code != tc.want.Code {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			switch {
			case tc.want.Text != "" && got.Text != tc.want.Text:
				t.Fatalf("text %q, want %q", got.Text, tc.want.Text)
			case got.Kind == Returned && tc.want.Text == "" && got.Text != "ok "+m.Msg.ID.String()[:4]:
				t.Fatalf("text %q", got.Text)
			case got.Kind == Failed && !strings.HasPrefix(got.Text, "sender:send method failed: "):
				t.Fatalf("text %q", got.Text)
			}
		})
	}
	t.Run("the constructor runs once per connection, with domain, tenant and campaign", func(t *testing.T) {
		s := newState(t, load(t, senderPolicy+"function behaviour() return 'ok' end"))
		tenant, campaign := "ten", "camp"
		c, err := s.Connect("make.test", "example.com", &tenant, &campaign)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			c.Send(hookMessage(t, message.Delivery))
		}
		if eval(t, s, "constructed") != "1" || eval(t, s, "args") != "example.com,ten,camp" {
			t.Fatalf("constructed %s args %s", eval(t, s, "constructed"), eval(t, s, "args"))
		}
		if err := c.Close(); err != nil || eval(t, s, "closed") != "1" {
			t.Fatalf("close: %v closed=%s", err, eval(t, s, "closed"))
		}
		c.Close()
		if eval(t, s, "closed") != "1" {
			t.Fatal("close ran twice")
		}
		if got := c.Send(hookMessage(t, message.Delivery)); got.Kind != Failed {
			t.Fatalf("send after close: %+v", got)
		}
	})
	t.Run("send_batch gets every message", func(t *testing.T) {
		s := newState(t, load(t, senderPolicy+"function behaviour(first, n) return 'batch of ' .. n end"))
		c, _ := s.Connect("make.test", "d", nil, nil)
		ms := []*Message{hookMessage(t, message.Delivery), hookMessage(t, message.Bounce)}
		if got := c.SendBatch(ms); got.Kind != Returned || got.Text != "batch of 2" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a constructor that returns a non-table makes every send fail", func(t *testing.T) {
		s := newState(t, load(t, senderPolicy))
		c, err := s.Connect("make.bad", "d", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Send(hookMessage(t, message.Delivery))
		if got.Kind != Failed || !strings.Contains(got.Text, "invalid connection object") {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("constructor errors and missing constructors are errors", func(t *testing.T) {
		s := newState(t, load(t, senderPolicy))
		_, err := s.Connect("make.fails", "d", nil, nil)
		wantErr(t, err, "policy.lua:", "cannot connect")
		_, err = s.Connect("make.missing", "d", nil, nil)
		wantErr(t, err, `event "make.missing" has no handler`)
	})
	t.Run("a missing send method fails", func(t *testing.T) {
		s := newState(t, load(t, `kumo.on('make.empty', function() return {} end)`))
		c, _ := s.Connect("make.empty", "d", nil, nil)
		if got := c.Send(hookMessage(t, message.Delivery)); got.Kind != Failed || !strings.Contains(got.Text, "no send method") {
			t.Fatalf("%+v", got)
		}
	})
}

func TestDeadlines(t *testing.T) {
	load := func(t *testing.T, src string) *Policy {
		p, err := LoadSource("policy.lua", []byte(src), Options{Deadlines: map[string]time.Duration{
			"should_enqueue_log_record": 50 * time.Millisecond, "send": 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("a handler stuck in a loop is stopped, located, and its state retired", func(t *testing.T) {
		s := newState(t, load(t, "kumo.on('should_enqueue_log_record', function()\n  while true do end\nend)"))
		_, err := s.ShouldEnqueue(hookMessage(t, message.Delivery), "h")
		var de *DeadlineError
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "policy.lua:2: should_enqueue_log_record ran longer than 50ms") {
			t.Fatalf("error %v", err)
		}
		if !s.Broken() {
			t.Fatal("the interrupted state may be reused")
		}
	})
	t.Run("a loop that swallows errors with pcall is stopped too", func(t *testing.T) {
		s := newState(t, load(t, "kumo.on('should_enqueue_log_record', function()\n  while true do pcall(function() while true do end end) end\nend)"))
		if _, err := s.ShouldEnqueue(hookMessage(t, message.Delivery), "h"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a send stuck in a loop fails the delivery", func(t *testing.T) {
		s := newState(t, load(t, senderPolicy+"function behaviour() while true do end end"))
		c, _ := s.Connect("make.test", "d", nil, nil)
		got := c.Send(hookMessage(t, message.Delivery))
		if got.Kind != Failed || !strings.Contains(got.Text, "ran longer than 50ms") {
			t.Fatalf("%+v", got)
		}
	})
	// An interrupted send retires its state: the connection's close cannot run there, and is not
	// attempted (it used to be reported as "close ran longer than 10s", which it never did).
	t.Run("after an interrupted send, close is skipped and nothing else runs in the state", func(t *testing.T) {
		s := newState(t, load(t, senderPolicy+"function behaviour() while true do end end"))
		c, _ := s.Connect("make.test", "d", nil, nil)
		if got := c.Send(hookMessage(t, message.Delivery)); !got.Interrupted {
			t.Fatalf("%+v", got)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close after an interrupted send: %v", err)
		}
		_, err := s.Connect("make.test", "d", nil, nil)
		var de *DeadlineError
		if errors.As(err, &de) || err == nil || !strings.Contains(err.Error(),
			"make.test not run: its Lua state was stopped earlier by a call past its deadline") {
			t.Fatalf("a call into a retired state: %v", err)
		}
	})
	t.Run("a quick handler is not affected", func(t *testing.T) {
		s := newState(t, load(t, "kumo.on('should_enqueue_log_record', function() return true end)"))
		if ok, err := s.ShouldEnqueue(hookMessage(t, message.Delivery), "h"); !ok || err != nil || s.Broken() {
			t.Fatalf("%v %v", ok, err)
		}
	})
}
