package jsonbody

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSplitRecords(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		ndjson    bool
		want      []string
		wantIndex int    // index named by the error, when wantErr is set
		wantErr   string // substring of the error; "" means success
	}{
		{name: "a single object is one record", body: `{"a":1}`, want: []string{`{"a":1}`}},
		{name: "surrounding whitespace is ignored", body: "\r\n  {\"a\":1}\n\n", want: []string{`{"a":1}`}},
		{name: "an array yields each of its objects", body: `[{"a":1}, {"a":2},{"a":3}]`,
			want: []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}},
		{name: "an empty array yields no records", body: ` [ ] `, want: nil},
		{name: "NDJSON with its content type yields one record per line", ndjson: true,
			body: "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", want: []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}},
		{name: "NDJSON without a trailing newline is accepted", ndjson: true,
			body: "{\"a\":1}\n{\"a\":2}", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "NDJSON with blank lines and CRLF is accepted", ndjson: true,
			body: "\r\n{\"a\":1}\r\n\r\n   \n{\"a\":2}\r\n", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "several top-level objects are detected as NDJSON", body: "{\"a\":1}\n\n{\"a\":2}\n",
			want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "a single NDJSON object is one record", ndjson: true, body: "{\"a\":1}\n", want: []string{`{"a":1}`}},
		{name: "an empty body is rejected", body: "", wantErr: "request body is empty"},
		{name: "a whitespace-only body is rejected", body: " \r\n\t", ndjson: true, wantErr: "request body is empty"},
		{name: "a malformed array element names its index", body: `[{"a":1},{"a":2},{"a":}]`,
			wantIndex: 2, wantErr: "record 2: malformed JSON: invalid character '}'"},
		{name: "an array element that is not an object names its index", body: `[{"a":1},7]`,
			wantIndex: 1, wantErr: "record 1: expected a JSON object, got a number"},
		{name: "a missing comma between array elements names the second", body: `[{"a":1} {"a":2}]`,
			wantIndex: 1, wantErr: "record 1: malformed JSON: expected comma after array element"},
		{name: "a trailing comma in an array names the missing element", body: `[{"a":1},]`,
			wantIndex: 1, wantErr: "record 1: malformed JSON: invalid character ']'"},
		{name: "an unterminated array names the next index", body: `[{"a":1}`,
			wantIndex: 1, wantErr: "record 1: malformed JSON: unexpected end of input"},
		{name: "data after an array is rejected", body: `[{"a":1}] {"a":2}`,
			wantIndex: 1, wantErr: "record 1: unexpected data after the array"},
		{name: "a malformed NDJSON line names its record index", ndjson: true,
			body: "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3\n{\"a\":4}\n", wantIndex: 2, wantErr: "record 2: malformed JSON: invalid character '{'"},
		{name: "a truncated last NDJSON line is rejected", ndjson: true, body: "{\"a\":1}\n{\"a\":",
			wantIndex: 1, wantErr: "record 1: malformed JSON: unexpected end of input"},
		{name: "an NDJSON line that is not an object is rejected", body: "{\"a\":1}\n\"text\"\n",
			wantIndex: 1, wantErr: "record 1: expected a JSON object, got a string"},
		{name: "an array under the NDJSON content type is rejected", ndjson: true, body: `[{"a":1}]`,
			wantIndex: 0, wantErr: "record 0: expected a JSON object, got an array"},
		{name: "a top-level null is rejected", body: `null`, wantIndex: 0, wantErr: "record 0: expected a JSON object, got null"},
		{name: "garbage is rejected at index 0", body: `hello`, wantIndex: 0, wantErr: "record 0: malformed JSON: invalid character 'h'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split([]byte(tt.body), tt.ndjson)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("splitRecords succeeded with %d records; want error %q", len(got), tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %q; want it to contain %q", err, tt.wantErr)
				}
				var rerr *RecordError
				if errors.As(err, &rerr) && rerr.Index != tt.wantIndex {
					t.Errorf("error names record %d; want %d", rerr.Index, tt.wantIndex)
				}
				return
			}
			if err != nil {
				t.Fatalf("splitRecords: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records %q; want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("record %d = %s; want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestIsNDJSON(t *testing.T) {
	tests := []struct {
		contentType string
		want        bool
	}{
		{"application/x-ndjson", true},
		{"application/x-ndjson; charset=utf-8", true},
		{"Application/X-NDJSON", true},
		{"application/ndjson", true},
		{"application/x-ndjson; broken=", true},
		{"application/json", false},
		{"", false},
		{"text/plain", false},
	}
	for _, tt := range tests {
		t.Run("content type "+tt.contentType, func(t *testing.T) {
			if got := IsNDJSON(tt.contentType); got != tt.want {
				t.Errorf("IsNDJSON(%q) = %v; want %v", tt.contentType, got, tt.want)
			}
		})
	}
}

func FuzzSplitRecords(f *testing.F) {
	for _, seed := range []string{
		`{"a":1}`, `[{"a":1},{"b":[1,2]}]`, "{\"a\":1}\n{\"a\":2}\n", "\r\n\r\n", `[`, `[]`, `{"a":"\u00e9"}`,
		`[{"a":1}] x`, `null`, "{\"a\":1}{\"b\":2}",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		records, err := Split(body, ndjson)
		if err != nil {
			var rerr *RecordError
			if !errors.Is(err, ErrEmptyBody) && (!errors.As(err, &rerr) || rerr.Index < 0) {
				t.Fatalf("error %v is neither ErrEmptyBody nor a RecordError", err)
			}
			return
		}
		for i, raw := range records {
			if !json.Valid(raw) || raw[0] != '{' {
				t.Fatalf("record %d is not a JSON object: %q", i, raw)
			}
		}
		// Re-encoding the records as NDJSON must give them back unchanged.
		var lines []string
		for _, raw := range records {
			lines = append(lines, string(raw))
		}
		if len(lines) == 0 {
			return
		}
		again, err := Split([]byte(strings.Join(lines, "\n")), true)
		if err != nil {
			t.Fatalf("records %q do not parse back as NDJSON: %v", lines, err)
		}
		if len(again) != len(records) {
			t.Fatalf("NDJSON round trip gave %d records; want %d", len(again), len(records))
		}
	})
}
