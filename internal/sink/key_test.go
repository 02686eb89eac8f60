package sink

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRecordKey(t *testing.T) {
	const id = "d7ef132b5d7711eea2c8000c29c33806"
	tests := []struct {
		name     string
		record   string
		wantKey  string // exact key, or a prefix when wantHash
		wantHash bool
		wantType string
	}{
		{name: "a log record is keyed by type, id and event_time",
			record:  `{"type":"Delivery","id":"` + id + `","event_time":"2026-01-02T03:04:05.123Z","timestamp":1767323045}`,
			wantKey: "Delivery/" + id + "/2026-01-02T03:04:05.123Z", wantType: "Delivery"},
		{name: "a record without event_time falls back to the numeric timestamp",
			record:  `{"type":"Reception","id":"` + id + `","timestamp":1767323045}`,
			wantKey: "Reception/" + id + "/1767323045", wantType: "Reception"},
		{name: "a textual timestamp is used as written",
			record:  `{"type":"Bounce","id":"` + id + `","timestamp":"1767323045"}`,
			wantKey: "Bounce/" + id + "/1767323045", wantType: "Bounce"},
		{name: "a record with neither time field is keyed by type and id",
			record:  `{"type":"Bounce","id":"` + id + `","timestamp":null}`,
			wantKey: "Bounce/" + id + "/", wantType: "Bounce"},
		{name: "a record without a type has an empty type",
			record:  `{"id":"` + id + `","event_time":"t"}`,
			wantKey: "/" + id + "/t", wantType: ""},
		{name: "a record with an empty id is keyed by its hash",
			record:  `{"type":"Rejection","id":"","event_time":"t"}`,
			wantKey: "sha256:", wantHash: true, wantType: "Rejection"},
		{name: "a record without an id is keyed by its hash",
			record:  `{"hello":"world"}`,
			wantKey: "sha256:", wantHash: true},
		{name: "a numeric id is not an id",
			record:  `{"type":"Delivery","id":17}`,
			wantKey: "sha256:", wantHash: true, wantType: "Delivery"},
		{name: "a non-string type counts as no type",
			record:  `{"type":3,"id":"x","event_time":"t"}`,
			wantKey: "/x/t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, recordType := recordKey(json.RawMessage(tt.record))
			if tt.wantHash {
				if !strings.HasPrefix(key, tt.wantKey) || len(key) != len("sha256:")+64 {
					t.Errorf("key = %q; want a sha256 key", key)
				}
			} else if key != tt.wantKey {
				t.Errorf("key = %q; want %q", key, tt.wantKey)
			}
			if recordType != tt.wantType {
				t.Errorf("type = %q; want %q", recordType, tt.wantType)
			}
		})
	}
}

func TestHashKeyIgnoresLayout(t *testing.T) {
	pretty := json.RawMessage("{\n  \"hello\": \"world\",\n  \"n\": [1, 2]\n}")
	compact := json.RawMessage(`{"hello":"world","n":[1,2]}`)
	other := json.RawMessage(`{"hello":"world","n":[2,1]}`)
	if hashKey(pretty) != hashKey(compact) {
		t.Errorf("pretty and compact forms of one record have different keys")
	}
	if hashKey(compact) == hashKey(other) {
		t.Errorf("different records have the same key")
	}
}
