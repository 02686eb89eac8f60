package httpapi_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/message"
)

// FuzzDecodeRecords checks that DecodeRecords never panics on any body, with or without the NDJSON
// content type, never returns more records than its limit, and that every record it returns
// re-encodes to JSON that decodes again to a record with the same encoding.
func FuzzDecodeRecords(f *testing.F) {
	one := record("Delivery", spoolID(1), `"meta":{"tenant":"acme"}`, `"headers":{"Subject":"hi"}`)
	for _, seed := range []string{
		one,
		"[" + one + "," + record("Bounce", spoolID(2)) + "]",
		one + "\n" + record("TransientFailure", spoolID(3)) + "\n",
		one + one,
		``, ` `, `[]`, `[`, `]`, `{}`, `null`, `[null]`, `[1,2]`, `"x"`, `[{}]`, `[{},]`, `[{}]]`, `{}{`,
		`{"type":"Any"}`, `{"type":"Delivery","response":{"code":"x"}}`,
		`{"type":"Delivery","recipient":["a@example.com",7]}`,
		`{"type":"Delivery","event_time":"2024-11-08T15:30:12.5+01:00","timestamp":-1}`,
		"{\"type\":\"Delivery\",\"sender\":\"\xff\"}",
		"[" + strings.Repeat(`{"type":"Reception"},`, 10) + `{"type":"Reception"}]`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	const limit = 8
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		contentType := "application/json"
		if ndjson {
			contentType = "application/x-ndjson"
		}
		recs, err := httpapi.DecodeRecords(body, contentType, limit)
		if err != nil {
			if recs != nil {
				t.Fatalf("an error (%v) came with %d records", err, len(recs))
			}
			return
		}
		if len(recs) == 0 || len(recs) > limit {
			t.Fatalf("%d records without an error; want 1 to %d", len(recs), limit)
		}
		for i, rec := range recs {
			first, err := rec.MarshalJSON()
			if err != nil {
				t.Fatalf("record %d does not encode: %v", i, err)
			}
			again, err := message.DecodeRecord(first)
			if err != nil {
				t.Fatalf("record %d encodes to %q, which does not decode: %v", i, first, err)
			}
			second, err := again.MarshalJSON()
			if err != nil || !bytes.Equal(first, second) {
				t.Fatalf("record %d does not survive a round trip:\n%q\n%q (%v)", i, first, second, err)
			}
		}
	})
}
