package lua

import (
	"encoding/json"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/message"
)

// recordTable builds the Lua table of a log record straight from its Go fields (no JSON round
// trip). Null fields are absent, as JSON null is in Lua.
func recordTable(L *glua.LState, r *message.LogRecord) *glua.LTable {
	t := L.CreateTable(0, 28)
	set := func(k string, v glua.LValue) { t.RawSetString(k, v) }
	str := func(k, v string) { set(k, glua.LString(v)) }
	opt := func(k string, v *string) {
		if v != nil {
			str(k, *v)
		}
	}
	str("type", string(r.Type))
	str("id", r.ID)
	str("sender", r.Sender)
	if len(r.Recipient) == 1 {
		str("recipient", r.Recipient[0])
	} else {
		rs := L.CreateTable(len(r.Recipient), 0)
		for _, x := range r.Recipient {
			rs.Append(glua.LString(x))
		}
		set("recipient", rs)
	}
	str("queue", r.Queue)
	str("site", r.Site)
	set("size", glua.LNumber(r.Size))
	set("response", responseTable(L, &r.Response))
	if p := r.PeerAddress; p != nil {
		pt := L.CreateTable(0, 3)
		pt.RawSetString("name", glua.LString(p.Name))
		pt.RawSetString("addr", glua.LString(p.Addr))
		if p.IsSecure {
			pt.RawSetString("is_secure", glua.LTrue)
		}
		set("peer_address", pt)
	}
	set("timestamp", glua.LNumber(r.Timestamp))
	str("event_time", message.FormatTime(r.EventTime))
	set("created", glua.LNumber(r.Created))
	str("created_time", message.FormatTime(r.CreatedTime))
	set("num_attempts", glua.LNumber(r.NumAttempts))
	str("bounce_classification", r.BounceClassification)
	opt("egress_pool", r.EgressPool)
	opt("egress_source", r.EgressSource)
	rawField(L, t, "source_address", r.SourceAddress)
	rawField(L, t, "feedback_report", r.FeedbackReport)
	set("meta", rawMap(L, r.Meta))
	set("headers", rawMap(L, r.Headers))
	opt("delivery_protocol", r.DeliveryProtocol)
	opt("reception_protocol", r.ReceptionProtocol)
	str("nodeid", r.NodeID)
	if r.TLSCipher != "" {
		str("tls_cipher", r.TLSCipher)
	}
	if r.TLSProtocolVersion != "" {
		str("tls_protocol_version", r.TLSProtocolVersion)
	}
	if len(r.TLSPeerSubjectName) > 0 {
		names := L.CreateTable(len(r.TLSPeerSubjectName), 0)
		for _, n := range r.TLSPeerSubjectName {
			names.Append(glua.LString(n))
		}
		set("tls_peer_subject_name", names)
	}
	if r.ProviderName != "" {
		str("provider_name", r.ProviderName)
	}
	if r.SessionID != "" {
		str("session_id", r.SessionID)
	}
	return t
}

func responseTable(L *glua.LState, r *message.Response) *glua.LTable {
	t := L.CreateTable(0, 4)
	t.RawSetString("code", glua.LNumber(r.Code))
	t.RawSetString("content", glua.LString(message.FoldLineBreaks(r.Content)))
	if e := r.Enhanced; e != nil {
		et := L.CreateTable(0, 3)
		et.RawSetString("class", glua.LNumber(e.Class))
		et.RawSetString("subject", glua.LNumber(e.Subject))
		et.RawSetString("detail", glua.LNumber(e.Detail))
		t.RawSetString("enhanced_code", et)
	}
	if r.Command != nil {
		t.RawSetString("command", glua.LString(*r.Command))
	}
	return t
}

func rawField(L *glua.LState, t *glua.LTable, key string, raw []byte) {
	if len(raw) == 0 {
		return
	}
	if v, err := luaserde.FromJSON(L, raw); err == nil {
		t.RawSetString(key, v)
	}
}

func rawMap(L *glua.LState, m map[string]json.RawMessage) *glua.LTable {
	t := L.CreateTable(0, len(m))
	for k, raw := range m {
		if v, err := luaserde.FromJSON(L, raw); err == nil {
			t.RawSetString(k, v)
		}
	}
	return t
}
