package message

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeRecord checks that decoding never panics and that
// decode → encode → decode → encode is stable: whatever a record decodes
// to, its encoding decodes to a record with the same encoding.
func FuzzDecodeRecord(f *testing.F) {
	for _, rt := range RecordTypes() {
		f.Add(goldenRecord(rt).AppendJSON(nil))
	}
	for _, seed := range []string{
		``, `null`, `[]`, `{}`, `{"type":"Delivery"}`, `{"type":"Any"}`,
		`{"type":"Bounce","recipient":["a","b"],"size":18446744073709551615}`,
		`{"type":"Delivery","response":{"code":65536}}`,
		`{"type":"Delivery","response":{"content":"a\r\nb\rc\n"}}`,
		`{"type":"Delivery","event_time":"2024-11-08T15:30:12.5+01:00"}`,
		`{"type":"Delivery","event_time":"0000-01-01T00:00:00+00:30"}`,
		`{"type":"Delivery","meta":{"a":{ "b" : [ 1 , 2 ] },"a":2}}`,
		`{"type":"Delivery","headers":{"X":"\u2028<>&\ud800"}}`,
		`{"type":"Delivery","source_address":  {"address" : "1.2.3.4:5"}  }`,
		`{"type":"XferIn","tls_peer_subject_name":[],"session_id":""}`,
		"{\"type\":\"Delivery\",\"sender\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, decode := range []func([]byte) (*LogRecord, error){DecodeRecord, unmarshalRecord} {
			r, err := decode(data)
			if err != nil {
				continue
			}
			first := r.AppendJSON(nil)
			if !json.Valid(first) {
				t.Fatalf("encoding is not valid JSON: %q", first)
			}
			again, err := decode(first)
			if err != nil {
				t.Fatalf("encoding %q does not decode: %v", first, err)
			}
			if second := again.AppendJSON(nil); !bytes.Equal(first, second) {
				t.Fatalf("unstable encoding:\n%q\n%q", first, second)
			}
			if _, err := r.MarshalJSON(); err != nil {
				t.Fatalf("MarshalJSON failed on a decoded record: %v", err)
			}
		}
	})
}

func unmarshalRecord(b []byte) (*LogRecord, error) {
	var r LogRecord
	if err := r.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return &r, nil
}
