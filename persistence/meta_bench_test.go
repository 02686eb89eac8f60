package persistence

import (
	"testing"

	"github.com/hookd/hookd/message"
)

// hookEntry is the spool entry of a typical hook message: the record is its body, its meta says
// where it goes.
func hookEntry(b *testing.B) *Entry {
	b.Helper()
	rec := &message.LogRecord{Type: message.Delivery, ID: "0123456789abcdef0123456789abcdef",
		Sender: "news@example.com", Recipient: message.Recipients{"user@example.org"}, Queue: "example.org",
		Site: "unspecified->mx.example.org@smtp_client", Size: 2048,
		Response: message.Response{Code: 250, Content: "2.0.0 OK queued as 1234"}, NodeID: "node",
		BounceClassification: "Uncategorized"}
	body := append(rec.AppendJSON(nil), '\n')
	m, err := message.NewHookMessage(rec, message.NewIDGen([6]byte{1}).New(rec.EventTime), body)
	if err != nil {
		b.Fatal(err)
	}
	m.Meta["queue"] = []byte(`"webhook"`)
	meta, err := EncodeMeta(m)
	if err != nil {
		b.Fatal(err)
	}
	return &Entry{ID: m.ID, Queue: "webhook", Meta: meta, Body: m.Body}
}

func BenchmarkDecodeMessage(b *testing.B) {
	e := hookEntry(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(e.Meta)))
	for b.Loop() {
		if _, err := DecodeMessage(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMeta(b *testing.B) {
	e := hookEntry(b)
	m, err := DecodeMessage(e)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeMeta(m); err != nil {
			b.Fatal(err)
		}
	}
}
