package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// UnmarshalJSON decodes a record written by MarshalJSON, and tolerates what
// other producers write: unknown fields are ignored, missing or null fields
// leave zero values, "recipient" may be a string or an array, and the time
// fields accept any RFC 3339 timestamp. The record is reset first. A JSON
// null leaves the record untouched, as encoding/json expects. Errors name
// the offending field, e.g.
//
//	field "response.code": expected number, got string
func (r *LogRecord) UnmarshalJSON(b []byte) error {
	if jsonKind(b) == "null" {
		return nil
	}
	_, err := r.decode(b)
	return err
}

// DecodeRecord decodes one JSON log record like UnmarshalJSON and also
// requires that b is an object whose "type" is one of the 14 record types.
func DecodeRecord(b []byte) (*LogRecord, error) {
	var r LogRecord
	fields, err := r.decode(b)
	if err != nil {
		return nil, err
	}
	raw, ok := fields["type"]
	if !ok || jsonKind(raw) == "null" {
		return nil, fieldErrorf("type", "missing")
	}
	if !r.Type.Valid() {
		return nil, fieldErrorf("type", "unknown record type %q", r.Type)
	}
	return &r, nil
}

// decode resets r, fills it from the JSON object b and returns the object's
// raw fields. Fields are read in serialization order, so the first bad field
// in that order is the one reported.
func (r *LogRecord) decode(b []byte) (map[string]json.RawMessage, error) {
	*r = LogRecord{}
	fields, err := decodeTopObject(b)
	if err != nil {
		return nil, err
	}
	o := objectReader{fields: fields}
	var typ string
	o.str("type", &typ)
	r.Type = RecordType(typ)
	o.str("id", &r.ID)
	o.str("sender", &r.Sender)
	o.recipients("recipient", &r.Recipient)
	o.str("queue", &r.Queue)
	o.str("site", &r.Site)
	r.Size = o.uint("size", 64)
	o.response("response", &r.Response)
	o.peer("peer_address", &r.PeerAddress)
	r.Timestamp = o.int("timestamp")
	o.time("event_time", &r.EventTime)
	r.Created = o.int("created")
	o.time("created_time", &r.CreatedTime)
	r.NumAttempts = uint16(o.uint("num_attempts", 16))
	o.str("bounce_classification", &r.BounceClassification)
	o.optStr("egress_pool", &r.EgressPool)
	o.optStr("egress_source", &r.EgressSource)
	o.any("source_address", &r.SourceAddress)
	o.any("feedback_report", &r.FeedbackReport)
	o.object("meta", &r.Meta)
	o.object("headers", &r.Headers)
	o.optStr("delivery_protocol", &r.DeliveryProtocol)
	o.optStr("reception_protocol", &r.ReceptionProtocol)
	o.str("nodeid", &r.NodeID)
	o.str("tls_cipher", &r.TLSCipher)
	o.str("tls_protocol_version", &r.TLSProtocolVersion)
	o.strList("tls_peer_subject_name", &r.TLSPeerSubjectName)
	o.str("provider_name", &r.ProviderName)
	o.str("session_id", &r.SessionID)
	if o.err != nil {
		*r = LogRecord{}
		return nil, o.err
	}
	return fields, nil
}

// objectReader reads typed members out of a decoded JSON object. It keeps
// the first error and ignores every call after it; absent members leave
// their destination untouched.
type objectReader struct {
	fields map[string]json.RawMessage
	prefix string // prepended to member names in errors, e.g. "response."
	err    error
}

// member returns the raw value of name when it is present and no error has
// happened yet.
func (o *objectReader) member(name string) ([]byte, bool) {
	if o.err != nil {
		return nil, false
	}
	raw, ok := o.fields[name]
	return raw, ok
}

func (o *objectReader) str(name string, dst *string) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeString(o.prefix+name, raw)
	}
}

func (o *objectReader) optStr(name string, dst **string) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeOptString(o.prefix+name, raw)
	}
}

func (o *objectReader) boolean(name string, dst *bool) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeBool(o.prefix+name, raw)
	}
}

func (o *objectReader) uint(name string, bits int) (n uint64) {
	if raw, ok := o.member(name); ok {
		n, o.err = decodeUint(o.prefix+name, raw, bits)
	}
	return n
}

func (o *objectReader) int(name string) (n int64) {
	if raw, ok := o.member(name); ok {
		n, o.err = decodeInt(o.prefix+name, raw)
	}
	return n
}

func (o *objectReader) time(name string, dst *time.Time) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeTime(o.prefix+name, raw)
	}
}

func (o *objectReader) any(name string, dst *json.RawMessage) {
	if raw, ok := o.member(name); ok {
		*dst = decodeAny(raw)
	}
}

func (o *objectReader) object(name string, dst *map[string]json.RawMessage) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeObject(o.prefix+name, raw)
	}
}

func (o *objectReader) strList(name string, dst *[]string) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeStringList(o.prefix+name, raw)
	}
}

func (o *objectReader) recipients(name string, dst *Recipients) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = decodeRecipients(o.prefix+name, raw)
	}
}

// sub returns a reader for the object member name, or nil when the member
// is absent or null or an error has happened.
func (o *objectReader) sub(name string) *objectReader {
	raw, ok := o.member(name)
	if !ok {
		return nil
	}
	fields, err := decodeObject(o.prefix+name, raw)
	if err != nil || fields == nil {
		o.err = err
		return nil
	}
	return &objectReader{fields: fields, prefix: o.prefix + name + "."}
}

