package actors

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/hookd/hookd/message"
)

func TestCaptureRecordTakesRecordHeadersDirectly(t *testing.T) {
	headers := map[string]json.RawMessage{
		"Subject": json.RawMessage(`"=?UTF-8?q?caf=C3=A9?="`), "X-A": json.RawMessage(`["1",null]`),
		"x-a": json.RawMessage(`"2"`), "X-N": json.RawMessage(`3`), "From": json.RawMessage(`"a@b.c"`),
	}
	rec := &message.LogRecord{Type: message.Delivery, Headers: headers}
	direct := &Event{Record: rec, RecordHeaders: headers,
		Headers: func() []message.Header { t.Error("Headers called although RecordHeaders is set"); return nil }}
	parsed := &Event{Record: rec, Headers: func() []message.Header { return message.RecordHeaders(headers) }}
	for _, names := range [][]string{nil, {"X-*", "subject"}, {"*"}, {"Cc"}} {
		got := captureRecord(direct, nil, names).Headers
		want := captureRecord(parsed, nil, names).Headers
		if got == nil || !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Errorf("headers %q: captured %q from the record, %q from the header list", names, got, want)
		}
	}
	if got := captureRecord(direct, nil, []string{"X-*"}).Headers; string(got["X-A"]) != `["1","","2"]` {
		t.Errorf(`X-A captured as %s, want ["1","","2"]`, got["X-A"])
	}
	if got := captureRecord(&Event{Record: rec}, nil, []string{"*"}).Headers; got == nil || len(got) != 0 {
		t.Errorf("an event without headers captured %q, want {}", got)
	}
}
