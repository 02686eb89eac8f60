package message

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func strp(s string) *string { return &s }

func TestRecordTypes(t *testing.T) {
	want := []RecordType{
		"Reception", "Delivery", "Bounce", "TransientFailure", "Expiration", "AdminBounce",
		"OOB", "Feedback", "Rejection", "AdminRebind", "DeferredInjectionRebind", "Delayed",
		"XferOut", "XferIn",
	}
	t.Run("lists the 14 types in KumoMTA's order", func(t *testing.T) {
		if got := RecordTypes(); !slices.Equal(got, want) {
			t.Fatalf("RecordTypes() = %v, want %v", got, want)
		}
	})
	t.Run("returns a copy the caller may change", func(t *testing.T) {
		got := RecordTypes()
		got[0] = "Changed"
		if RecordTypes()[0] != Reception {
			t.Fatal("changing the returned slice changed the package's list")
		}
	})
	t.Run("parses every type by its exact name", func(t *testing.T) {
		for _, rt := range want {
			got, err := ParseRecordType(string(rt))
			if err != nil || got != rt {
				t.Errorf("ParseRecordType(%q) = %q, %v", rt, got, err)
			}
			if !rt.Valid() {
				t.Errorf("%q.Valid() = false", rt)
			}
		}
	})
}

func TestParseRecordTypeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"the config-only Any", "Any"},
		{"a lowercase name", "delivery"},
		{"an uppercase name", "BOUNCE"},
		{"the empty string", ""},
		{"a name with a trailing space", "Delivery "},
		{"an unknown name", "Deferred"},
	}
	for _, tc := range tests {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			got, err := ParseRecordType(tc.in)
			if err == nil {
				t.Fatalf("ParseRecordType(%q) = %q, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), "unknown record type") {
				t.Errorf("error %q does not say the type is unknown", err)
			}
		})
	}
	if AnyRecord.Valid() {
		t.Error("AnyRecord.Valid() = true, want false")
	}
}

// encodeField encodes r and returns the raw value of one top-level field.
func encodeField(t *testing.T, r *LogRecord, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
		t.Fatalf("AppendJSON wrote invalid JSON: %v", err)
	}
	v, ok := m[field]
	if !ok {
		return "<omitted>"
	}
	return string(v)
}

func TestAppendJSONRecipientForms(t *testing.T) {
	tests := []struct {
		name string
		in   Recipients
		want string
	}{
		{"writes no recipients as an empty array", nil, `[]`},
		{"writes an empty list as an empty array", Recipients{}, `[]`},
		{"writes one recipient as a bare string", Recipients{"a@example.com"}, `"a@example.com"`},
		{"writes two recipients as an array", Recipients{"a@x.com", "b@y.com"}, `["a@x.com","b@y.com"]`},
		{"writes one empty recipient as an empty string", Recipients{""}, `""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &LogRecord{Recipient: tc.in}
			if got := encodeField(t, r, "recipient"); got != tc.want {
				t.Errorf("recipient = %s, want %s", got, tc.want)
			}
			b, _ := tc.in.MarshalJSON()
			if string(b) != tc.want {
				t.Errorf("Recipients.MarshalJSON = %s, want %s", b, tc.want)
			}
		})
	}
}

func TestAppendJSONResponseContent(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"keeps text without line breaks", "250 ok", `"250 ok"`},
		{"turns CRLF into one space", "a\r\nb", `"a b"`},
		{"turns a lone LF into one space", "a\nb", `"a b"`},
		{"turns a lone CR into one space", "a\rb", `"a b"`},
		{"turns LF CR into two spaces", "a\n\rb", `"a  b"`},
		{"turns CR CR LF into two spaces", "a\r\r\nb", `"a  b"`},
		{"turns a trailing CRLF into a trailing space", "done\r\n", `"done "`},
		{"still escapes other control characters", "a\tb", `"a\tb"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &LogRecord{Response: Response{Code: 250, Content: tc.in}}
			got := encodeField(t, r, "response")
			want := `{"code":250,"enhanced_code":null,"content":` + tc.want + `,"command":null}`
			if got != want {
				t.Errorf("response = %s, want %s", got, want)
			}
		})
	}
	t.Run("leaves line breaks in the command alone", func(t *testing.T) {
		r := &LogRecord{Response: Response{Code: 550, Enhanced: &EnhancedCode{5, 1, 1},
			Content: "no", Command: strp("RCPT TO:<a@b>\r\n")}}
		want := `{"code":550,"enhanced_code":{"class":5,"subject":1,"detail":1},` +
			`"content":"no","command":"RCPT TO:<a@b>\r\n"}`
		if got := encodeField(t, r, "response"); got != want {
			t.Errorf("response = %s, want %s", got, want)
		}
	})
}

