package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current encoder")

// Fixed values shared by the representative records.
var (
	goldenEvent   = time.Date(2024, 11, 8, 15, 30, 12, 120_000_000, time.UTC)
	goldenCreated = time.Date(2024, 11, 8, 15, 29, 58, 1_000, time.UTC)
)

const (
	goldenID      = "d7ef132b5d7711eea8c8000c29c33806"
	goldenNode    = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	goldenSession = "0f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
	goldenLuaSite = "unspecified->webhook.log_hook@lua:make.webhook.log_hook"
)

func rawMeta(kv ...string) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

// baseRecord returns the fields every message-based record shares.
func baseRecord(rt RecordType) *LogRecord {
	return &LogRecord{
		Type:                 rt,
		ID:                   goldenID,
		Sender:               "news@example.com",
		Recipient:            Recipients{"user@example.org"},
		Queue:                "acme@example.org",
		Size:                 2048,
		Timestamp:            goldenEvent.Unix(),
		EventTime:            goldenEvent,
		Created:              goldenCreated.Unix(),
		CreatedTime:          goldenCreated,
		BounceClassification: "Uncategorized",
		Meta:                 rawMeta("tenant", `"acme"`, "campaign", `null`),
		Headers:              rawMeta("Subject", `"Grüße <und> & so"`),
		ReceptionProtocol:    strp("ESMTP"),
		NodeID:               goldenNode,
	}
}

// goldenRecord returns a representative record of type rt, shaped like the
// records KumoMTA writes for that event (SPEC-kumomta.md §3 and §7).
func goldenRecord(rt RecordType) *LogRecord {
	r := baseRecord(rt)
	switch rt {
	case Reception:
		r.Response = Response{Code: 250}
		r.PeerAddress = &PeerAddress{Name: "client.example.net", Addr: "192.0.2.10"}
		r.SourceAddress = json.RawMessage(`{"address":"192.0.2.10:51234","server":"192.0.2.1:25","protocol":"ESMTP"}`)
		r.TLSCipher, r.TLSProtocolVersion = "TLS13_AES_256_GCM_SHA384", "TLSv1_3"
		r.SessionID = goldenSession
	case Delivery, TransientFailure, Bounce:
		goldenDeliveryAttempt(r)
	case Expiration:
		r.Response = Response{Code: 551, Enhanced: &EnhancedCode{5, 4, 7},
			Content: "Next delivery time would be 7days 2h after creation, which exceeds max_age=7days"}
		r.NumAttempts = 9
		r.EgressPool = strp("unspecified")
	case AdminBounce:
		r.Site = "localhost"
		r.Response = Response{Code: 551, Enhanced: &EnhancedCode{5, 7, 1},
			Content: "Administrator bounced with: maintenance"}
		r.BounceClassification = "AdministrativeBounce"
	case OOB:
		r.Queue = "example.com"
		r.Response = Response{Code: 550, Enhanced: &EnhancedCode{5, 1, 1}, Content: "user unknown"}
		r.BounceClassification = "InvalidRecipient"
		r.PeerAddress = &PeerAddress{Name: "mx.example.org", Addr: "198.51.100.7"}
	case Feedback:
		r.Response = Response{Code: 250}
		r.FeedbackReport = json.RawMessage(`{"feedback_type":"abuse","user_agent":"SomeGenerator/1.0",` +
			`"version":1,"arrival_date":"2024-11-08T15:00:00Z","original_rcpt_to":["user@example.org"]}`)
	case Rejection:
		r.ID, r.Queue, r.Size, r.Meta, r.Headers = "", "", 0, nil, nil
		r.Created, r.CreatedTime = r.Timestamp, r.EventTime
		r.Response = Response{Code: 550, Enhanced: &EnhancedCode{5, 7, 1},
			Content: "relaying not permitted", Command: strp("RCPT TO:<user@example.org>\r\n")}
		r.PeerAddress = &PeerAddress{Name: "client.example.net", Addr: "192.0.2.10"}
		r.SourceAddress = json.RawMessage(`{"address":"192.0.2.10:51234","server":"192.0.2.1:25"}`)
		r.ReceptionProtocol = nil
	case AdminRebind, DeferredInjectionRebind:
		r.Response = Response{Code: 250, Content: "rebound to queue " + r.Queue}
	case Delayed:
		r.Response = Response{Code: 400, Content: "Context: Received. Next due in 20m at 2024-11-08 15:50:12 UTC"}
	case XferOut, XferIn:
		r.Recipient = Recipients{"user@example.org", "other@example.org"}
		r.Response = Response{Code: 250, Content: "transferred"}
		r.PeerAddress = &PeerAddress{Name: "node-b", Addr: "http://10.1.2.3:8000"}
		r.DeliveryProtocol = strp("Xfer")
	}
	return r
}

// goldenDeliveryAttempt fills in a Lua webhook delivery outcome.
func goldenDeliveryAttempt(r *LogRecord) {
	r.Site = goldenLuaSite
	r.Queue = "webhook.log_hook"
	r.Sender = ""
	r.Recipient = Recipients{"log@hook"}
	r.PeerAddress = &PeerAddress{Name: "Lua via make.webhook.log_hook", Addr: "0.0.0.0"}
	r.EgressPool, r.EgressSource = strp("unspecified"), strp("unspecified")
	r.DeliveryProtocol, r.ReceptionProtocol = strp("Lua"), strp("LogRecord")
	r.SessionID = goldenSession
	r.Meta = rawMeta("log_record", `{"type":"Delivery","id":"x"}`, "queue", `"webhook.log_hook"`)
	r.Headers = nil
	switch r.Type {
	case Delivery:
		r.Response = Response{Code: 200, Content: "ok"}
	case TransientFailure:
		r.NumAttempts = 2
		r.Response = Response{Code: 421, Content: "service busy,\r\ntry later"}
	case Bounce:
		r.NumAttempts = 1
		r.Response = Response{Code: 550, Enhanced: &EnhancedCode{5, 1, 1},
			Content: "550 5.1.1 <log@hook>: no such user", Command: strp("RCPT TO:<log@hook>\r\n")}
		r.BounceClassification = "InvalidRecipient"
		r.PeerAddress.IsSecure = true
		r.TLSCipher, r.TLSProtocolVersion = "TLS13_AES_128_GCM_SHA256", "TLSv1_3"
		r.TLSPeerSubjectName = []string{"C=US", "CN=hooks.example.net"}
		r.ProviderName = "example"
	}
}

func TestGoldenRecords(t *testing.T) {
	for _, rt := range RecordTypes() {
		t.Run(string(rt)+" encodes exactly as the golden file", func(t *testing.T) {
			path := filepath.Join("testdata", "golden", string(rt)+".json")
			got := append(goldenRecord(rt).AppendJSON(nil), '\n')
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding differs from %s\n got: %s\nwant: %s", path, got, want)
			}
		})
		t.Run(string(rt)+" golden file decodes back to the same record", func(t *testing.T) {
			path := filepath.Join("testdata", "golden", string(rt)+".json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeRecord(bytes.TrimSuffix(data, []byte("\n")))
			if err != nil {
				t.Fatal(err)
			}
			if r.Type != rt {
				t.Errorf("type = %q, want %q", r.Type, rt)
			}
			if got := append(r.AppendJSON(nil), '\n'); !bytes.Equal(got, data) {
				t.Errorf("re-encoded record differs:\n got: %s\nwant: %s", got, data)
			}
		})
	}
}
