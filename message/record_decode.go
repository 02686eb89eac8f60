package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The decoder reads a record in two steps: splitRecord scans the whole
// input once, checking its syntax and noting where the value of each known
// member is, then the values are decoded one by one in serialization order,
// so the first bad field in that order is the one reported. It gives the
// same records and the same errors as decoding with encoding/json into a
// map of raw members (its predecessor, kept in decode_oracle_test.go):
// unknown members are skipped, a repeated key counts only with its last
// value, strings are unquoted as encoding/json unquotes them, and raw
// members (meta, headers, source_address, feedback_report) are copied
// verbatim.

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
	r := new(LogRecord)
	typ, err := r.decode(b)
	if err != nil {
		return nil, err
	}
	if typ == nil || typ[0] == 'n' {
		return nil, fieldErrorf("type", "missing")
	}
	if !r.Type.Valid() {
		return nil, fieldErrorf("type", "unknown record type %q", r.Type)
	}
	return r, nil
}

// The members of a record, in serialization order.
const (
	fType = iota
	fID
	fSender
	fRecipient
	fQueue
	fSite
	fSize
	fResponse
	fPeerAddress
	fTimestamp
	fEventTime
	fCreated
	fCreatedTime
	fNumAttempts
	fBounceClassification
	fEgressPool
	fEgressSource
	fSourceAddress
	fFeedbackReport
	fMeta
	fHeaders
	fDeliveryProtocol
	fReceptionProtocol
	fNodeID
	fTLSCipher
	fTLSProtocolVersion
	fTLSPeerSubjectName
	fProviderName
	fSessionID
	numRecordFields
)

var recordFields = []string{
	fType: "type", fID: "id", fSender: "sender", fRecipient: "recipient", fQueue: "queue",
	fSite: "site", fSize: "size", fResponse: "response", fPeerAddress: "peer_address",
	fTimestamp: "timestamp", fEventTime: "event_time", fCreated: "created",
	fCreatedTime: "created_time", fNumAttempts: "num_attempts",
	fBounceClassification: "bounce_classification", fEgressPool: "egress_pool",
	fEgressSource: "egress_source", fSourceAddress: "source_address",
	fFeedbackReport: "feedback_report", fMeta: "meta", fHeaders: "headers",
	fDeliveryProtocol: "delivery_protocol", fReceptionProtocol: "reception_protocol",
	fNodeID: "nodeid", fTLSCipher: "tls_cipher", fTLSProtocolVersion: "tls_protocol_version",
	fTLSPeerSubjectName: "tls_peer_subject_name", fProviderName: "provider_name",
	fSessionID: "session_id",
}

var (
	responseFields = []string{"code", "enhanced_code", "content", "command"}
	enhancedFields = []string{"class", "subject", "detail"}
	peerFields     = []string{"name", "addr", "is_secure"}
)

