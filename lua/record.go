package lua

import (
	"encoding/json"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/message"
)

// recordFields turns each field of a log record into its Lua value (nil for a null or absent field,
// as JSON null is in Lua). The table msg:get_meta('log_record') returns is built from them.
var recordFields = map[string]func(L *glua.LState, r *message.LogRecord) glua.LValue{
	"type":   func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LString(r.Type) },
	"id":     func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LString(r.ID) },
	"sender": func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LString(r.Sender) },
	"recipient": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		if len(r.Recipient) == 1 {
			return glua.LString(r.Recipient[0])
		}
		return stringList(L, r.Recipient)
	},
	"queue":    func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LString(r.Queue) },
	"site":     func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LString(r.Site) },
	"size":     func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LNumber(r.Size) },
	"response": func(L *glua.LState, r *message.LogRecord) glua.LValue { return responseTable(L, &r.Response) },
	"peer_address": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		p := r.PeerAddress
		if p == nil {
			return glua.LNil
		}
		pt := L.CreateTable(0, 3)
		pt.RawSetString("name", glua.LString(p.Name))
		pt.RawSetString("addr", glua.LString(p.Addr))
		if p.IsSecure {
			pt.RawSetString("is_secure", glua.LTrue)
		}
		return pt
	},
	"timestamp": func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LNumber(r.Timestamp) },
	"event_time": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		return glua.LString(message.FormatTime(r.EventTime))
	},
	"created": func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LNumber(r.Created) },
	"created_time": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		return glua.LString(message.FormatTime(r.CreatedTime))
	},
	"num_attempts": func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LNumber(r.NumAttempts) },
	"bounce_classification": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		return glua.LString(r.BounceClassification)
	},
	"egress_pool":        func(L *glua.LState, r *message.LogRecord) glua.LValue { return optString(r.EgressPool) },
	"egress_source":      func(L *glua.LState, r *message.LogRecord) glua.LValue { return optString(r.EgressSource) },
	"source_address":     func(L *glua.LState, r *message.LogRecord) glua.LValue { return rawValue(L, r.SourceAddress) },
	"feedback_report":    func(L *glua.LState, r *message.LogRecord) glua.LValue { return rawValue(L, r.FeedbackReport) },
	"meta":               func(L *glua.LState, r *message.LogRecord) glua.LValue { return rawMap(L, r.Meta) },
	"headers":            func(L *glua.LState, r *message.LogRecord) glua.LValue { return rawMap(L, r.Headers) },
	"delivery_protocol":  func(L *glua.LState, r *message.LogRecord) glua.LValue { return optString(r.DeliveryProtocol) },
	"reception_protocol": func(L *glua.LState, r *message.LogRecord) glua.LValue { return optString(r.ReceptionProtocol) },
	"nodeid":             func(L *glua.LState, r *message.LogRecord) glua.LValue { return glua.LString(r.NodeID) },
	"tls_cipher":         func(L *glua.LState, r *message.LogRecord) glua.LValue { return nonEmpty(r.TLSCipher) },
	"tls_protocol_version": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		return nonEmpty(r.TLSProtocolVersion)
	},
	"tls_peer_subject_name": func(L *glua.LState, r *message.LogRecord) glua.LValue {
		if len(r.TLSPeerSubjectName) == 0 {
			return glua.LNil
		}
		return stringList(L, r.TLSPeerSubjectName)
	},
	"provider_name": func(L *glua.LState, r *message.LogRecord) glua.LValue { return nonEmpty(r.ProviderName) },
	"session_id":    func(L *glua.LState, r *message.LogRecord) glua.LValue { return nonEmpty(r.SessionID) },
}

// recordTable builds the Lua table of a log record straight from its Go fields (no JSON round
// trip), every field at once.
func recordTable(L *glua.LState, r *message.LogRecord) *glua.LTable {
	t := L.CreateTable(0, len(recordFields))
	for k, f := range recordFields {
		if v := f(L, r); v != glua.LNil {
			t.RawSetString(k, v)
		}
	}
	return t
}

func stringList(L *glua.LState, xs []string) *glua.LTable {
	t := L.CreateTable(len(xs), 0)
	for _, x := range xs {
		t.Append(glua.LString(x))
	}
	return t
}

func nonEmpty(s string) glua.LValue {
	if s == "" {
		return glua.LNil
	}
	return glua.LString(s)
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

func rawValue(L *glua.LState, raw []byte) glua.LValue {
	if len(raw) == 0 {
		return glua.LNil
	}
	v, err := luaserde.FromJSON(L, raw)
	if err != nil {
		return glua.LNil
	}
	return v
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
