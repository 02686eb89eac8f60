package engine

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/hookd/hookd/message"
)

// checkText holds a record given to Engine.Log to the rule HTTP intake holds a posted one to:
// every string is valid UTF-8, and every raw JSON member (meta and header values, source_address,
// feedback_report) is well-formed JSON whose text is strict (message.StrictText). A Go string can
// hold any bytes, and without this check they would reach the policy and the webhook as U+FFFD.
func checkText(r *message.LogRecord) error {
	for _, f := range []struct {
		name string
		s    string
	}{
		{"id", r.ID}, {"sender", r.Sender}, {"queue", r.Queue}, {"site", r.Site},
		{"response.content", r.Response.Content}, {"response.command", deref(r.Response.Command)},
		{"bounce_classification", r.BounceClassification},
		{"egress_pool", deref(r.EgressPool)}, {"egress_source", deref(r.EgressSource)},
		{"delivery_protocol", deref(r.DeliveryProtocol)}, {"reception_protocol", deref(r.ReceptionProtocol)},
		{"nodeid", r.NodeID}, {"tls_cipher", r.TLSCipher}, {"tls_protocol_version", r.TLSProtocolVersion},
		{"provider_name", r.ProviderName}, {"session_id", r.SessionID},
	} {
		if !utf8.ValidString(f.s) {
			return invalidText(f.name)
		}
	}
	if p := r.PeerAddress; p != nil {
		if !utf8.ValidString(p.Name) {
			return invalidText("peer_address.name")
		}
		if !utf8.ValidString(p.Addr) {
			return invalidText("peer_address.addr")
		}
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"recipient", r.Recipient}, {"tls_peer_subject_name", r.TLSPeerSubjectName}} {
		for _, s := range l.v {
			if !utf8.ValidString(s) {
				return invalidText(l.name)
			}
		}
	}
	for _, raw := range []struct {
		name string
		v    json.RawMessage
	}{{"source_address", r.SourceAddress}, {"feedback_report", r.FeedbackReport}} {
		if err := checkRaw(raw.name, "", raw.v); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		name string
		v    map[string]json.RawMessage
	}{{"meta", r.Meta}, {"headers", r.Headers}} {
		for k, v := range m.v {
			if !utf8.ValidString(k) {
				return invalidText(m.name + " key")
			}
			if err := checkRaw(m.name, k, v); err != nil { // the field's name is built only for an error
				return err
			}
		}
	}
	return nil
}

// checkRaw checks the raw JSON of the field name (name.key when key is not "").
func checkRaw(name, key string, raw json.RawMessage) error {
	if len(raw) == 0 || plainString(raw) {
		return nil
	}
	if key != "" {
		name += "." + key
	}
	if !json.Valid(raw) {
		return &message.FieldError{Field: name, Problem: "not valid JSON"}
	}
	if !message.StrictText(raw) {
		return invalidText(name)
	}
	return nil
}

func invalidText(field string) error {
	return &message.FieldError{Field: field, Problem: "invalid UTF-8 or an unpaired surrogate escape"}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// plainString reports a JSON string of printable ASCII with no escapes, the common shape of a meta
// or header value, which needs no further look.
func plainString(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
