package extras_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/lua/extras"
	"github.com/hookd/hookd/message"
)

var testTime = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func loadErr(src string, ext ...func(*glua.LState, *glua.LTable)) (*lua.Policy, error) {
	return lua.LoadSource("policy.lua", []byte(src), lua.Options{
		Logger:     slog.New(slog.DiscardHandler),
		Modules:    extras.Modules,
		Extensions: ext,
	})
}

func load(t *testing.T, src string, ext ...func(*glua.LState, *glua.LTable)) *lua.Policy {
	t.Helper()
	p, err := loadErr(src, ext...)
	if err != nil {
		t.Fatalf("loading policy: %v", err)
	}
	return p
}

func newState(t *testing.T, p *lua.Policy) *lua.State {
	t.Helper()
	s, err := p.NewState()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

var idGen = message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})

// record is a log record of the given type, as a hook would receive it.
func record(kind message.RecordType) *message.LogRecord {
	return &message.LogRecord{Type: kind, ID: "00112233445566778899aabbccddeeff", Sender: "sender@example.com",
		Recipient: message.Recipients{"rcpt@example.net"}, Queue: "example.net", Timestamp: testTime.Unix(),
		EventTime: testTime, Created: testTime.Unix(), CreatedTime: testTime, BounceClassification: "Uncategorized",
		Response: message.Response{Code: 250, Content: "ok"},
		Meta:     map[string]json.RawMessage{"tenant": []byte(`"acme"`)}}
}

// hookMessage builds the Message a hook builds for rec: its body is the record's JSON.
func hookMessage(t *testing.T, rec *message.LogRecord) *lua.Message {
	t.Helper()
	body := append(rec.AppendJSON(nil), '\n')
	m, err := message.NewHookMessage(rec, idGen.New(testTime), body)
	if err != nil {
		t.Fatal(err)
	}
	return &lua.Message{Msg: m, Record: rec}
}

func queueOf(t *testing.T, m *lua.Message) string {
	t.Helper()
	q, ok, err := m.Msg.Meta.GetString("queue")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return q
}

