package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The decoder as it was before the hand-written scanner (record_decode.go,
// jsonscan.go): encoding/json splits the record into raw members and each
// member is decoded on its own. It is kept here, unchanged but for its
// names, as the reference the scanner is checked against: same record,
// same error for every input.

// oracleStrict is StrictText written another way: valid UTF-8, and once escaped backslashes are
// taken out, every \u escape of a high surrogate directly followed by one of a low surrogate and no
// low surrogate escape alone.
func oracleStrict(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	s := strings.ReplaceAll(string(raw), `\\`, "")
	for _, m := range surrogateEscape.FindAllStringIndex(s, -1) {
		hi := strings.ToLower(s[m[0]+2 : m[0]+3+1])
		if hi >= "dc" { // a low surrogate: fine only right after a high one, checked below
			if m[0] < 6 || !surrogateEscape.MatchString(s[m[0]-6:m[0]]) || strings.ToLower(s[m[0]-4:m[0]-2]) >= "dc" {
				return false
			}
			continue
		}
		if m[1]+6 > len(s) || !surrogateEscape.MatchString(s[m[1]:m[1]+6]) || strings.ToLower(s[m[1]+2:m[1]+4]) < "dc" {
			return false
		}
	}
	return true
}

var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F][0-9a-fA-F]{2}`)

// oracleUnmarshal is the former (*LogRecord).UnmarshalJSON.
func oracleUnmarshal(r *LogRecord, b []byte) error {
	if jsonKind(b) == "null" {
		return nil
	}
	_, err := oracleDecode(r, b)
	return err
}

// oracleDecodeRecord is the former DecodeRecord.
func oracleDecodeRecord(b []byte) (*LogRecord, error) {
	var r LogRecord
	fields, err := oracleDecode(&r, b)
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

// oracleDecode resets r, fills it from the JSON object b and returns the
// object's raw fields. Fields are read in serialization order, so the first
// bad field in that order is the one reported.
func oracleDecode(r *LogRecord, b []byte) (map[string]json.RawMessage, error) {
	*r = LogRecord{}
	fields, err := oracleTopObject(b)
	if err != nil {
		return nil, err
	}
	if !oracleStrict(b) { // since hookd refuses what is not Unicode text: the first member that is not
		for _, name := range recordFields {
			if raw, ok := fields[name]; ok && !oracleStrict(raw) {
				return nil, fieldErrorf(name, "invalid UTF-8 or an unpaired surrogate escape: records must be valid Unicode text")
			}
		}
		return nil, fieldErrorf("a member hookd does not read", "invalid UTF-8 or an unpaired surrogate escape: records must be valid Unicode text")
	}
	o := oracleReader{fields: fields}
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

// oracleReader reads typed members out of a decoded JSON object. It keeps
// the first error and ignores every call after it; absent members leave
// their destination untouched.
type oracleReader struct {
	fields map[string]json.RawMessage
	prefix string // prepended to member names in errors, e.g. "response."
	err    error
}

// member returns the raw value of name when it is present and no error has
// happened yet.
func (o *oracleReader) member(name string) ([]byte, bool) {
	if o.err != nil {
		return nil, false
	}
	raw, ok := o.fields[name]
	return raw, ok
}

func (o *oracleReader) str(name string, dst *string) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleString(o.prefix+name, raw)
	}
}

func (o *oracleReader) optStr(name string, dst **string) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleOptString(o.prefix+name, raw)
	}
}

func (o *oracleReader) boolean(name string, dst *bool) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleBool(o.prefix+name, raw)
	}
}

func (o *oracleReader) uint(name string, bits int) (n uint64) {
	if raw, ok := o.member(name); ok {
		n, o.err = oracleUint(o.prefix+name, raw, bits)
	}
	return n
}

func (o *oracleReader) int(name string) (n int64) {
	if raw, ok := o.member(name); ok {
		n, o.err = oracleInt(o.prefix+name, raw)
	}
	return n
}

func (o *oracleReader) time(name string, dst *time.Time) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleTime(o.prefix+name, raw)
	}
}

func (o *oracleReader) any(name string, dst *json.RawMessage) {
	if raw, ok := o.member(name); ok {
		*dst = oracleAny(raw)
	}
}

func (o *oracleReader) object(name string, dst *map[string]json.RawMessage) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleObject(o.prefix+name, raw)
	}
}

func (o *oracleReader) strList(name string, dst *[]string) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleStringList(o.prefix+name, raw)
	}
}

func (o *oracleReader) recipients(name string, dst *Recipients) {
	if raw, ok := o.member(name); ok {
		*dst, o.err = oracleRecipients(o.prefix+name, raw)
	}
}

// sub returns a reader for the object member name, or nil when the member
// is absent or null or an error has happened.
func (o *oracleReader) sub(name string) *oracleReader {
	raw, ok := o.member(name)
	if !ok {
		return nil
	}
	fields, err := oracleObject(o.prefix+name, raw)
	if err != nil || fields == nil {
		o.err = err
		return nil
	}
	return &oracleReader{fields: fields, prefix: o.prefix + name + "."}
}

func (o *oracleReader) response(name string, dst *Response) {
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

func (o *oracleReader) peer(name string, dst **PeerAddress) {
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

// oracleTopObject splits a JSON object into its raw members.
func oracleTopObject(b []byte) (map[string]json.RawMessage, error) {
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

func oracleString(field string, raw []byte) (string, error) {
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

func oracleOptString(field string, raw []byte) (*string, error) {
	if jsonKind(raw) == "null" {
		return nil, nil
	}
	s, err := oracleString(field, raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func oracleBool(field string, raw []byte) (bool, error) {
	switch jsonKind(raw) {
	case "null":
		return false, nil
	case "boolean":
		return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true")), nil
	}
	return false, expected(field, "boolean", raw)
}

// oracleNumber returns the text of a JSON number, "" for null.
func oracleNumber(field string, raw []byte) (string, error) {
	switch jsonKind(raw) {
	case "null":
		return "", nil
	case "number":
		return string(bytes.TrimSpace(raw)), nil
	}
	return "", expected(field, "number", raw)
}

// oracleUint decodes an unsigned integer that fits in bits bits.
func oracleUint(field string, raw []byte, bits int) (uint64, error) {
	text, err := oracleNumber(field, raw)
	if text == "" {
		return 0, err
	}
	n, err := strconv.ParseUint(text, 10, bits)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, fieldErrorf(field, "%s is out of range for u%d", text, bits)
	}
	return 0, fieldErrorf(field, "expected an unsigned integer, got %s", text)
}

func oracleInt(field string, raw []byte) (int64, error) {
	text, err := oracleNumber(field, raw)
	if text == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, fieldErrorf(field, "%s is out of range for i64", text)
	}
	return 0, fieldErrorf(field, "expected an integer, got %s", text)
}

func oracleTime(field string, raw []byte) (time.Time, error) {
	if jsonKind(raw) == "null" {
		return time.Time{}, nil
	}
	s, err := oracleString(field, raw)
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

// oracleAny keeps any JSON value except null as raw bytes.
func oracleAny(raw []byte) json.RawMessage {
	if jsonKind(raw) == "null" {
		return nil
	}
	return bytes.Clone(bytes.TrimSpace(raw))
}

func oracleObject(field string, raw []byte) (map[string]json.RawMessage, error) {
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

func oracleStringList(field string, raw []byte) ([]string, error) {
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
		s, err := oracleString(elem, item)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func oracleRecipients(field string, raw []byte) (Recipients, error) {
	switch jsonKind(raw) {
	case "null":
		return nil, nil
	case "string":
		s, err := oracleString(field, raw)
		if err != nil {
			return nil, err
		}
		return Recipients{s}, nil
	case "array":
		list, err := oracleStringList(field, raw)
		return Recipients(list), err
	}
	return nil, expected(field, "string or array", raw)
}

// oracleUnmarshalRecipients is the former (*Recipients).UnmarshalJSON.
func oracleUnmarshalRecipients(rs *Recipients, b []byte) error {
	list, err := oracleRecipients("recipient", b)
	if err != nil {
		return err
	}
	*rs = list
	return nil
}
