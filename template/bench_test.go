package template

import (
	"testing"

	"github.com/hookd/hookd/message"
)

// benchRecord is a typical record of about 600 bytes of JSON: a delivery
// through SMTP with a captured header and meta value.
func benchRecord() *message.LogRecord {
	r := sampleRecord(message.Delivery)
	r.Site = "mx.example.org"
	r.Queue = "acme@example.org"
	r.Sender = "news@example.com"
	r.Recipient = message.Recipients{"user@example.org"}
	r.PeerAddress = &message.PeerAddress{Name: "mx.example.org", Addr: "198.51.100.7"}
	r.Response = message.Response{Code: 250, Content: "2.0.0 Ok: queued as 4Z1"}
	r.DeliveryProtocol, r.ReceptionProtocol = strp("ESMTP"), strp("ESMTP")
	r.Meta = raws("tenant", `"acme"`)
	r.Headers = raws("Subject", `"Our fall sale starts today"`)
	r.SessionID = ""
	r.EgressSource = nil
	return r
}

// webhookTemplate is a typical hand-written webhook body.
const webhookTemplate = `{"event":"{{ type | lower }}","id":"{{ id }}","to":{{ recipient | tojson }},` +
	`"code":{{ response.code }},"status":"{% if response.code >= 500 %}bounced{% elif response.code >= 400 %}deferred{% else %}delivered{% endif %}",` +
	`"tenant":{{ meta.tenant | default("none") | tojson }},"subject":{{ headers.Subject | default("") | tojson }}}`

func BenchmarkRender(b *testing.B) {
	rec := benchRecord()
	for _, bc := range []struct{ name, src string }{
		{"tojson", `{{ log_record | tojson }}`},
		{"webhook", webhookTemplate},
		{"golden", goldenTemplate},
	} {
		tpl, err := Compile(bc.src, "Delivery")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tpl.Render(rec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rec.AppendJSON(nil))), "record-bytes")
		})
	}
}

// BenchmarkVars compares the two ways to build the variables: straight from
// the record's fields (what Render does) and by decoding its JSON.
func BenchmarkVars(b *testing.B) {
	rec := benchRecord()
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recordVars(rec)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			varsViaJSON(rec)
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(goldenTemplate, "Any"); err != nil {
			b.Fatal(err)
		}
	}
}