func shouldEnqueue(t *testing.T, s *lua.State, m *lua.Message, hook string) bool {
	t.Helper()
	ok, err := s.ShouldEnqueue(m, hook)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func queueConfig(t *testing.T, s *lua.State, queue string) *config.Queue {
	t.Helper()
	qc, err := s.QueueConfig(message.ParseQueueName(queue))
	if err != nil {
		t.Fatal(err)
	}
	return qc
}

func global(s *lua.State, name string) string { return s.L.GetGlobal(name).String() }

const constructor = `function(domain, tenant, campaign)
	args = tostring(domain) .. ',' .. tostring(tenant) .. ',' .. tostring(campaign)
	local conn = {}
	function conn:send(msg) return 'sent ' .. msg:id() end
	return conn
end`

func TestOptionErrors(t *testing.T) {
	head := "local log_hooks = require 'policy-extras.log_hooks'\n"
	cases := []struct {
		name, src string
		want      []string
	}{
		{"a reused name", `log_hooks:new { name = 'a', constructor = ` + constructor + ` }
log_hooks:new { name = 'a', constructor = ` + constructor + ` }`,
			[]string{"policy.lua:8:", "log_hook with name 'a' has already been configured"}},
		{"a name reused by new_json", `log_hooks:new { name = 'a', constructor = ` + constructor + ` }
log_hooks:new_json { name = 'a', url = 'http://127.0.0.1:1/' }`,
			[]string{"policy.lua:8:", "log_hook with name 'a' has already been configured"}},
		{"an unknown option", `log_hooks:new { name = 'a', constructor = ` + constructor + `, retries = 3 }`,
			[]string{"policy.lua:", "log_hooks:new: unknown option 'retries'"}},
		{"several unknown options", `log_hooks:new { name = 'a', constructor = ` + constructor + `, zeta = 1, alpha = 2, 'x' }`,
			[]string{"unknown option [1], 'alpha', 'zeta'"}},
		{"new_json takes no batch_size", `log_hooks:new_json { name = 'a', url = 'http://x/', batch_size = 10 }`,
			[]string{"log_hooks:new_json: unknown option 'batch_size'"}},
		{"new_json takes no filter", `log_hooks:new_json { name = 'a', url = 'http://x/', filter = function() end }`,
			[]string{"log_hooks:new_json: unknown option 'filter'"}},
		{"new_json takes no constructor", `log_hooks:new_json { name = 'a', url = 'http://x/', constructor = function() end }`,
			[]string{"log_hooks:new_json: unknown option 'constructor'"}},
		{"a name that is not a string", `log_hooks:new { name = 42, constructor = ` + constructor + ` }`,
			[]string{"policy.lua:2:", "log_hooks:new: option 'name' must be a string, got number 42"}},
		{"a constructor that is not a function", `log_hooks:new { name = 'a', constructor = 'make.a' }`,
			[]string{"option 'constructor' must be a function, got string \"make.a\""}},
		{"a batch_size given as text", `log_hooks:new { name = 'a', constructor = ` + constructor + `, batch_size = '10' }`,
			[]string{"option 'batch_size' must be an integer of at least 1, got string"}},
		{"a fractional batch_size", `log_hooks:new { name = 'a', constructor = ` + constructor + `, batch_size = 1.5 }`,
			[]string{"option 'batch_size' must be an integer of at least 1"}},
		{"a max_batch_latency that is a table", `log_hooks:new { name = 'a', constructor = ` + constructor + `, max_batch_latency = {} }`,
			[]string{"option 'max_batch_latency' must be a duration"}},
		{"log_parameters that are not a table", `log_hooks:new { name = 'a', constructor = ` + constructor + `, log_parameters = 'x' }`,
			[]string{"option 'log_parameters' must be a table, got string"}},
		{"a filter that is not a function", `log_hooks:new { name = 'a', constructor = ` + constructor + `, filter = true }`,
			[]string{"option 'filter' must be a function, got boolean"}},
		{"a url that is not a string", `log_hooks:new_json { name = 'a', url = 5 }`,
			[]string{"log_hooks:new_json: option 'url' must be a string, got number"}},
		{"no name", `log_hooks:new { constructor = ` + constructor + ` }`,
			[]string{"log_hooks:new: option 'name' is required"}},
		{"no constructor", `log_hooks:new { name = 'a' }`, []string{"option 'constructor' is required"}},
		{"no url", `log_hooks:new_json { name = 'a' }`, []string{"log_hooks:new_json: option 'url' is required"}},
		{"an empty name", `log_hooks:new_json { name = '', url = 'http://x/' }`, []string{"option 'name' must not be empty"}},
		{"no options", `log_hooks:new()`, []string{"log_hooks:new: expected a table of options, got nil"}},
		{"configure_log_hook refuses a log parameter", `log_hooks:new_json { name = 'a', url = 'http://x/', log_parameters = { log_dir = '/tmp' } }`,
			[]string{"log_dir"}},
		{"new_disposition_hook without engine support", `log_hooks:new_disposition_hook { name = 'd', hook = function() end }`,
			[]string{"policy.lua:2:", "kumo.configure_log_disposition_hook is not available"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadErr(head + tc.src)
			wantErr(t, err, tc.want...)
		})
	}
}

func TestConfiguresTheHook(t *testing.T) {
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new {
	name = 'a',
	constructor = `+constructor+`,
	log_parameters = {
		name = 'not-this-one',
		headers = { 'Subject', 'X-*' },
		meta = { 'tenant' },
		back_pressure = 10,
		per_record = { Reception = { enable = false } },
	},
}
log_hooks:new { name = 'b', constructor = `+constructor+` }
`)
	hooks := p.Config().Hooks
	if len(hooks) != 2 || hooks[0].Name != "a" || hooks[1].Name != "b" {
		t.Fatalf("hooks %+v", hooks)
	}
	a := hooks[0]
	if strings.Join(a.Headers, ",") != "Subject,X-*" || strings.Join(a.Meta, ",") != "tenant" ||
		a.BackPressure != 10 || a.Enabled(message.Reception) || !a.Enabled(message.Delivery) {
		t.Fatalf("hook a: %+v", a)
	}
	if b := hooks[1]; b.BackPressure != config.DefaultBackPressure || len(b.Headers) != 0 || len(b.Meta) != 0 {
		t.Fatalf("hook b: %+v", b)
	}
}

func TestQueueAndConstructor(t *testing.T) {
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'a', constructor = `+constructor+` }
`)
	// Every state of the policy runs the script again: each has the handlers, none reports a reused name.
	for i := range 2 {
		s := newState(t, p)
		m := hookMessage(t, record(message.Delivery))
		if !shouldEnqueue(t, s, m, "a") {
			t.Fatalf("state %d: the record was not kept", i)
		}
		if q := queueOf(t, m); q != "a.log_hook" {
			t.Fatalf("state %d: queue %q", i, q)
		}
		if q, err := m.Msg.QueueName(); err != nil || q != "a.log_hook" {
			t.Fatalf("state %d: queue name %q, %v", i, q, err)
		}
		qc := queueConfig(t, s, "a.log_hook")
		if qc.Protocol != config.ProtocolCustomLua || qc.CustomLua.Constructor != "make.a.log_hook" {
			t.Fatalf("state %d: protocol %s %+v", i, qc.Protocol, qc.CustomLua)
		}
		c, err := s.Connect("make.a.log_hook", "a.log_hook", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := global(s, "args"); got != "a.log_hook,nil,nil" {
			t.Fatalf("constructor args %s", got)
		}
		if out := c.Send(m); out.Kind != lua.Returned || out.Text != "sent "+m.Msg.ID.String() {
			t.Fatalf("send: %+v", out)
		}
	}
}

func TestDotCallForm(t *testing.T) {
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks.new { name = 'a', constructor = `+constructor+` }
log_hooks.new_json { name = 'b', url = 'http://127.0.0.1:1/' }
`)
	if len(p.Config().Hooks) != 2 {
		t.Fatalf("hooks %+v", p.Config().Hooks)
	}
}

func TestDefersToOtherHandlers(t *testing.T) {
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'a', constructor = `+constructor+` }
log_hooks:new_json { name = 'b', url = 'http://127.0.0.1:1/' }
kumo.on('pre_init', function() kumo.configure_log_hook { name = 'c' } end)
kumo.on('should_enqueue_log_record', function(msg, hook_name)
	seen = (seen or '') .. hook_name .. ';'
	if hook_name == 'c' then
		msg:set_meta('queue', 'mine')
		return true
	end
end)
kumo.on('get_queue_config', function(domain)
	if domain == 'mine' then
		return kumo.make_queue_config { retry_interval = '3m', protocol = { custom_lua = { constructor = 'make.mine' } } }
	end
end)
`)
	s := newState(t, p)
	for _, tc := range []struct {
		hook, queue string
		keep        bool
	}{{"a", "a.log_hook", true}, {"b", "b.log_hook", true}, {"c", "mine", true}, {"d", "", false}} {
		m := hookMessage(t, record(message.Delivery))
		if got := shouldEnqueue(t, s, m, tc.hook); got != tc.keep || queueOf(t, m) != tc.queue {
			t.Fatalf("hook %s: kept %v, queue %q", tc.hook, got, queueOf(t, m))
		}
	}
	if got := global(s, "seen"); got != "c;d;" {
		t.Fatalf("the policy's handler saw %q, want only the records the helpers left to it", got)
	}
	if qc := queueConfig(t, s, "mine"); qc.CustomLua.Constructor != "make.mine" || qc.RetryInterval != 3*time.Minute {
		t.Fatalf("queue mine: %+v %+v", qc, qc.CustomLua)
	}
	if qc := queueConfig(t, s, "b.log_hook"); qc.CustomLua.Constructor != "make.b.log_hook" {
		t.Fatalf("queue b: %+v", qc.CustomLua)
	}
	if !s.HasHandler("make.a.log_hook") || !s.HasHandler("make.b.log_hook") {
		t.Fatal("a constructor event is missing")
	}
}