// decode resets r and fills it from the JSON object b. It returns the raw
// value of the "type" member, nil when there is none.
func (r *LogRecord) decode(b []byte) ([]byte, error) {
	*r = LogRecord{}
	var v [numRecordFields][]byte
	if !splitRecord(b, &v) {
		return nil, topLevelError(b)
	}
	if field, ok := strictRecord(b, &v); !ok {
		return nil, fieldErrorf(field, "invalid UTF-8 or an unpaired surrogate escape: records must be valid Unicode text")
	}
	var d valueReader
	textRoom := 0
	for f, raw := range v {
		switch f {
		case fSourceAddress, fFeedbackReport, fMeta, fHeaders:
			d.rawRoom += len(raw)
		case fEventTime, fCreatedTime:
		default:
			textRoom += len(raw)
		}
	}
	d.text.Grow(textRoom)
	r.Type = d.recordType(v[fType])
	d.str("id", v[fID], &r.ID)
	d.str("sender", v[fSender], &r.Sender)
	r.Recipient = d.recipients("recipient", v[fRecipient])
	d.str("queue", v[fQueue], &r.Queue)
	d.str("site", v[fSite], &r.Site)
	r.Size = d.uint("size", v[fSize], 64)
	d.response(v[fResponse], &r.Response)
	r.PeerAddress = d.peer(v[fPeerAddress])
	r.Timestamp = d.int("timestamp", v[fTimestamp])
	r.EventTime = d.time("event_time", v[fEventTime])
	r.Created = d.int("created", v[fCreated])
	r.CreatedTime = d.time("created_time", v[fCreatedTime])
	r.NumAttempts = uint16(d.uint("num_attempts", v[fNumAttempts], 16))
	d.str("bounce_classification", v[fBounceClassification], &r.BounceClassification)
	r.EgressPool = d.optStr("egress_pool", v[fEgressPool])
	r.EgressSource = d.optStr("egress_source", v[fEgressSource])
	r.SourceAddress = d.raw(v[fSourceAddress])
	r.FeedbackReport = d.raw(v[fFeedbackReport])
	r.Meta = d.rawMap("meta", v[fMeta])
	r.Headers = d.rawMap("headers", v[fHeaders])
	r.DeliveryProtocol = d.optStr("delivery_protocol", v[fDeliveryProtocol])
	r.ReceptionProtocol = d.optStr("reception_protocol", v[fReceptionProtocol])
	d.str("nodeid", v[fNodeID], &r.NodeID)
	d.str("tls_cipher", v[fTLSCipher], &r.TLSCipher)
	d.str("tls_protocol_version", v[fTLSProtocolVersion], &r.TLSProtocolVersion)
	r.TLSPeerSubjectName = d.strList("tls_peer_subject_name", v[fTLSPeerSubjectName])
	d.str("provider_name", v[fProviderName], &r.ProviderName)
	d.str("session_id", v[fSessionID], &r.SessionID)
	if d.err != nil {
		*r = LogRecord{}
		return nil, d.err
	}
	d.finish()
	return v[fType], nil
}

// splitRecord reports whether b is a single JSON object with nothing but
// whitespace around it, and puts the raw value of each record member in
// v[f], the last one when a key repeats.
func splitRecord(b []byte, v *[numRecordFields][]byte) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	it := memberIter{b: b, i: i + 1, depth: 1}
	split(&it, recordFields, v[:])
	return !it.bad && skipSpace(b, it.i) == len(b)
}

// split reads the rest of the object it walks and puts the raw value of
// the member named names[k] in vals[k], the last one when a key repeats.
func split(it *memberIter, names []string, vals [][]byte) {
	var buf [32]byte
	next := 0 // members usually come in the order of names
	for {
		key, val, ok := it.next()
		if !ok {
			return
		}
		k := next
		if k >= len(names) || string(key) != names[k] {
			if bytes.IndexByte(key, '\\') >= 0 {
				key = appendUnquoted(buf[:0], key)
			}
			k = indexOf(names, key)
		}
		if k >= 0 {
			vals[k] = val
			next = k + 1
		}
	}
}

func indexOf(names []string, key []byte) int {
	for k, name := range names {
		if string(key) == name {
			return k
		}
	}
	return -1
}

// topLevelError says why the record scanner rejected b, in the words of
// the encoding/json-based decoder it replaced.
func topLevelError(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty input: expected a JSON object")
	}
	if !json.Valid(b) {
		var fields map[string]json.RawMessage
		err := json.Unmarshal(b, &fields)
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("invalid JSON at offset %d: %v", syn.Offset, syn)
		}
		return fmt.Errorf("invalid JSON: %v", err)
	}
	// The scanner accepts every valid object, so b is something else.
	return fmt.Errorf("expected a JSON object, got %s", jsonKind(b))
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

// UnmarshalJSON accepts a bare string (one recipient), an array of strings
// or null (no recipients).
func (rs *Recipients) UnmarshalJSON(b []byte) error {
	i := skipSpace(b, 0)
	switch {
	case i < len(b) && b[i] == 'n':
		*rs = nil
		return nil
	case i < len(b) && (b[i] == '"' || b[i] == '['):
		end := skipValue(b, i, 0)
		if end < 0 || skipSpace(b, end) != len(b) {
			var v any
			return fieldErrorf("recipient", "%v", json.Unmarshal(b, &v))
		}
		var d valueReader
		list := d.recipients("recipient", b[i:end])
		if d.err != nil {
			return d.err
		}
		d.finish()
		*rs = list
		return nil
	}
	return expected("recipient", "string or array", b)
}