func TestAppendJSONTimes(t *testing.T) {
	base := time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"writes whole seconds without a fraction", base, `"2024-11-08T15:30:12Z"`},
		{"writes milliseconds with 3 digits", base.Add(120 * time.Millisecond), `"2024-11-08T15:30:12.120Z"`},
		{"writes microseconds with 6 digits", base.Add(time.Microsecond), `"2024-11-08T15:30:12.000001Z"`},
		{"writes 1.5ms with 6 digits", base.Add(1500 * time.Microsecond), `"2024-11-08T15:30:12.001500Z"`},
		{"writes nanoseconds with 9 digits", base.Add(7), `"2024-11-08T15:30:12.000000007Z"`},
		{"converts other zones to UTC", time.Date(2024, 11, 8, 16, 30, 12, 0, time.FixedZone("CET", 3600)),
			`"2024-11-08T15:30:12Z"`},
		{"writes the zero time as year 1", time.Time{}, `"0001-01-01T00:00:00Z"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &LogRecord{EventTime: tc.in, CreatedTime: tc.in}
			if got := encodeField(t, r, "event_time"); got != tc.want {
				t.Errorf("event_time = %s, want %s", got, tc.want)
			}
			if got := encodeField(t, r, "created_time"); got != tc.want {
				t.Errorf("created_time = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAppendJSONOmitsEmptyTrailingFields(t *testing.T) {
	t.Run("leaves out the five optional fields when empty", func(t *testing.T) {
		out := string((&LogRecord{TLSPeerSubjectName: []string{}}).AppendJSON(nil))
		for _, f := range []string{"tls_cipher", "tls_protocol_version", "tls_peer_subject_name",
			"provider_name", "session_id"} {
			if strings.Contains(out, f) {
				t.Errorf("output mentions %s: %s", f, out)
			}
		}
		if !strings.HasSuffix(out, `"nodeid":""}`) {
			t.Errorf("output does not end with nodeid: %s", out)
		}
	})
	t.Run("writes them in order when set", func(t *testing.T) {
		r := &LogRecord{TLSCipher: "c", TLSProtocolVersion: "v", TLSPeerSubjectName: []string{"CN=x"},
			ProviderName: "p", SessionID: "s"}
		want := `"nodeid":"","tls_cipher":"c","tls_protocol_version":"v",` +
			`"tls_peer_subject_name":["CN=x"],"provider_name":"p","session_id":"s"}`
		if out := string(r.AppendJSON(nil)); !strings.HasSuffix(out, want) {
			t.Errorf("output %s does not end with %s", out, want)
		}
	})
}

func TestAppendJSONNullsAndObjects(t *testing.T) {
	t.Run("writes an empty record with nulls and empty objects", func(t *testing.T) {
		want := `{"type":"","id":"","sender":"","recipient":[],"queue":"","site":"","size":0,` +
			`"response":{"code":0,"enhanced_code":null,"content":"","command":null},"peer_address":null,` +
			`"timestamp":0,"event_time":"0001-01-01T00:00:00Z","created":0,` +
			`"created_time":"0001-01-01T00:00:00Z","num_attempts":0,"bounce_classification":"",` +
			`"egress_pool":null,"egress_source":null,"source_address":null,"feedback_report":null,` +
			`"meta":{},"headers":{},"delivery_protocol":null,"reception_protocol":null,"nodeid":""}`
		if got := string((&LogRecord{}).AppendJSON(nil)); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("writes is_secure only when true", func(t *testing.T) {
		r := &LogRecord{PeerAddress: &PeerAddress{Name: "mx", Addr: "10.0.0.1:25"}}
		if got := encodeField(t, r, "peer_address"); got != `{"name":"mx","addr":"10.0.0.1:25"}` {
			t.Errorf("insecure peer = %s", got)
		}
		r.PeerAddress.IsSecure = true
		if got := encodeField(t, r, "peer_address"); got != `{"name":"mx","addr":"10.0.0.1:25","is_secure":true}` {
			t.Errorf("secure peer = %s", got)
		}
	})
	t.Run("sorts meta keys and compacts raw values", func(t *testing.T) {
		r := &LogRecord{Meta: map[string]json.RawMessage{
			"b": json.RawMessage("[ 1 ,\n 2 ]"), "a": json.RawMessage(`{ "k" : "v w" }`), "c": nil,
		}}
		if got := encodeField(t, r, "meta"); got != `{"a":{"k":"v w"},"b":[1,2],"c":null}` {
			t.Errorf("meta = %s", got)
		}
	})
	t.Run("writes invalid raw JSON as null", func(t *testing.T) {
		r := &LogRecord{SourceAddress: json.RawMessage(`{"oops"`)}
		if got := encodeField(t, r, "source_address"); got != "null" {
			t.Errorf("source_address = %s, want null", got)
		}
	})
	t.Run("appends to the given buffer", func(t *testing.T) {
		out := (&LogRecord{Type: Delivery}).AppendJSON([]byte("prefix:"))
		if !strings.HasPrefix(string(out), `prefix:{"type":"Delivery",`) {
			t.Errorf("got %s", out)
		}
	})
}

func TestMarshalJSON(t *testing.T) {
	t.Run("matches AppendJSON", func(t *testing.T) {
		r := goldenRecord(Bounce)
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(r.AppendJSON(nil)) {
			t.Error("MarshalJSON differs from AppendJSON(nil)")
		}
	})
	t.Run("is used by encoding/json for record pointers", func(t *testing.T) {
		// json.Marshal re-escapes <, > and & in what MarshalJSON returns;
		// the decoded record is the same either way.
		r := goldenRecord(Bounce)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `\u003c`) {
			t.Fatalf("expected json.Marshal to escape '<': %s", b)
		}
		back, err := DecodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(back.AppendJSON(nil)) != string(r.AppendJSON(nil)) {
			t.Errorf("json.Marshal output decodes to a different record: %s", b)
		}
	})
	tests := []struct {
		name  string
		rec   LogRecord
		field string
	}{
		{"reports invalid source_address", LogRecord{SourceAddress: json.RawMessage("{")}, "source_address"},
		{"reports invalid feedback_report", LogRecord{FeedbackReport: json.RawMessage("nul")}, "feedback_report"},
		{"reports an invalid meta value by key", LogRecord{Meta: map[string]json.RawMessage{
			"ok": json.RawMessage("1"), "bad": json.RawMessage("[1,")}}, "meta.bad"},
		{"reports an invalid header value by name", LogRecord{Headers: map[string]json.RawMessage{
			"Subject": json.RawMessage(`"x`)}}, "headers.Subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.rec.MarshalJSON()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("MarshalJSON error = %v, want a FieldError for %q", err, tc.field)
			}
		})
	}
}

