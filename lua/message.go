package lua

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/lua/luatype"
	"github.com/hookd/hookd/message"
)

// messageType's metatable is shared by every state (see luatype).
var messageType = luatype.New("hookd.Message", buildMessageType)

// Message is a message as Lua sees it (the userdata behind `msg`). Conversions of meta values into Lua
// are cached per message, so msg:get_meta('log_record') builds its table once however often a policy
// asks for it.
type Message struct {
	Msg      *message.Message
	Record   *message.LogRecord // the record a hook message was built from, when known
	Attempts uint16

	L       *glua.LState // the state the cache below belongs to
	ud      *glua.LUserData
	cache   []cachedMeta  // a policy reads a few keys: a short list costs less than a map
	cache0  [2]cachedMeta // the list's first entries, without an allocation of their own
	record  *glua.LTable  // the log_record table, once asked for
	headers []message.Header
	parsed  bool
	fill    func(*message.Message) error // see NewLazyMessage
}

// cachedMeta is a meta value converted for Lua.
type cachedMeta struct {
	key   string
	value glua.LValue
}

// NewMessage wraps m for Lua.
func NewMessage(m *message.Message) *Message { return &Message{Msg: m} }

// NewLazyMessage wraps a message of which only the id and body are known yet: fill completes Msg
// (sender, recipients, meta) the first time a method needs more, and Full on the Go side. A session
// whose policy sends only the body (msg:get_data) never decodes the rest.
func NewLazyMessage(id message.SpoolID, body []byte, attempts uint16, fill func(*message.Message) error) *Message {
	return &Message{Msg: &message.Message{ID: id, Body: body}, Attempts: attempts, fill: fill}
}

// Full completes the message if it was made lazily, and returns it. After an error the message
// stays incomplete and every call returns the error again.
func (m *Message) Full() (*message.Message, error) {
	if m.fill != nil {
		if err := m.fill(m.Msg); err != nil {
			return nil, err
		}
		m.fill = nil
	}
	return m.Msg, nil
}

// Complete reports whether the message is complete (not lazy, or filled in).
func (m *Message) Complete() bool { return m.fill == nil }

// checkFull is checkMsg for the methods that read or change the envelope or meta.
func checkFull(L *glua.LState) *Message {
	m := checkMsg(L)
	if _, err := m.Full(); err != nil {
		L.RaiseError("message %s: %v", m.Msg.ID, err)
	}
	return m
}

func (m *Message) userdata(L *glua.LState) *glua.LUserData {
	if m.L != L || m.ud == nil {
		m.L, m.cache, m.record = L, nil, nil
		m.ud = messageType.Wrap(L, m)
	}
	return m.ud
}

func buildMessageType(b *luatype.Builder) {
	mt := b.MT
	methods := b.Methods(map[string]glua.LGFunction{
		"id":                           msgID,
		"sender":                       msgSender,
		"set_sender":                   msgSetSender,
		"recipient":                    msgRecipient,
		"recipient_list":               msgRecipientList,
		"set_recipient":                msgSetRecipient,
		"get_meta":                     msgGetMeta,
		"set_meta":                     msgSetMeta,
		"get_data":                     msgGetData,
		"set_data":                     msgSetData,
		"queue_name":                   msgQueueName,
		"get_first_named_header_value": msgFirstHeader,
		"get_all_named_header_values":  msgAllNamedHeaders,
		"get_all_headers":              msgAllHeaders,
		"append_header":                msgAppendHeader,
		"prepend_header":               msgPrependHeader,
		"remove_all_named_headers":     msgRemoveHeaders,
		"num_attempts":                 msgNumAttempts,
	})
	for _, name := range []string{"set_due", "set_scheduling", "save", "shrink", "shrink_data",
		"import_x_headers", "increment_num_attempts", "dkim_sign", "check_fix_conformance"} {
		name := name
		methods.RawSetString(name, b.Func(func(L *glua.LState) int {
			L.RaiseError("msg:%s() is not supported by hookd", name)
			return 0
		}))
	}
	mt.RawSetString("__tostring", b.Func(func(L *glua.LState) int {
		L.Push(glua.LString(checkMsg(L).Msg.ID.String()))
		return 1
	}))
}

