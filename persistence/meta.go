package persistence

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hookd/hookd/message"
)

// metaV1 starts the binary form of an entry's meta. The first form was JSON, which starts with '{';
// entries written by either are read.
const metaV1 = 0x01

// meta v1 flags
const flagLogRecordIsBody = 1 << 0

// EncodeMeta returns the stored form of a message's envelope and meta (FORMAT.md):
//
//	0x01, flags u8, sender uvarint+bytes, recipients uvarint count then uvarint+bytes each,
//	meta uvarint count then (key uvarint+bytes, JSON value uvarint+bytes) each, keys sorted
//
// When meta "log_record" is the body without its final newline (every message a log hook builds),
// it is left out and flag bit 0 says so.
func EncodeMeta(m *message.Message) ([]byte, error) {
	var flags byte
	if lr, ok := m.Meta["log_record"]; ok && len(m.Body) > 0 && bytes.Equal(lr, bytes.TrimSuffix(m.Body, []byte("\n"))) {
		flags |= flagLogRecordIsBody
	}
	var room [16]string // most messages have a few meta keys: no allocation for their list
	keys := room[:0]
	size := 16
	for k, v := range m.Meta {
		if k == "log_record" && flags&flagLogRecordIsBody != 0 {
			continue
		}
		if !json.Valid(v) {
			return nil, fmt.Errorf("meta %q is not valid JSON", k)
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	sender := m.Sender.Email()
	b := make([]byte, 0, size+len(sender)+32*len(m.Recipients))
	b = append(b, metaV1, flags)
	b = appendBytes(b, sender)
	b = binary.AppendUvarint(b, uint64(len(m.Recipients)))
	for _, r := range m.Recipients {
		b = appendBytes(b, r.Email())
	}
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, k)
		b = appendBytes(b, m.Meta[k])
	}
	return b, nil
}

func appendBytes[T ~string | ~[]byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeMessage rebuilds the message an entry holds. Meta values share the entry's memory.
func DecodeMessage(e *Entry) (*message.Message, error) {
	if len(e.Meta) > 0 && e.Meta[0] == '{' {
		return decodeJSONMessage(e)
	}
	m, err := decodeMetaV1(e)
	if err != nil {
		return nil, fmt.Errorf("spool entry %s: meta: %w", e.ID, err)
	}
	return m, nil
}

var errShortMeta = errors.New("truncated")

func decodeMetaV1(e *Entry) (*message.Message, error) {
	b := e.Meta
	if len(b) < 2 || b[0] != metaV1 {
		return nil, fmt.Errorf("unknown format (first byte %#x)", firstByte(b))
	}
	flags := b[1]
	r := metaReader{b: b[2:]}
	m := &message.Message{ID: e.ID, Body: e.Body}
	sender := r.bytes()
	n := r.count()
	rcpts := make([][]byte, 0, min(n, 64))
	for i := 0; i < n && r.err == nil; i++ {
		rcpts = append(rcpts, r.bytes())
	}
	n = r.count()
	if r.err == nil {
		m.Meta = make(message.Meta, n+1)
	}
	for i := 0; i < n && r.err == nil; i++ {
		k, v := r.bytes(), r.bytes()
		if r.err == nil {
			m.Meta[string(k)] = json.RawMessage(v[:len(v):len(v)])
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d of them", errTrailingMeta, len(r.b))
	}
	if flags&flagLogRecordIsBody != 0 {
		m.Meta["log_record"] = bytes.TrimSuffix(e.Body, []byte("\n"))
	}
	var err error
	if m.Sender, err = message.ParseAddress(string(sender)); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if len(rcpts) > 0 {
		m.Recipients = make([]message.Address, 0, len(rcpts))
	}
	for _, rc := range rcpts {
		a, err := message.ParseAddress(string(rc))
		if err != nil {
			return nil, fmt.Errorf("recipient: %w", err)
		}
		m.Recipients = append(m.Recipients, a)
	}
	return m, nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// metaReader reads the members of meta v1, keeping the first error.
type metaReader struct {
	b   []byte
	err error
}

func (r *metaReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n > 1 && r.b[n-1] == 0 { // short, or overlong (never written)
		r.err = errShortMeta
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a member count, which can never exceed the bytes left.
func (r *metaReader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.err = errShortMeta
		return 0
	}
	return int(v)
}

func (r *metaReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShortMeta
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// storedMeta is the first (JSON) form of an entry's meta, in the shape of KumoMTA's meta record.
type storedMeta struct {
	Sender    string             `json:"sender"`
	Recipient message.Recipients `json:"recipient"`
	Meta      message.Meta       `json:"meta"`
	// LogRecordIsBody says that meta "log_record" is the body without its final newline.
	LogRecordIsBody bool `json:"log_record_is_body,omitempty"`
}

// decodeJSONMessage reads an entry written before meta v1.
func decodeJSONMessage(e *Entry) (*message.Message, error) {
	var sm storedMeta
	if err := json.Unmarshal(e.Meta, &sm); err != nil {
		return nil, fmt.Errorf("spool entry %s: meta: %w", e.ID, err)
	}
	m := &message.Message{ID: e.ID, Meta: sm.Meta, Body: e.Body}
	if sm.LogRecordIsBody {
		if m.Meta == nil {
			m.Meta = message.Meta{}
		}
		m.Meta["log_record"] = bytes.TrimSuffix(e.Body, []byte("\n"))
	}
	var err error
	if m.Sender, err = message.ParseAddress(sm.Sender); err != nil {
		return nil, fmt.Errorf("spool entry %s: sender: %w", e.ID, err)
	}
	for _, r := range sm.Recipient {
		a, err := message.ParseAddress(r)
		if err != nil {
			return nil, fmt.Errorf("spool entry %s: recipient: %w", e.ID, err)
		}
		m.Recipients = append(m.Recipients, a)
	}
	return m, nil
}
