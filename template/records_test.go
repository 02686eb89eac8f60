package template

import (
	"encoding/json"
	"time"

	"github.com/hookd/hookd/message"
)

// Fixed values shared by the sample records.
var (
	sampleEvent   = time.Date(2024, 11, 8, 15, 30, 12, 120_000_000, time.UTC)
	sampleCreated = time.Date(2024, 11, 8, 15, 29, 58, 1_000, time.UTC)
)

const (
	sampleID      = "d7ef132b5d7711eea8c8000c29c33806"
	sampleNode    = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	sampleSession = "0f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
	sampleLuaSite = "unspecified->webhook.log_hook@lua:make.webhook.log_hook"
)

func strp(s string) *string { return &s }

func raws(kv ...string) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

// sampleRecord returns a representative record of type rt, shaped like the
// records KumoMTA writes for that event. Raw JSON values are compact and
// canonical so that re-encoding them gives the same bytes.
func sampleRecord(rt message.RecordType) *message.LogRecord {
	r := &message.LogRecord{
		Type:                 rt,
		ID:                   sampleID,
		Sender:               "news@example.com",
		Recipient:            message.Recipients{"user@example.org"},
		Queue:                "acme@example.org",
		Size:                 2048,
		Timestamp:            sampleEvent.Unix(),
		EventTime:            sampleEvent,
		Created:              sampleCreated.Unix(),
		CreatedTime:          sampleCreated,
		BounceClassification: "Uncategorized",
		Meta:                 raws("tenant", `"acme"`, "campaign", `null`, "score", `1.5`),
		Headers:              raws("Subject", `"Grüße <und> & 'so'"`, "X-Tag", `["a","b"]`, "from", `"News <news@example.com>"`),
		ReceptionProtocol:    strp("ESMTP"),
		NodeID:               sampleNode,
	}
	switch rt {
	case message.Reception:
		r.Response = message.Response{Code: 250}
		r.PeerAddress = &message.PeerAddress{Name: "client.example.net", Addr: "192.0.2.10"}
		r.SourceAddress = json.RawMessage(`{"address":"192.0.2.10:51234","server":"192.0.2.1:25","protocol":"ESMTP"}`)
		r.TLSCipher, r.TLSProtocolVersion = "TLS13_AES_256_GCM_SHA384", "TLSv1_3"
		r.SessionID = sampleSession
	case message.Delivery, message.TransientFailure, message.Bounce:
		sampleDeliveryAttempt(r)
	case message.Expiration:
		r.Response = message.Response{Code: 551, Enhanced: &message.EnhancedCode{Class: 5, Subject: 4, Detail: 7},
			Content: "Next delivery time would be 7days 2h after creation, which exceeds max_age=7days"}
		r.NumAttempts = 9
		r.EgressPool = strp("unspecified")
	case message.AdminBounce:
		r.Site = "localhost"
		r.Response = message.Response{Code: 551, Enhanced: &message.EnhancedCode{Class: 5, Subject: 7, Detail: 1},
			Content: "Administrator bounced with: maintenance"}
		r.BounceClassification = "AdministrativeBounce"
	case message.OOB:
		r.Queue = "example.com"
		r.Response = message.Response{Code: 550, Enhanced: &message.EnhancedCode{Class: 5, Subject: 1, Detail: 1}, Content: "user unknown"}
		r.BounceClassification = "InvalidRecipient"
		r.PeerAddress = &message.PeerAddress{Name: "mx.example.org", Addr: "198.51.100.7"}
	case message.Feedback:
		r.Response = message.Response{Code: 250}
		r.FeedbackReport = json.RawMessage(`{"feedback_type":"abuse","user_agent":"SomeGenerator/1.0",` +
			`"version":1,"arrival_date":"2024-11-08T15:00:00Z","original_rcpt_to":["user@example.org"]}`)
	case message.Rejection:
		r.ID, r.Queue, r.Size, r.Meta, r.Headers = "", "", 0, nil, nil
		r.Created, r.CreatedTime = r.Timestamp, r.EventTime
		r.Response = message.Response{Code: 550, Enhanced: &message.EnhancedCode{Class: 5, Subject: 7, Detail: 1},
			Content: "relaying not permitted", Command: strp("RCPT TO:<user@example.org>\r\n")}
		r.PeerAddress = &message.PeerAddress{Name: "client.example.net", Addr: "192.0.2.10"}
		r.SourceAddress = json.RawMessage(`{"address":"192.0.2.10:51234","server":"192.0.2.1:25"}`)
		r.ReceptionProtocol = nil
	case message.AdminRebind, message.DeferredInjectionRebind:
		r.Response = message.Response{Code: 250, Content: "rebound to queue " + r.Queue}
	case message.Delayed:
		r.Response = message.Response{Code: 400, Content: "Context: Received. Next due in 20m at 2024-11-08 15:50:12 UTC"}
	case message.XferOut, message.XferIn:
		r.Recipient = message.Recipients{"user@example.org", "other@example.org"}
		r.Response = message.Response{Code: 250, Content: "transferred"}
		r.PeerAddress = &message.PeerAddress{Name: "node-b", Addr: "http://10.1.2.3:8000"}
		r.DeliveryProtocol = strp("Xfer")
	}
	return r
}

// sampleDeliveryAttempt fills in a Lua webhook delivery outcome.
func sampleDeliveryAttempt(r *message.LogRecord) {
	r.Site = sampleLuaSite
	r.Queue = "webhook.log_hook"
	r.Sender = ""
	r.Recipient = message.Recipients{"log@hook"}
	r.PeerAddress = &message.PeerAddress{Name: "Lua via make.webhook.log_hook", Addr: "0.0.0.0"}
	r.EgressPool, r.EgressSource = strp("unspecified"), strp("unspecified")
	r.DeliveryProtocol, r.ReceptionProtocol = strp("Lua"), strp("LogRecord")
	r.SessionID = sampleSession
	r.Meta = raws("log_record", `{"type":"Delivery","id":"x"}`, "queue", `"webhook.log_hook"`)
	r.Headers = nil
	switch r.Type {
	case message.Delivery:
		r.Response = message.Response{Code: 200, Content: "ok"}
	case message.TransientFailure:
		r.NumAttempts = 2
		r.Response = message.Response{Code: 421, Content: "service busy,\r\ntry later"}
	case message.Bounce:
		r.NumAttempts = 1
		r.Response = message.Response{Code: 550, Enhanced: &message.EnhancedCode{Class: 5, Subject: 1, Detail: 1},
			Content: "550 5.1.1 <log@hook>: no such user", Command: strp("RCPT TO:<log@hook>\r\n")}
		r.BounceClassification = "InvalidRecipient"
		r.PeerAddress.IsSecure = true
		r.TLSCipher, r.TLSProtocolVersion = "TLS13_AES_128_GCM_SHA256", "TLSv1_3"
		r.TLSPeerSubjectName = []string{"C=US", "CN=hooks.example.net"}
		r.ProviderName = "example"
	}
}