func TestUnmarshalJSONTolerance(t *testing.T) {
	t.Run("ignores unknown fields and leaves missing ones zero", func(t *testing.T) {
		var r LogRecord
		err := r.UnmarshalJSON([]byte(`{"type":"Delivery","unknown":{"x":[1]},"size":12}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.Type != Delivery || r.Size != 12 || r.ID != "" || r.PeerAddress != nil || r.Meta != nil {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("accepts a bare string recipient", func(t *testing.T) {
		var r LogRecord
		if err := r.UnmarshalJSON([]byte(`{"recipient":"a@b.c"}`)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Recipient, Recipients{"a@b.c"}) {
			t.Errorf("recipient = %q", r.Recipient)
		}
	})
	t.Run("accepts an array of recipients", func(t *testing.T) {
		var r LogRecord
		if err := r.UnmarshalJSON([]byte(`{"recipient":["a@b.c","d@e.f"]}`)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Recipient, Recipients{"a@b.c", "d@e.f"}) {
			t.Errorf("recipient = %q", r.Recipient)
		}
	})
	t.Run("accepts any RFC 3339 time and keeps the instant", func(t *testing.T) {
		var r LogRecord
		err := r.UnmarshalJSON([]byte(`{"event_time":"2024-11-08T16:30:12.5+01:00","created_time":"2024-11-08T15:30:12Z"}`))
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2024, 11, 8, 15, 30, 12, 5e8, time.UTC)
		if !r.EventTime.Equal(want) || r.EventTime.Location() != time.UTC {
			t.Errorf("event_time = %v, want %v in UTC", r.EventTime, want)
		}
	})
	t.Run("treats null fields as absent", func(t *testing.T) {
		var r LogRecord
		err := r.UnmarshalJSON([]byte(`{"id":null,"size":null,"response":null,"meta":null,"recipient":null,` +
			`"event_time":null,"egress_pool":null,"source_address":null,"tls_peer_subject_name":null}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != "" || r.Meta != nil || r.Recipient != nil || r.EgressPool != nil || r.SourceAddress != nil {
			t.Errorf("got %+v", r)
		}
	})
}

func TestUnmarshalJSONEdgeCases(t *testing.T) {
	t.Run("resets fields of a reused record", func(t *testing.T) {
		r := goldenRecord(Bounce)
		if err := r.UnmarshalJSON([]byte(`{"type":"Delivery"}`)); err != nil {
			t.Fatal(err)
		}
		if r.ID != "" || r.Recipient != nil || r.Response.Enhanced != nil {
			t.Errorf("old values survived: %+v", r)
		}
	})
	t.Run("leaves the record alone for a JSON null", func(t *testing.T) {
		r := LogRecord{ID: "keep"}
		if err := r.UnmarshalJSON([]byte("null")); err != nil || r.ID != "keep" {
			t.Errorf("err = %v, ID = %q", err, r.ID)
		}
	})
	t.Run("does not require a known type", func(t *testing.T) {
		var r LogRecord
		if err := r.UnmarshalJSON([]byte(`{"type":"Custom"}`)); err != nil || r.Type != "Custom" {
			t.Errorf("err = %v, type = %q", err, r.Type)
		}
	})
	t.Run("keeps raw values of source_address and feedback_report", func(t *testing.T) {
		var r LogRecord
		err := r.UnmarshalJSON([]byte(`{"source_address":{"address":"1.2.3.4:5"},"feedback_report":[1]}`))
		if err != nil {
			t.Fatal(err)
		}
		if string(r.SourceAddress) != `{"address":"1.2.3.4:5"}` || string(r.FeedbackReport) != `[1]` {
			t.Errorf("source_address = %s, feedback_report = %s", r.SourceAddress, r.FeedbackReport)
		}
	})
}

func TestUnmarshalJSONErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a string response code", `{"response":{"code":"250"}}`,
			`field "response.code": expected number, got string`},
		{"a negative size", `{"size":-1}`, `field "size": expected an unsigned integer, got -1`},
		{"a fractional size", `{"size":1.5}`, `field "size": expected an unsigned integer, got 1.5`},
		{"num_attempts beyond u16", `{"num_attempts":65536}`, `field "num_attempts": 65536 is out of range for u16`},
		{"an enhanced class beyond u8", `{"response":{"enhanced_code":{"class":256}}}`,
			`field "response.enhanced_code.class": 256 is out of range for u8`},
		{"an enhanced_code that is a string", `{"response":{"enhanced_code":"5.1.1"}}`,
			`field "response.enhanced_code": expected object, got string`},
		{"a numeric command", `{"response":{"command":1}}`, `field "response.command": expected string, got number`},
		{"a numeric recipient", `{"recipient":5}`, `field "recipient": expected string or array, got number`},
		{"a non-string recipient element", `{"recipient":["a@b",true]}`,
			`field "recipient[1]": expected string, got boolean`},
		{"a bad event time", `{"event_time":"yesterday"}`,
			`field "event_time": expected an RFC 3339 time, got "yesterday"`},
		{"a time that leaves four-digit years in UTC", `{"created_time":"9999-12-31T23:59:59-01:00"}`,
			`field "created_time": time "9999-12-31T23:59:59-01:00" is outside years 0000-9999 in UTC`},
		{"a fractional timestamp", `{"timestamp":1.5}`, `field "timestamp": expected an integer, got 1.5`},
		{"an array meta", `{"meta":[]}`, `field "meta": expected object, got array`},
		{"a string is_secure", `{"peer_address":{"is_secure":"yes"}}`,
			`field "peer_address.is_secure": expected boolean, got string`},
		{"a numeric id", `{"id":7}`, `field "id": expected string, got number`},
		{"a string tls_peer_subject_name", `{"tls_peer_subject_name":"CN=x"}`,
			`field "tls_peer_subject_name": expected array, got string`},
		{"an array document", `[1]`, `expected a JSON object, got array`},
		{"a string document", `"x"`, `expected a JSON object, got string`},
	}
	for _, tc := range tests {
		t.Run("reports "+tc.name, func(t *testing.T) {
			var r LogRecord
			err := r.UnmarshalJSON([]byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %s", err, tc.want)
			}
		})
	}
	t.Run("reports the first bad field in serialization order", func(t *testing.T) {
		var r LogRecord
		err := r.UnmarshalJSON([]byte(`{"nodeid":1,"size":"big","id":false}`))
		if err == nil || !strings.HasPrefix(err.Error(), `field "id"`) {
			t.Fatalf("error = %v, want one about id", err)
		}
	})
	t.Run("reports invalid JSON with its offset", func(t *testing.T) {
		var r LogRecord
		err := r.UnmarshalJSON([]byte(`{"id":"x",}`))
		if err == nil || !strings.HasPrefix(err.Error(), "invalid JSON at offset") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestDecodeRecord(t *testing.T) {
	t.Run("decodes a valid record", func(t *testing.T) {
		r, err := DecodeRecord([]byte(`{"type":"Bounce","id":"abc","recipient":"x@y.z"}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.Type != Bounce || r.ID != "abc" {
			t.Errorf("got %+v", r)
		}
	})
	tests := []struct {
		name, in, want string
	}{
		{"a missing type", `{"id":"x"}`, `field "type": missing`},
		{"a null type", `{"type":null}`, `field "type": missing`},
		{"an unknown type", `{"type":"Deferred"}`, `field "type": unknown record type "Deferred"`},
		{"the config-only type Any", `{"type":"Any"}`, `field "type": unknown record type "Any"`},
		{"a numeric type", `{"type":3}`, `field "type": expected string, got number`},
		{"a JSON null document", `null`, `expected a JSON object, got null`},
		{"an empty document", ``, `empty input: expected a JSON object`},
		{"a blank document", " \n", `empty input: expected a JSON object`},
		{"a bad field", `{"type":"Delivery","size":"x"}`, `field "size": expected number, got string`},
	}
	for _, tc := range tests {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			r, err := DecodeRecord([]byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("DecodeRecord = %+v, %v; want error %s", r, err, tc.want)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, rt := range RecordTypes() {
		t.Run(string(rt)+" survives encode, decode, encode unchanged", func(t *testing.T) {
			first := goldenRecord(rt).AppendJSON(nil)
			r, err := DecodeRecord(first)
			if err != nil {
				t.Fatal(err)
			}
			if second := r.AppendJSON(nil); string(second) != string(first) {
				t.Errorf("re-encoded differently:\n%s\n%s", first, second)
			}
		})
	}
}
