package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Meta is a message's metadata: JSON values by key.
type Meta map[string]json.RawMessage

// Clone returns a deep copy of m (nil for nil).
func (m Meta) Clone() Meta {
	if m == nil {
		return nil
	}
	out := make(Meta, len(m))
	for k, v := range m {
		out[k] = bytes.Clone(v)
	}
	return out
}

// GetString returns the string value stored under key. ok is false when the
// key is missing or holds JSON null; err is set when the value is present
// but not a JSON string.
func (m Meta) GetString(key string) (value string, ok bool, err error) {
	raw, present := m[key]
	if !present || isJSONNull(raw) {
		return "", false, nil
	}
	if v, ok := PlainJSONString(raw); ok {
		return v, true, nil
	}
	if jsonKind(raw) != "string" {
		return "", false, fmt.Errorf("meta %q must be a string, got %s", key, jsonKind(raw))
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", false, fmt.Errorf("meta %q: %v", key, err)
	}
	return value, true, nil
}

// SetString stores value under key as a JSON string.
func (m Meta) SetString(key, value string) {
	m[key] = AppendJSONString(nil, value)
}

// PlainJSONString returns the text of raw when it is exactly one JSON string without escapes or
// control characters, in valid UTF-8 (what json.Unmarshal would return for it), the common shape
// of meta and header values; false otherwise.
func PlainJSONString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '"' || c == '\\' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

func isJSONNull(raw []byte) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// Message is a message in hookd: its spool id, envelope, metadata and body.
//
// A body is never changed in place once it is a message's: whatever changes a body (set_data, a
// template) sets a new slice. Readers may share its bytes without copying them (Lua's get_data
// returns a string over them).
type Message struct {
	ID         SpoolID
	Sender     Address
	Recipients []Address
	Meta       Meta
	Body       []byte
}

// QueueName computes the scheduled queue the message belongs to (SPEC §5).
// Meta "queue", when set, is used verbatim and must be a JSON string.
// Otherwise the name is formatted from meta "campaign", "tenant" and
// "routing_domain" (each a string, or absent or null) and the lowercased
// domain of the first recipient. It is an error for a meta value to have
// another JSON type, and for the message to have no recipient.
func (m *Message) QueueName() (string, error) {
	if queue, ok, err := m.Meta.GetString("queue"); err != nil || ok {
		return queue, err
	}
	var q QueueName
	for _, part := range []struct {
		key string
		dst **string
	}{
		{"campaign", &q.Campaign},
		{"tenant", &q.Tenant},
		{"routing_domain", &q.RoutingDomain},
	} {
		v, ok, err := m.Meta.GetString(part.key)
		if err != nil {
			return "", err
		}
		if ok {
			*part.dst = &v
		}
	}
	if len(m.Recipients) == 0 {
		return "", errors.New("message has no recipients")
	}
	q.Domain = strings.ToLower(m.Recipients[0].Domain())
	return FormatQueueName(q), nil
}

// Clone returns a deep copy of m: later changes to either message leave the
// other unchanged.
func (m *Message) Clone() *Message {
	if m == nil {
		return nil
	}
	out := *m
	if m.Recipients != nil {
		out.Recipients = append([]Address(nil), m.Recipients...)
	}
	out.Meta = m.Meta.Clone()
	if m.Body != nil {
		out.Body = bytes.Clone(m.Body)
	}
	return &out
}

// CaptureMeta selects the meta values a logger records (SPEC §3, "Meta
// capture rules"). A name is matched exactly and its value copied only when
// present and not JSON null. A name ending in '*' is a case-sensitive
// prefix: every key starting with the prefix is copied, nulls included; "*"
// copies everything. The result never aliases meta and is never nil.
func CaptureMeta(meta Meta, names []string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage)
	for _, name := range names {
		prefix, wildcard := strings.CutSuffix(name, "*")
		if !wildcard {
			if v, ok := meta[name]; ok && !isJSONNull(v) {
				out[name] = v
			}
			continue
		}
		for k, v := range meta {
			if strings.HasPrefix(k, prefix) {
				out[k] = v
			}
		}
	}
	// The values are copies, made in one buffer: each value's capacity ends where it does, so an
	// append to one never reaches the next.
	size := 0
	for _, v := range out {
		size += len(v)
	}
	buf := make([]byte, 0, size)
	for k, v := range out {
		start := len(buf)
		buf = append(buf, v...)
		out[k] = buf[start:len(buf):len(buf)]
	}
	return out
}

// NewHookMessage builds the message a log hook spools for rec (SPEC §4,
// steps 4 and 6). The sender is rec.Sender parsed as an address ("" is the
// null sender); the recipients are rec.Recipient parsed in order, and an
// empty list is the error "no recips!?". The meta starts as a copy of
// rec.Meta (the captured subset, not the original message's meta); then
// "log_record" is set to the record as a JSON object and
// "reception_protocol" to "LogRecord". The body is used as given.
func NewHookMessage(rec *LogRecord, id SpoolID, body []byte) (*Message, error) {
	return newHookMessage(rec, id, body, nil, true)
}

// NewHookMessageJSON is NewHookMessage for a caller that owns rec (a log hook's captured copy) and
// may have the record's JSON already (recJSON, AppendJSON's output; nil to have it built): the
// message's meta values are rec's own and its "log_record" is recJSON, shared, not copied. Meta
// values are replaced, never changed in place, so sharing them is safe.
func NewHookMessageJSON(rec *LogRecord, id SpoolID, body, recJSON []byte) (*Message, error) {
	return newHookMessage(rec, id, body, recJSON, false)
}

// logRecordProtocol is the reception_protocol of every message a log hook builds, as JSON: one value
// that all of them share (meta values are replaced, never changed in place).
var logRecordProtocol = json.RawMessage(`"LogRecord"`)

func newHookMessage(rec *LogRecord, id SpoolID, body, recJSON []byte, copyMeta bool) (*Message, error) {
	sender, err := ParseAddress(rec.Sender)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if len(rec.Recipient) == 0 {
		return nil, errors.New("no recips!?")
	}
	recipients := make([]Address, len(rec.Recipient))
	for i, text := range rec.Recipient {
		if recipients[i], err = ParseAddress(text); err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i, err)
		}
	}
	meta := make(Meta, len(rec.Meta)+2)
	for k, v := range rec.Meta {
		if copyMeta {
			v = bytes.Clone(v)
		}
		meta[k] = v
	}
	if recJSON == nil {
		recJSON = rec.AppendJSON(nil)
	}
	meta["log_record"] = recJSON
	meta["reception_protocol"] = logRecordProtocol
	return &Message{
		ID:         id,
		Sender:     sender,
		Recipients: recipients,
		Meta:       meta,
		Body:       body,
	}, nil
}
