package lua

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hookd/hookd/message"
)

// withMsg runs a Lua chunk with `msg` bound to m and returns the value of `out`.
func withMsg(t *testing.T, s *State, m *Message, chunk string) string {
	t.Helper()
	s.L.SetGlobal("msg", m.userdata(s.L))
	if err := s.L.DoString(chunk); err != nil {
		t.Fatalf("%s: %v", chunk, err)
	}
	return s.L.GetGlobal("out").String()
}

func TestMessageMethods(t *testing.T) {
	s := newState(t, load(t, ``))
	cases := []struct{ name, chunk, want string }{
		{"id is the 32-hex spool id", `out = #msg:id() .. ':' .. tostring(msg:id():match('^%x+$') ~= nil)`, "32:true"},
		{"sender is an EnvelopeAddress", `local a = msg:sender(); out = a.user .. '|' .. a.domain .. '|' .. a.email .. '|' .. tostring(a)`,
			"sender|example.com|sender@example.com|sender@example.com"},
		{"one recipient is an address", `out = msg:recipient().email`, "rcpt@example.net"},
		{"recipient_list is always a list", `out = #msg:recipient_list() .. msg:recipient_list()[1].domain`, "1example.net"},
		{"get_meta reads the log record", `local r = msg:get_meta('log_record'); out = r.type .. r.response.code .. r.meta.tenant`, "Delivery250acme"},
		{"the record's response content is folded", `out = msg:get_meta('log_record').response.content`, "ok there"},
		{"absent meta is nil", `out = tostring(msg:get_meta('nothing'))`, "nil"},
		{"reception_protocol of a hook message is LogRecord", `out = msg:get_meta('reception_protocol')`, "LogRecord"},
		{"set_meta then get_meta", `msg:set_meta('queue', 'webhook'); msg:set_meta('n', {a = {1, 2}}); out = msg:get_meta('queue') .. msg:get_meta('n').a[2]`, "webhook2"},
		{"queue_name follows meta", `msg:set_meta('queue', 'my.queue'); out = msg:queue_name()`, "my.queue"},
		{"num_attempts", `out = msg:num_attempts()`, "0"},
		{"get_data is the body", `out = tostring(msg:get_data():sub(1, 17))`, `{"type":"Delivery`},
		{"unsupported methods say so", `local ok, e = pcall(function() msg:set_due(nil) end); out = tostring(e):match('not supported') or e`, "not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := withMsg(t, s, hookMessage(t, message.Delivery), tc.chunk); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("log_record is converted once however often it is read", func(t *testing.T) {
		m := hookMessage(t, message.Delivery)
		got := withMsg(t, s, m, `out = tostring(rawequal(msg:get_meta('log_record'), msg:get_meta('log_record')))`)
		if got != "true" {
			t.Fatal("get_meta('log_record') built a new table on the second call")
		}
	})
	t.Run("setting log_record replaces the cached table", func(t *testing.T) {
		m := hookMessage(t, message.Delivery)
		got := withMsg(t, s, m, `local _ = msg:get_meta('log_record'); msg:set_meta('log_record', {type = 'X'}); out = msg:get_meta('log_record').type`)
		if got != "X" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("set_sender and set_recipient", func(t *testing.T) {
		m := hookMessage(t, message.Delivery)
		got := withMsg(t, s, m, `msg:set_sender('new@example.org'); msg:set_recipient({'a@x.com', msg:sender()})
			local r = msg:recipient(); out = #r .. r[1].email .. r[2].email .. msg:sender().domain`)
		if got != "2a@x.comnew@example.orgexample.org" {
			t.Fatalf("got %q", got)
		}
		if len(m.Msg.Recipients) != 2 {
			t.Fatal("recipients not stored on the Go message")
		}
	})
	t.Run("no recipient is nil", func(t *testing.T) {
		m := hookMessage(t, message.Delivery)
		m.Msg.Recipients = nil
		if got := withMsg(t, s, m, `out = tostring(msg:recipient())`); got != "nil" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestMessageHeaders(t *testing.T) {
	s := newState(t, load(t, ``))
	mk := func() *Message {
		return &Message{Msg: &message.Message{Body: []byte("Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Tag: a\r\nx-tag: b\r\n\r\nhello\r\n")}}
	}
	cases := []struct{ name, chunk, want string }{
		{"first named value, decoded, case-insensitive", `out = msg:get_first_named_header_value('subject')`, "café"},
		{"absent header is nil", `out = tostring(msg:get_first_named_header_value('From'))`, "nil"},
		{"all named values", `out = table.concat(msg:get_all_named_header_values('X-TAG'), ',')`, "a,b"},
		{"all headers as name/value pairs", `local h = msg:get_all_headers(); out = #h .. h[2][1] .. h[3][2]`, "3X-Tagb"},
		{"append_header goes last in the header block", `msg:append_header('X-New', '1'); local h = msg:get_all_headers(); out = h[#h][1]`, "X-New"},
		{"prepend_header goes first", `msg:prepend_header('Received', 'by hookd'); out = msg:get_all_headers()[1][2]`, "by hookd"},
		{"remove_all_named_headers", `msg:remove_all_named_headers('x-tag'); out = #msg:get_all_headers()`, "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mk()
			if got := withMsg(t, s, m, tc.chunk); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if !strings.HasSuffix(string(m.Msg.Body), "\r\n\r\nhello\r\n") {
				t.Fatalf("body broken: %q", m.Msg.Body)
			}
		})
	}
}

func BenchmarkGetMetaLogRecord(b *testing.B) {
	p, _ := loadErr(`function read(msg) return msg:get_meta('log_record').type end`)
	s, _ := p.NewState()
	defer s.Close()
	t := &testing.T{}
	fn := s.L.GetGlobal("read")
	b.Run("cached, per call", func(b *testing.B) {
		m := hookMessage(t, message.Delivery)
		ud := m.userdata(s.L)
		for b.Loop() {
			s.L.Push(fn)
			s.L.Push(ud)
			s.L.Call(1, 1)
			s.L.Pop(1)
		}
	})
	b.Run("first read of a new message (lazy table)", func(b *testing.B) {
		m := hookMessage(t, message.Delivery)
		ud := m.userdata(s.L)
		b.ReportAllocs()
		for b.Loop() {
			m.record = nil // as for a new message
			s.L.Push(fn)
			s.L.Push(ud)
			s.L.Call(1, 1)
			s.L.Pop(1)
		}
	})
	b.Run("converting the whole record to a table", func(b *testing.B) {
		m := hookMessage(t, message.Delivery)
		b.ReportAllocs()
		for b.Loop() {
			recordTable(s.L, m.Record)
		}
	})
}

// TestLazyMessage: a lazy message is filled in once, by the first method that needs more than its
// id and body; a fill that fails is a Lua error naming the message, every time.
func TestLazyMessage(t *testing.T) {
	s := newState(t, load(t, ``))
	id := message.NewIDGen([6]byte{3}).New(testTime)
	fills := 0
	lm := NewLazyMessage(id, []byte("the body"), 2, func(m *message.Message) error {
		fills++
		m.Meta = message.Meta{"tenant": json.RawMessage(`"acme"`)}
		return nil
	})
	if got := withMsg(t, s, lm, `out = msg:get_data() .. msg:num_attempts() .. #msg:id()`); got != "the body232" || fills != 0 {
		t.Fatalf("body, attempts and id: %q after %d fills", got, fills)
	}
	if got := withMsg(t, s, lm, `out = msg:get_meta('tenant') .. (msg:get_meta('tenant'))`); got != "acmeacme" || fills != 1 {
		t.Fatalf("get_meta: %q after %d fills", got, fills)
	}

	bad := NewLazyMessage(id, []byte("x"), 0, func(*message.Message) error { return errors.New("damaged") })
	for range 2 {
		s.L.SetGlobal("msg", bad.userdata(s.L))
		err := s.L.DoString(`out = msg:sender()`)
		if err == nil || !strings.Contains(err.Error(), "message "+id.String()+": damaged") {
			t.Fatalf("a failed fill: %v", err)
		}
	}
	if _, err := bad.Full(); err == nil || bad.Complete() {
		t.Fatal("Full of a message that cannot be filled in")
	}
}
