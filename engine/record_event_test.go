package engine

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/hookd/hookd/message"
)

func TestRecordEventCarriesTheRecordHeaders(t *testing.T) {
	r := &message.LogRecord{Type: message.Delivery, Headers: map[string]json.RawMessage{
		"Subject": json.RawMessage(`"hi"`), "Received": json.RawMessage(`["r1","r2"]`), "X-N": json.RawMessage(`1`),
	}}
	ev := RecordEvent(r)
	if len(ev.RecordHeaders) != len(r.Headers) || string(ev.RecordHeaders["Subject"]) != `"hi"` {
		t.Errorf("RecordHeaders = %q, want the record's headers %q", ev.RecordHeaders, r.Headers)
	}
	want := []message.Header{{Name: "Received", Value: "r1"}, {Name: "Received", Value: "r2"}, {Name: "Subject", Value: "hi"}}
	if got := ev.Headers(); !slices.Equal(got, want) {
		t.Errorf("Headers() = %q, want %q", got, want)
	}
}
