package actors

import (
	"encoding/json"
	"testing"

	"github.com/hookd/hookd/message"
)

func TestCaptureRecordTakesRecordHeadersDirectly(t *testing.T) {
	headers := map[string]json.RawMessage{
		"Subject": json.RawMessage(`"=?UTF-8?q?caf=C3=A9?="`), "X-A": json.RawMessage(`["1",null]`),
		"x-a": json.RawMessage(`"2"`), "From": json.RawMessage(`"a@b.c"`),
	}
	direct := &Record{Log: message.LogRecord{Type: message.Delivery, Headers: headers}, Headers: headers}
	fromBody := &Record{Log: message.LogRecord{Type: message.Delivery},
		Body: []byte("Subject: =?UTF-8?q?caf=C3=A9?=\r\nX-A: 1\r\nX-A: \r\nx-a: 2\r\nFrom: a@b.c\r\n\r\nbody\r\n")}
	for _, names := range [][]string{{"X-*", "subject"}, {"*"}, {"Cc"}, {"from"}} {
		got := captureRecord(direct, nil, names).Headers
		want := captureRecord(fromBody, nil, names).Headers
		if got == nil || len(got) != len(want) {
			t.Errorf("headers %q: captured %q from the record, %q from the message", names, got, want)
		}
	}
	if got := captureRecord(direct, nil, []string{"X-*"}).Headers; string(got["X-A"]) != `["1","","2"]` {
		t.Errorf(`X-A captured as %s, want ["1","","2"]`, got["X-A"])
	}
	if got := captureRecord(direct, nil, nil).Headers; got == nil || len(got) != 0 {
		t.Errorf("capturing no headers gave %q, want {}", got)
	}
	if got := captureRecord(&Record{}, nil, []string{"*"}).Headers; got == nil || len(got) != 0 {
		t.Errorf("a record without headers captured %q, want {}", got)
	}
}
