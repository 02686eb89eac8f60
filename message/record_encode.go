package message

import (
	"encoding/json"
	"slices"
)

// AppendJSON appends the record as compact JSON to dst and returns the
// extended slice. Fields appear in KumoMTA's serialization order (SPEC §3):
//
//	type id sender recipient queue site size response peer_address
//	timestamp event_time created created_time num_attempts
//	bounce_classification egress_pool egress_source source_address
//	feedback_report meta headers delivery_protocol reception_protocol nodeid
//	tls_cipher tls_protocol_version tls_peer_subject_name provider_name
//	session_id
//
// Strings are written by AppendJSONString (kumo.serde.json_encode's rule).
// Raw JSON values (meta, headers, source_address, feedback_report) are
// written as AppendCompactJSON writes them (compact, their strings by the
// same rule); one that is empty or not valid JSON is written as null. The
// encoder is hand-written and uses no reflection because every log record
// passes through it.
func (r *LogRecord) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = AppendJSONString(dst, string(r.Type))
	dst = append(dst, `,"id":`...)
	dst = AppendJSONString(dst, r.ID)
	dst = append(dst, `,"sender":`...)
	dst = AppendJSONString(dst, r.Sender)
	dst = append(dst, `,"recipient":`...)
	dst = r.Recipient.appendJSON(dst)
	dst = append(dst, `,"queue":`...)
	dst = AppendJSONString(dst, r.Queue)
	dst = append(dst, `,"site":`...)
	dst = AppendJSONString(dst, r.Site)
	dst = append(dst, `,"size":`...)
	dst = appendUint(dst, r.Size)
	dst = append(dst, `,"response":`...)
	dst = r.Response.appendJSON(dst)
	dst = append(dst, `,"peer_address":`...)
	dst = r.PeerAddress.appendJSON(dst)
	dst = append(dst, `,"timestamp":`...)
	dst = appendInt(dst, r.Timestamp)
	dst = append(dst, `,"event_time":`...)
	dst = appendTime(dst, r.EventTime)
	dst = append(dst, `,"created":`...)
	dst = appendInt(dst, r.Created)
	dst = append(dst, `,"created_time":`...)
	dst = appendTime(dst, r.CreatedTime)
	dst = append(dst, `,"num_attempts":`...)
	dst = appendUint(dst, uint64(r.NumAttempts))
	dst = append(dst, `,"bounce_classification":`...)
	dst = AppendJSONString(dst, r.BounceClassification)
	dst = append(dst, `,"egress_pool":`...)
	dst = appendOptString(dst, r.EgressPool)
	dst = append(dst, `,"egress_source":`...)
	dst = appendOptString(dst, r.EgressSource)
	dst = append(dst, `,"source_address":`...)
	dst = appendRaw(dst, r.SourceAddress)
	dst = append(dst, `,"feedback_report":`...)
	dst = appendRaw(dst, r.FeedbackReport)
	dst = append(dst, `,"meta":`...)
	dst = appendRawMap(dst, r.Meta)
	dst = append(dst, `,"headers":`...)
	dst = appendRawMap(dst, r.Headers)
	dst = append(dst, `,"delivery_protocol":`...)
	dst = appendOptString(dst, r.DeliveryProtocol)
	dst = append(dst, `,"reception_protocol":`...)
	dst = appendOptString(dst, r.ReceptionProtocol)
	dst = append(dst, `,"nodeid":`...)
	dst = AppendJSONString(dst, r.NodeID)
	dst = r.appendOmittable(dst)
	return append(dst, '}')
}

// appendOmittable appends the trailing fields that are left out when empty.
func (r *LogRecord) appendOmittable(dst []byte) []byte {
	if r.TLSCipher != "" {
		dst = append(dst, `,"tls_cipher":`...)
		dst = AppendJSONString(dst, r.TLSCipher)
	}
	if r.TLSProtocolVersion != "" {
		dst = append(dst, `,"tls_protocol_version":`...)
		dst = AppendJSONString(dst, r.TLSProtocolVersion)
	}
	if len(r.TLSPeerSubjectName) > 0 {
		dst = append(dst, `,"tls_peer_subject_name":`...)
		dst = appendStringArray(dst, r.TLSPeerSubjectName)
	}
	if r.ProviderName != "" {
		dst = append(dst, `,"provider_name":`...)
		dst = AppendJSONString(dst, r.ProviderName)
	}
	if r.SessionID != "" {
		dst = append(dst, `,"session_id":`...)
		dst = AppendJSONString(dst, r.SessionID)
	}
	return dst
}

// MarshalJSON returns AppendJSON(nil). Unlike AppendJSON, which writes null
// in their place, it reports a raw field (meta, headers, source_address,
// feedback_report) that holds invalid JSON as an error naming the field.
//
// Note that json.Marshal and a json.Encoder re-escape U+2028 and U+2029 in
// the returned bytes, and <, > and & unless SetEscapeHTML(false); call
// AppendJSON, this method or the package's MarshalJSON function to get
// KumoMTA's exact bytes.
func (r *LogRecord) MarshalJSON() ([]byte, error) {
	if err := r.checkRaw(); err != nil {
		return nil, err
	}
	return r.AppendJSON(nil), nil
}

// checkRaw reports the first raw JSON field that is set but not valid JSON.
func (r *LogRecord) checkRaw() error {
	if len(r.SourceAddress) > 0 && !json.Valid(r.SourceAddress) {
		return fieldErrorf("source_address", "not valid JSON")
	}
	if len(r.FeedbackReport) > 0 && !json.Valid(r.FeedbackReport) {
		return fieldErrorf("feedback_report", "not valid JSON")
	}
	if err := checkRawMap("meta", r.Meta); err != nil {
		return err
	}
	return checkRawMap("headers", r.Headers)
}

func checkRawMap(field string, m map[string]json.RawMessage) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the same key every time
	for _, k := range keys {
		if v := m[k]; len(v) > 0 && !json.Valid(v) {
			return fieldErrorf(field+"."+k, "not valid JSON")
		}
	}
	return nil
}

func (rs Recipients) appendJSON(dst []byte) []byte {
	if len(rs) == 1 {
		return AppendJSONString(dst, rs[0])
	}
	return appendStringArray(dst, rs)
}

// MarshalJSON encodes a single recipient as a bare string and any other
// number of recipients as an array ([] when empty).
func (rs Recipients) MarshalJSON() ([]byte, error) {
	return rs.appendJSON(nil), nil
}

func appendStringArray(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

func (resp *Response) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"code":`...)
	dst = appendUint(dst, uint64(resp.Code))
	dst = append(dst, `,"enhanced_code":`...)
	if e := resp.Enhanced; e != nil {
		dst = append(dst, `{"class":`...)
		dst = appendUint(dst, uint64(e.Class))
		dst = append(dst, `,"subject":`...)
		dst = appendUint(dst, uint64(e.Subject))
		dst = append(dst, `,"detail":`...)
		dst = appendUint(dst, uint64(e.Detail))
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"content":`...)
	dst = appendContent(dst, resp.Content)
	dst = append(dst, `,"command":`...)
	dst = appendOptString(dst, resp.Command)
	return append(dst, '}')
}

func (p *PeerAddress) appendJSON(dst []byte) []byte {
	if p == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"name":`...)
	dst = AppendJSONString(dst, p.Name)
	dst = append(dst, `,"addr":`...)
	dst = AppendJSONString(dst, p.Addr)
	if p.IsSecure {
		dst = append(dst, `,"is_secure":true`...)
	}
	return append(dst, '}')
}