func checkMsg(L *glua.LState) *Message {
	ud := L.CheckUserData(1)
	m, ok := ud.Value.(*Message)
	if !ok {
		L.ArgError(1, "message expected")
	}
	return m
}

func msgID(L *glua.LState) int {
	L.Push(glua.LString(checkMsg(L).Msg.ID.String()))
	return 1
}

func msgSender(L *glua.LState) int {
	L.Push(addressValue(L, checkFull(L).Msg.Sender))
	return 1
}

func msgSetSender(L *glua.LState) int {
	m := checkFull(L)
	a, err := toAddress(L.Get(2))
	if err != nil {
		L.ArgError(2, err.Error())
	}
	m.Msg.Sender = a
	return 0
}

func msgRecipient(L *glua.LState) int {
	rs := checkFull(L).Msg.Recipients
	switch len(rs) {
	case 0:
		L.Push(glua.LNil)
	case 1:
		L.Push(addressValue(L, rs[0]))
	default:
		L.Push(addressList(L, rs))
	}
	return 1
}

func msgRecipientList(L *glua.LState) int {
	L.Push(addressList(L, checkFull(L).Msg.Recipients))
	return 1
}

func msgSetRecipient(L *glua.LState) int {
	m := checkFull(L)
	v := L.Get(2)
	var rs []message.Address
	if t, ok := v.(*glua.LTable); ok {
		for i := 1; i <= t.Len(); i++ {
			a, err := toAddress(t.RawGetInt(i))
			if err != nil {
				L.ArgError(2, fmt.Sprintf("recipient %d: %v", i, err))
			}
			rs = append(rs, a)
		}
	} else {
		a, err := toAddress(v)
		if err != nil {
			L.ArgError(2, err.Error())
		}
		rs = []message.Address{a}
	}
	m.Msg.Recipients = rs
	return 0
}

func msgGetMeta(L *glua.LState) int {
	m := checkFull(L)
	key := L.CheckString(2)
	if key == "log_record" && m.Record != nil {
		if m.record == nil {
			m.record = lazyRecordTable(L, m.Record)
		}
		L.Push(m.record)
		return 1
	}
	for _, c := range m.cache {
		if c.key == key {
			L.Push(c.value)
			return 1
		}
	}
	var v glua.LValue = glua.LNil
	switch raw, ok := m.Msg.Meta[key]; {
	case ok:
		lv, err := luaserde.FromJSON(L, raw)
		if err != nil {
			L.RaiseError("get_meta(%q): %v", key, err)
		}
		v = lv
	}
	if m.cache == nil {
		m.cache = m.cache0[:0]
	}
	m.cache = append(m.cache, cachedMeta{key, v})
	L.Push(v)
	return 1
}

func msgSetMeta(L *glua.LState) int {
	m := checkFull(L)
	key := L.CheckString(2)
	raw, err := luaserde.ToJSON(L.Get(3))
	if err != nil {
		L.RaiseError("set_meta(%q): %v", key, err)
	}
	if m.Msg.Meta == nil {
		m.Msg.Meta = message.Meta{}
	}
	m.Msg.Meta[key] = json.RawMessage(raw)
	m.cache = slices.DeleteFunc(m.cache, func(c cachedMeta) bool { return c.key == key })
	if key == "log_record" {
		m.Record, m.record = nil, nil
	}
	return 0
}

// msgGetData returns the body as a Lua string that shares the body's bytes: a body is never changed
// in place (message.Message), so the string stays what it was, and a webhook's send does not copy
// every body it posts.
func msgGetData(L *glua.LState) int {
	b := checkMsg(L).Msg.Body
	L.Push(glua.LString(unsafe.String(unsafe.SliceData(b), len(b))))
	return 1
}

func msgSetData(L *glua.LState) int {
	m := checkMsg(L)
	m.Msg.Body = []byte(L.CheckString(2))
	m.parsed = false
	return 0
}

