package lua

import (
	"bytes"
	"log/slog"
	"time"

	"testing"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
)

func TestShouldEnqueueChain(t *testing.T) {
	cases := []struct {
		name     string
		handlers string
		want     bool
		calls    string // which handlers ran, in order
	}{
		{"no handler means false", ``, false, ""},
		{"a handler that returns nothing passes to the next",
			`on(function() mark 'a' end); on(function() mark 'b'; return true end)`, true, "ab"},
		{"a bare return passes to the next",
			`on(function() mark 'a'; return end); on(function() mark 'b'; return false end)`, false, "ab"},
		{"an explicit nil passes to the next (as KumoMTA documents)",
			`on(function() mark 'a'; return nil end); on(function() mark 'b'; return true end)`, true, "ab"},
		{"true is final", `on(function() mark 'a'; return true end); on(function() mark 'b'; return false end)`, true, "a"},
		{"false is final", `on(function() mark 'a'; return false end); on(function() mark 'b'; return true end)`, false, "a"},
		{"every handler passing means false", `on(function() mark 'a' end); on(function() mark 'b' end)`, false, "ab"},
		{"any other value is truthy and final", `on(function() mark 'a'; return 'yes' end); on(function() mark 'b' end)`, true, "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := load(t, `
				local kumo = require 'kumo'
				calls = ''
				function mark(x) calls = calls .. x end
				local function on(fn) kumo.on('should_enqueue_log_record', fn) end
				`+tc.handlers)
			s := newState(t, p)
			got, err := s.ShouldEnqueue(hookMessage(t, message.Delivery), "h")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ShouldEnqueue = %v, want %v", got, tc.want)
			}
			if calls := s.L.GetGlobal("calls").String(); calls != tc.calls {
				t.Fatalf("handlers ran %q, want %q", calls, tc.calls)
			}
		})
	}
	t.Run("two hooks each get their own Message and hook name", func(t *testing.T) {
		p := load(t, `
			local kumo = require 'kumo'
			seen = {}
			kumo.on('should_enqueue_log_record', function(msg, hook)
				if hook ~= 'first' then return end
				msg:set_meta('queue', 'q1')
				table.insert(seen, hook .. '=' .. msg:id())
				return true
			end)
			kumo.on('should_enqueue_log_record', function(msg, hook)
				table.insert(seen, hook .. ':' .. tostring(msg:get_meta('queue')))
				msg:set_meta('queue', 'q2')
				return true
			end)`)
		s := newState(t, p)
		a, b := hookMessage(t, message.Delivery), hookMessage(t, message.Delivery)
		for _, c := range []struct {
			m    *Message
			hook string
		}{{a, "first"}, {b, "second"}} {
			if ok, err := s.ShouldEnqueue(c.m, c.hook); err != nil || !ok {
				t.Fatalf("hook %s: %v %v", c.hook, ok, err)
			}
		}
		qa, _ := a.Msg.QueueName()
		qb, _ := b.Msg.QueueName()
		if qa != "q1" || qb != "q2" {
			t.Fatalf("queues %q %q", qa, qb)
		}
		if got := eval(t, s, "table.concat(seen, '|')"); got != "first="+a.Msg.ID.String()+"|second:nil" {
			t.Fatalf("seen %s", got)
		}
	})
	t.Run("an error in a handler stops the chain and carries the policy location", func(t *testing.T) {
		p := load(t, "local kumo = require 'kumo'\nkumo.on('should_enqueue_log_record', function()\n  error('boom')\nend)\n")
		_, err := newState(t, p).ShouldEnqueue(hookMessage(t, message.Delivery), "h")
		wantErr(t, err, "policy.lua:3: should_enqueue_log_record: ", "boom")
	})
}

func TestGetQueueConfigChain(t *testing.T) {
	t.Run("no decision gives the default config (SMTP)", func(t *testing.T) {
		p := load(t, `kumo.on('get_queue_config', function() end)`)
		qc, err := newState(t, p).QueueConfig(message.ParseQueueName("c:t@example.com"))
		if err != nil || qc.Protocol != config.ProtocolSMTP || qc.RetryInterval.String() != "20m0s" {
			t.Fatalf("%+v %v", qc, err)
		}
	})
	t.Run("handlers receive domain, tenant, campaign and routing domain", func(t *testing.T) {
		p := load(t, `
			args = ''
			kumo.on('get_queue_config', function(d, t, c, r)
				args = tostring(d)..','..tostring(t)..','..tostring(c)..','..tostring(r)
				return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.x' } } }
			end)`)
		s := newState(t, p)
		qc, err := s.QueueConfig(message.ParseQueueName("camp:ten@example.com!route.example"))
		if err != nil || qc.Protocol != config.ProtocolCustomLua || qc.CustomLua.Constructor != "make.x" {
			t.Fatalf("%+v %v", qc, err)
		}
		if got := s.L.GetGlobal("args").String(); got != "example.com,ten,camp,route.example" {
			t.Fatalf("args %s", got)
		}
		s.QueueConfig(message.ParseQueueName("webhook.log_hook"))
		if got := s.L.GetGlobal("args").String(); got != "webhook.log_hook,nil,nil,nil" {
			t.Fatalf("args %s", got)
		}
	})
	t.Run("a plain table is an error at the handler's line", func(t *testing.T) {
		p := load(t, "\n\nkumo.on('get_queue_config', function()\n  return { retry_interval = '1m' }\nend)")
		_, err := newState(t, p).QueueConfig(message.ParseQueueName("x"))
		wantErr(t, err, "policy.lua:3:", "returned a table", "make_queue_config")
	})
}

func TestKumoOn(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"a single event registered twice names both places",
			"kumo.on('make.x', function() end)\nkumo.on('make.x', function() end)",
			[]string{"policy.lua:2:", "make.x event already has a handler defined at policy.lua:1"}},
		{"init registered twice is an error too",
			"kumo.on('init', function() end)\n\nkumo.on('init', function() end)",
			[]string{"policy.lua:3:", "init event already has a handler defined at policy.lua:1"}},
		{"registering from inside an event handler is refused",
			"kumo.on('init', function()\n  kumo.on('make.y', function() end)\nend)",
			[]string{"policy.lua:2:", "from within the event handler 'init'"}},
		{"the handler must be a function", "kumo.on('init', 42)", []string{"policy.lua:1:", "function expected"}},
		{"the name must be a string", "kumo.on({}, function() end)", []string{"policy.lua:1:", "string expected"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadErr(tc.src)
			wantErr(t, err, tc.want...)
		})
	}
	t.Run("multiple events accept many handlers", func(t *testing.T) {
		load(t, "for i = 1, 3 do kumo.on('get_queue_config', function() end); kumo.on('pre_init', function() end) end")
	})
	t.Run("pre_init and init run once, in the first state only", func(t *testing.T) {
		p := load(t, `
			runs = runs or 0
			kumo.on('pre_init', function() ran_pre = (ran_pre or 0) + 1 end)
			kumo.on('init', function() ran_init = (ran_init or 0) + 1 end)`)
		first := newState(t, p)
		second := newState(t, p)
		if first.L.GetGlobal("ran_pre").String() != "1" || first.L.GetGlobal("ran_init").String() != "1" {
			t.Fatalf("first state: pre_init %v init %v", first.L.GetGlobal("ran_pre"), first.L.GetGlobal("ran_init"))
		}
		if second.L.GetGlobal("ran_pre").String() != "nil" || second.L.GetGlobal("ran_init").String() != "nil" {
			t.Fatal("pre_init or init ran again in a later state")
		}
	})
	t.Run("require 'kumo' is the kumo global", func(t *testing.T) {
		p := load(t, `same = (require 'kumo') == kumo`)
		if newState(t, p).L.GetGlobal("same").String() != "true" {
			t.Fatal("require 'kumo' differs from the global")
		}
	})
	t.Run("a syntax error is reported at its line", func(t *testing.T) {
		_, err := loadErr("local x = 1\nlocal y = \n")
		wantErr(t, err, "policy.lua:3:", "syntax error")
	})
}

func TestValidateAuthBasic(t *testing.T) {
	s := newState(t, load(t, `
local kumo = require 'kumo'
kumo.on('http_server_validate_auth_basic', function(user, password)
  if user == 'loop' then while true do end end
  if user == 'boom' then error('no such user') end
  return user == 'ops' and password == 'hunter2'
end)
`))
	for _, c := range []struct {
		user, pass string
		want       bool
	}{{"ops", "hunter2", true}, {"ops", "wrong", false}, {"other", "hunter2", false}} {
		ok, err := s.ValidateAuthBasic(c.user, c.pass)
		if err != nil || ok != c.want {
			t.Errorf("ValidateAuthBasic(%q, %q) = %v, %v; want %v", c.user, c.pass, ok, err, c.want)
		}
	}
	ok, err := s.ValidateAuthBasic("boom", "x")
	if ok {
		t.Error("a failing handler accepted the credentials")
	}
	wantErr(t, err, "policy.lua:5:", "http_server_validate_auth_basic", "no such user")

	none := newState(t, load(t, `local kumo = require 'kumo'`))
	if ok, err := none.ValidateAuthBasic("ops", "hunter2"); ok || err != nil {
		t.Errorf("without a handler: %v, %v; want false, nil", ok, err)
	}
}

func TestValidateAuthBasicDeadline(t *testing.T) {
	p, err := LoadSource("policy.lua", []byte(`
local kumo = require 'kumo'
kumo.on('http_server_validate_auth_basic', function(user, password)
  while true do end
end)
`), Options{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)),
		Deadlines: map[string]time.Duration{"http_server_validate_auth_basic": 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	s := newState(t, p)
	ok, err := s.ValidateAuthBasic("ops", "x")
	if ok || !s.Broken() {
		t.Errorf("ok=%v broken=%v; want a refusal and a discarded state", ok, s.Broken())
	}
	wantErr(t, err, "policy.lua:4:", "ran longer than 20ms")
}

// TestShouldEnqueueHookNames: one state asked for different hooks in turn passes each call its own
// hook name (the state keeps the last name as a Lua value).
func TestShouldEnqueueHookNames(t *testing.T) {
	s := newState(t, load(t, `local kumo = require 'kumo'
kumo.on('should_enqueue_log_record', function(msg, hook_name) return hook_name == 'a' end)`))
	for i, tc := range []struct {
		hook string
		want bool
	}{{"a", true}, {"b", false}, {"a", true}, {"ab", false}, {"a", true}} {
		m := hookMessage(t, message.Delivery)
		got, err := s.ShouldEnqueue(m, tc.hook)
		if err != nil || got != tc.want {
			t.Errorf("call %d, hook %q: %v, %v; want %v", i, tc.hook, got, err, tc.want)
		}
	}
}