func TestRefusesRecordsAboutHookMessages(t *testing.T) {
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'a', constructor = `+constructor+`, filter = function() filtered = true end }
`)
	s := newState(t, p)
	rec := record(message.Delivery)
	lr := "LogRecord"
	rec.ReceptionProtocol = &lr
	m := hookMessage(t, rec)
	if shouldEnqueue(t, s, m, "a") || queueOf(t, m) != "" {
		t.Fatalf("a record about a hook message was kept (queue %q)", queueOf(t, m))
	}
	if global(s, "filtered") != "nil" {
		t.Fatal("the filter ran for a record about a hook message")
	}
	esmtp := "ESMTP"
	rec = record(message.Delivery)
	rec.ReceptionProtocol = &esmtp
	if m := hookMessage(t, rec); !shouldEnqueue(t, s, m, "a") {
		t.Fatal("a record about an ESMTP message was refused")
	}
}

func TestFilter(t *testing.T) {
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new {
	name = 'a',
	constructor = `+constructor+`,
	filter = function(msg, hook_name)
		last_hook = hook_name
		local kind = msg:get_meta('log_record').type
		if kind == 'Reception' then return true end
		if kind == 'Bounce' then return 'yes' end
		if kind == 'Delayed' then return false end
		-- Delivery: nothing, which keeps the record
	end,
}
`)
	s := newState(t, p)
	for _, tc := range []struct {
		kind message.RecordType
		keep bool
	}{{message.Reception, false}, {message.Bounce, false}, {message.Delayed, true}, {message.Delivery, true}} {
		m := hookMessage(t, record(tc.kind))
		if got := shouldEnqueue(t, s, m, "a"); got != tc.keep {
			t.Fatalf("%s: kept %v, want %v", tc.kind, got, tc.keep)
		}
		wantQueue := ""
		if tc.keep {
			wantQueue = "a.log_hook"
		}
		if q := queueOf(t, m); q != wantQueue {
			t.Fatalf("%s: queue %q", tc.kind, q)
		}
	}
	if global(s, "last_hook") != "a" {
		t.Fatalf("filter got hook name %s", global(s, "last_hook"))
	}
}