func (o *objectReader) response(name string, dst *Response) {
	sub := o.sub(name)
	if sub == nil {
		return
	}
	dst.Code = uint16(sub.uint("code", 16))
	if e := sub.sub("enhanced_code"); e != nil {
		code := EnhancedCode{
			Class:   uint8(e.uint("class", 8)),
			Subject: uint16(e.uint("subject", 16)),
			Detail:  uint16(e.uint("detail", 16)),
		}
		if sub.err = e.err; sub.err == nil {
			dst.Enhanced = &code
		}
	}
	sub.str("content", &dst.Content)
	sub.optStr("command", &dst.Command)
	o.err = sub.err
}

func (o *objectReader) peer(name string, dst **PeerAddress) {
	sub := o.sub(name)
	if sub == nil {
		return
	}
	var p PeerAddress
	sub.str("name", &p.Name)
	sub.str("addr", &p.Addr)
	sub.boolean("is_secure", &p.IsSecure)
	if o.err = sub.err; o.err == nil {
		*dst = &p
	}
}

// decodeTopObject splits a JSON object into its raw members.
func decodeTopObject(b []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("empty input: expected a JSON object")
	}
	if !json.Valid(b) {
		var fields map[string]json.RawMessage
		err := json.Unmarshal(b, &fields)
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("invalid JSON at offset %d: %v", syn.Offset, syn)
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if k := jsonKind(b); k != "object" {
		return nil, fmt.Errorf("expected a JSON object, got %s", k)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return fields, nil
}

// jsonKind names the type of a JSON value from its first significant byte.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func expected(field, want string, raw []byte) error {
	return fieldErrorf(field, "expected %s, got %s", want, jsonKind(raw))
}

func decodeString(field string, raw []byte) (string, error) {
	switch jsonKind(raw) {
	case "null":
		return "", nil
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fieldErrorf(field, "%v", err)
		}
		return s, nil
	}
	return "", expected(field, "string", raw)
}

func decodeOptString(field string, raw []byte) (*string, error) {
	if jsonKind(raw) == "null" {
		return nil, nil
	}
	s, err := decodeString(field, raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func decodeBool(field string, raw []byte) (bool, error) {
	switch jsonKind(raw) {
	case "null":
		return false, nil
	case "boolean":
		return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true")), nil
	}
	return false, expected(field, "boolean", raw)
}

// decodeUint decodes an unsigned integer that fits in bits bits.
func decodeUint(field string, raw []byte, bits int) (uint64, error) {
	switch jsonKind(raw) {
	case "null":
		return 0, nil
	case "number":
	default:
		return 0, expected(field, "number", raw)
	}
	text := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseUint(text, 10, bits)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, fieldErrorf(field, "%s is out of range for u%d", text, bits)
	}
	return 0, fieldErrorf(field, "expected an unsigned integer, got %s", text)
}

func decodeInt(field string, raw []byte) (int64, error) {
	switch jsonKind(raw) {
	case "null":
		return 0, nil
	case "number":
	default:
		return 0, expected(field, "number", raw)
	}
	text := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(text, 10, 64)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, fieldErrorf(field, "%s is out of range for i64", text)
	}
	return 0, fieldErrorf(field, "expected an integer, got %s", text)
}

func decodeTime(field string, raw []byte) (time.Time, error) {
	if jsonKind(raw) == "null" {
		return time.Time{}, nil
	}
	s, err := decodeString(field, raw)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fieldErrorf(field, "expected an RFC 3339 time, got %q", s)
	}
	// RFC 3339 has four-digit years; an offset can push the UTC time out.
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, fieldErrorf(field, "time %q is outside years 0000-9999 in UTC", s)
	}
	return t.UTC(), nil
}

// decodeAny keeps any JSON value except null as raw bytes.
func decodeAny(raw []byte) json.RawMessage {
	if jsonKind(raw) == "null" {
		return nil
	}
	return bytes.Clone(bytes.TrimSpace(raw))
}

func decodeObject(field string, raw []byte) (map[string]json.RawMessage, error) {
	switch jsonKind(raw) {
	case "null":
		return nil, nil
	case "object":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fieldErrorf(field, "%v", err)
		}
		return m, nil
	}
	return nil, expected(field, "object", raw)
}

func decodeStringList(field string, raw []byte) ([]string, error) {
	switch jsonKind(raw) {
	case "null":
		return nil, nil
	case "array":
	default:
		return nil, expected(field, "array", raw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fieldErrorf(field, "%v", err)
	}
	out := make([]string, len(items))
	for i, item := range items {
		elem := fmt.Sprintf("%s[%d]", field, i)
		if jsonKind(item) != "string" {
			return nil, expected(elem, "string", item)
		}
		s, err := decodeString(elem, item)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func decodeRecipients(field string, raw []byte) (Recipients, error) {
	switch jsonKind(raw) {
	case "null":
		return nil, nil
	case "string":
		s, err := decodeString(field, raw)
		if err != nil {
			return nil, err
		}
		return Recipients{s}, nil
	case "array":
		list, err := decodeStringList(field, raw)
		return Recipients(list), err
	}
	return nil, expected(field, "string or array", raw)
}

// UnmarshalJSON accepts a bare string (one recipient), an array of strings
// or null (no recipients).
func (rs *Recipients) UnmarshalJSON(b []byte) error {
	list, err := decodeRecipients("recipient", b)
	if err != nil {
		return err
	}
	*rs = list
	return nil
}
