package template

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/hookd/hookd/message"
)

// The template values built from a record follow the record's JSON exactly:
// the same field names, a null wherever the JSON has null, recipient as a
// string for one recipient and a list otherwise, line breaks in
// response.content folded to spaces, times as the JSON's RFC 3339 strings.
//
// Objects taken from the record keep its field order when passed to tojson,
// so they get their own map types; every other object is a plain
// map[string]any and tojson sorts its keys.
type (
	recordObject   map[string]any // the whole record (log_record)
	responseObject map[string]any // response
	enhancedObject map[string]any // response.enhanced_code
	peerObject     map[string]any // peer_address
)

// Field orders, as message.LogRecord.AppendJSON writes them.
var (
	recordFields = []string{
		"type", "id", "sender", "recipient", "queue", "site", "size",
		"response", "peer_address", "timestamp", "event_time", "created",
		"created_time", "num_attempts", "bounce_classification", "egress_pool",
		"egress_source", "source_address", "feedback_report", "meta", "headers",
		"delivery_protocol", "reception_protocol", "nodeid", "tls_cipher",
		"tls_protocol_version", "tls_peer_subject_name", "provider_name",
		"session_id",
	}
	responseFields = []string{"code", "enhanced_code", "content", "command"}
	enhancedFields = []string{"class", "subject", "detail"}
	peerFields     = []string{"name", "addr", "is_secure"}
)

// null is the template value of a JSON null. It is a nil pointer rather than
// a bare nil because the template library gives a bare nil to undefined
// names as well; the typed nil still behaves as none everywhere (printing,
// truthiness, "is none", "== none") while the default filter and the
// defined test can tell it from undefined.
type null struct{}

var jsonNull = (*null)(nil)

// recordVars builds the template variables for a record: every top-level
// field of its JSON, plus log_record, the whole record as one object.
func recordVars(rec *message.LogRecord) map[string]any {
	obj := recordValue(rec)
	vars := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		vars[k] = v
	}
	vars["log_record"] = obj
	return vars
}

// recordValue converts the record field by field, decoding only the fields
// that hold raw JSON (meta, headers, source_address, feedback_report).
func recordValue(r *message.LogRecord) recordObject {
	o := make(recordObject, len(recordFields))
	o["type"] = string(r.Type)
	o["id"] = r.ID
	o["sender"] = r.Sender
	o["recipient"] = recipientValue(r.Recipient)
	o["queue"] = r.Queue
	o["site"] = r.Site
	o["size"] = uintValue(r.Size)
	o["response"] = responseValue(&r.Response)
	o["peer_address"] = peerValue(r.PeerAddress)
	o["timestamp"] = r.Timestamp
	o["event_time"] = message.FormatTime(r.EventTime)
	o["created"] = r.Created
	o["created_time"] = message.FormatTime(r.CreatedTime)
	o["num_attempts"] = int64(r.NumAttempts)
	o["bounce_classification"] = r.BounceClassification
	o["egress_pool"] = optString(r.EgressPool)
	o["egress_source"] = optString(r.EgressSource)
	o["source_address"] = rawValue(r.SourceAddress)
	o["feedback_report"] = rawValue(r.FeedbackReport)
	o["meta"] = rawMapValue(r.Meta)
	o["headers"] = rawMapValue(r.Headers)
	o["delivery_protocol"] = optString(r.DeliveryProtocol)
	o["reception_protocol"] = optString(r.ReceptionProtocol)
	o["nodeid"] = r.NodeID
	// Left out of the JSON when empty, so left undefined here too.
	if r.TLSCipher != "" {
		o["tls_cipher"] = r.TLSCipher
	}
	if r.TLSProtocolVersion != "" {
		o["tls_protocol_version"] = r.TLSProtocolVersion
	}
	if len(r.TLSPeerSubjectName) > 0 {
		o["tls_peer_subject_name"] = stringList(r.TLSPeerSubjectName)
	}
	if r.ProviderName != "" {
		o["provider_name"] = r.ProviderName
	}
	if r.SessionID != "" {
		o["session_id"] = r.SessionID
	}
	return o
}

func recipientValue(rs message.Recipients) any {
	if len(rs) == 1 {
		return rs[0]
	}
	return stringList(rs)
}

func stringList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func responseValue(r *message.Response) responseObject {
	o := responseObject{
		"code":          int64(r.Code),
		"enhanced_code": jsonNull,
		"content":       message.FoldLineBreaks(r.Content),
		"command":       optString(r.Command),
	}
	if e := r.Enhanced; e != nil {
		o["enhanced_code"] = enhancedObject{
			"class":   int64(e.Class),
			"subject": int64(e.Subject),
			"detail":  int64(e.Detail),
		}
	}
	return o
}

func peerValue(p *message.PeerAddress) any {
	if p == nil {
		return jsonNull
	}
	o := peerObject{"name": p.Name, "addr": p.Addr}
	if p.IsSecure {
		o["is_secure"] = true
	}
	return o
}

func optString(s *string) any {
	if s == nil {
		return jsonNull
	}
	return *s
}

// uintValue keeps integers signed, as the template library computes with
// int64, unless the value does not fit.
func uintValue(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}

// rawMapValue converts a captured meta or headers map; nil is an empty
// object, as in the JSON.
func rawMapValue(m map[string]json.RawMessage) map[string]any {
	out := make(map[string]any, len(m))
	for k, raw := range m {
		out[k] = rawValue(raw)
	}
	return out
}

// rawValue decodes one raw JSON value. An empty or invalid value is null, as
// message.LogRecord.AppendJSON writes it.
func rawValue(raw json.RawMessage) any {
	if len(raw) == 0 {
		return jsonNull
	}
	switch c := raw[0]; { // the common scalars, without a decoder
	case c == '"':
		if s, ok := message.PlainJSONString(raw); ok {
			return s
		}
	case c == '-' || (c >= '0' && c <= '9'):
		digits := bytes.TrimPrefix(raw, []byte("-"))
		if len(digits) > 1 && digits[0] == '0' { // not JSON; the decoder refuses it
			break
		}
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return i
		}
	case c == 'n':
		if string(raw) == "null" {
			return jsonNull
		}
	case c == 't':
		if string(raw) == "true" {
			return true
		}
	case c == 'f':
		if string(raw) == "false" {
			return false
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonNull
	}
	if _, err := dec.Token(); err != io.EOF { // something after the value
		return jsonNull
	}
	return fromJSON(v)
}

// fromJSON converts a value decoded with UseNumber into template values:
// integers become int64 (uint64 above its range), other numbers float64 and
// null the typed null.
func fromJSON(v any) any {
	switch x := v.(type) {
	case nil:
		return jsonNull
	case json.Number:
		return numberValue(x)
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
		return x
	}
	return v // string or bool
}

func numberValue(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u
	}
	f, _ := strconv.ParseFloat(string(n), 64) // ±Inf when out of range
	return f
}