func TestFilterErrorPropagates(t *testing.T) {
	s := newState(t, load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'a', constructor = `+constructor+`, filter = function() error('bad filter') end }
`))
	_, err := s.ShouldEnqueue(hookMessage(t, record(message.Delivery)), "a")
	wantErr(t, err, "should_enqueue_log_record", "bad filter")
}

func TestQueueConfig(t *testing.T) {
	s := newState(t, load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'plain', constructor = `+constructor+` }
log_hooks:new {
	name = 'tuned',
	constructor = `+constructor+`,
	batch_size = 100,
	min_batch_size = 10,
	max_batch_latency = '5s',
	queue_config = {
		retry_interval = '5m',
		max_age = '1h',
		egress_pool = 'pool',
		protocol = { smtp = {} },
	},
}
log_hooks:new { name = 'numeric', constructor = `+constructor+`, max_batch_latency = 2, queue_config = { max_retry_interval = 600 } }
log_hooks:new { name = 'broken', constructor = `+constructor+`, queue_config = { no_such_field = 1 } }
`))
	plain := queueConfig(t, s, "plain.log_hook")
	if plain.RetryInterval != time.Minute || plain.MaxRetryInterval != 20*time.Minute ||
		plain.MaxAge != 7*24*time.Hour || plain.Protocol != config.ProtocolCustomLua {
		t.Fatalf("defaults: %+v", plain)
	}
	if cl := *plain.CustomLua; cl != (config.CustomLua{Constructor: "make.plain.log_hook", BatchSize: 1, MinBatchSize: 1}) {
		t.Fatalf("default custom_lua: %+v", cl)
	}

	tuned := queueConfig(t, s, "tuned.log_hook")
	if tuned.RetryInterval != 5*time.Minute || tuned.MaxRetryInterval != 20*time.Minute ||
		tuned.MaxAge != time.Hour || tuned.EgressPool != "pool" {
		t.Fatalf("overrides: %+v", tuned)
	}
	if tuned.Protocol != config.ProtocolCustomLua {
		t.Fatalf("protocol %s: the helper must force custom_lua", tuned.Protocol)
	}
	want := config.CustomLua{Constructor: "make.tuned.log_hook", BatchSize: 100, MinBatchSize: 10, MaxBatchLatency: 5 * time.Second}
	if *tuned.CustomLua != want {
		t.Fatalf("custom_lua %+v, want %+v", *tuned.CustomLua, want)
	}

	numeric := queueConfig(t, s, "numeric.log_hook")
	if numeric.MaxRetryInterval != 10*time.Minute || numeric.CustomLua.MaxBatchLatency != 2*time.Second {
		t.Fatalf("numeric: %+v %+v", numeric, numeric.CustomLua)
	}

	// Other queues are left to later handlers; with none, the default (SMTP) applies.
	for _, q := range []string{"example.com", "plain", "tenant@plain.log_hook.example", "log_hook"} {
		if qc := queueConfig(t, s, q); qc.Protocol != config.ProtocolSMTP || qc.RetryInterval != 20*time.Minute {
			t.Fatalf("queue %s: %+v", q, qc)
		}
	}

	_, err := s.QueueConfig(message.ParseQueueName("broken.log_hook"))
	wantErr(t, err, "get_queue_config", "no_such_field")
}

func TestDispositionHook(t *testing.T) {
	var names []string
	ext := func(L *glua.LState, kumo *glua.LTable) {
		kumo.RawSetString("configure_log_disposition_hook", L.NewFunction(func(L *glua.LState) int {
			names = append(names, L.CheckTable(1).RawGetString("name").String())
			return 0
		}))
	}
	p := load(t, `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_disposition_hook { name = 'd', hook = function(msg, log_record) end }
`, ext)
	if strings.Join(names, ",") != "d" {
		t.Fatalf("configure_log_disposition_hook calls: %v", names)
	}
	if s := newState(t, p); !s.HasHandler("log_disposition_d") {
		t.Fatal("log_disposition_d has no handler")
	}
	_, err := loadErr(`
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_disposition_hook { name = 'd', hook = function() end }
log_hooks:new_json { name = 'd', url = 'http://x/' }
`, ext)
	wantErr(t, err, "policy.lua:4:", "log_hook with name 'd' has already been configured")
}