func msgQueueName(L *glua.LState) int {
	name, err := checkFull(L).Msg.QueueName()
	if err != nil {
		L.RaiseError("queue_name: %v", err)
	}
	L.Push(glua.LString(name))
	return 1
}

func msgNumAttempts(L *glua.LState) int {
	L.Push(glua.LNumber(checkMsg(L).Attempts))
	return 1
}

func (m *Message) parsedHeaders(L *glua.LState) []message.Header {
	if !m.parsed {
		hs, err := message.ParseHeaders(m.Msg.Body)
		if err != nil {
			hs = nil // a body without a header block (a JSON record, say) has no headers
		}
		m.headers, m.parsed = hs, true
	}
	return m.headers
}

func msgFirstHeader(L *glua.LState) int {
	m := checkMsg(L)
	name := L.CheckString(2)
	for _, h := range m.parsedHeaders(L) {
		if strings.EqualFold(h.Name, name) {
			L.Push(glua.LString(message.DecodeHeaderValue(h.Value)))
			return 1
		}
	}
	L.Push(glua.LNil)
	return 1
}

func msgAllNamedHeaders(L *glua.LState) int {
	m := checkMsg(L)
	name := L.CheckString(2)
	t := L.NewTable()
	for _, h := range m.parsedHeaders(L) {
		if strings.EqualFold(h.Name, name) {
			t.Append(glua.LString(message.DecodeHeaderValue(h.Value)))
		}
	}
	L.Push(t)
	return 1
}

func msgAllHeaders(L *glua.LState) int {
	m := checkMsg(L)
	t := L.NewTable()
	for _, h := range m.parsedHeaders(L) {
		pair := L.NewTable()
		pair.Append(glua.LString(h.Name))
		pair.Append(glua.LString(message.DecodeHeaderValue(h.Value)))
		t.Append(pair)
	}
	L.Push(t)
	return 1
}

func msgAppendHeader(L *glua.LState) int { return addHeader(L, false) }

func msgPrependHeader(L *glua.LState) int { return addHeader(L, true) }

// addHeader inserts "Name: value" at the start or at the end of the header block.
func addHeader(L *glua.LState, first bool) int {
	m := checkMsg(L)
	name, value := L.CheckString(2), L.CheckString(3)
	if name == "" || strings.ContainsAny(name, ": \t\r\n") || strings.ContainsAny(value, "\r\n") {
		L.ArgError(2, "invalid header name or value")
	}
	line := []byte(name + ": " + value + "\r\n")
	body := m.Msg.Body
	at := 0
	if !first {
		at = headerBlockEnd(body)
	}
	out := make([]byte, 0, len(body)+len(line))
	out = append(append(append(out, body[:at]...), line...), body[at:]...)
	m.Msg.Body, m.parsed = out, false
	return 0
}

// headerBlockEnd is the offset of the empty line that ends the header block (or the body's end).
func headerBlockEnd(body []byte) int {
	if bytes.HasPrefix(body, []byte("\r\n")) || bytes.HasPrefix(body, []byte("\n")) {
		return 0
	}
	if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
		return i + 2
	}
	if i := bytes.Index(body, []byte("\n\n")); i >= 0 {
		return i + 1
	}
	return len(body)
}

func msgRemoveHeaders(L *glua.LState) int {
	m := checkMsg(L)
	name := L.CheckString(2)
	body := m.Msg.Body
	end := headerBlockEnd(body)
	var out []byte
	lines := bytes.SplitAfter(body[:end], []byte("\n"))
	skipping := false
	for _, ln := range lines {
		if len(ln) > 0 && (ln[0] == ' ' || ln[0] == '\t') {
			if !skipping {
				out = append(out, ln...)
			}
			continue
		}
		colon := bytes.IndexByte(ln, ':')
		skipping = colon > 0 && strings.EqualFold(string(bytes.TrimSpace(ln[:colon])), name)
		if !skipping {
			out = append(out, ln...)
		}
	}
	m.Msg.Body, m.parsed = append(out, body[end:]...), false
	return 0
}
