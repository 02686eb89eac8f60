package luaserde

import (
	"testing"
)

// logRecord is a ~600-byte record shaped like a KumoMTA JSON log record.
const logRecord = `{"type":"Delivery","id":"1d98076abbbc11ed940250ebf67f93bd","sender":"noreply@example.com",` +
	`"recipient":"user@example.net","queue":"example.net","site":"unspecified->mx.example.net@smtp_client",` +
	`"size":1047,"response":{"code":250,"enhanced_code":{"class":2,"subject":0,"detail":0},` +
	`"content":"OK ids=8a5475ccbbc611edb80250ebf67f93bd","command":".\r\n"},"peer_address":{"name":"mx.example.net",` +
	`"addr":"203.0.113.5"},"timestamp":1678069691,"created":1678069690,"num_attempts":0,"bounce_classification":"Uncategorized",` +
	`"egress_pool":"pool0","egress_source":"source1","feedback_report":null,"meta":{"tenant":"acme","campaign":"spring"},` +
	`"headers":{"Subject":"Hello"},"delivery_protocol":"ESMTP","reception_protocol":"ESMTP","nodeid":"b1a4f1a4"}`

func BenchmarkFromJSON(b *testing.B) {
	L := newState(b)
	data := []byte(logRecord)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromJSON(L, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToJSON(b *testing.B) {
	L := newState(b)
	v, err := FromJSON(L, []byte(logRecord))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(logRecord)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = AppendJSON(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}
