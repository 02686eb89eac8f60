package engine

import (
	"testing"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
)

// An injected recipient's metadata is stored (meta "extra") as hookd writes JSON: sorted keys, and
// strings by message.AppendJSONString, whatever escapes the request used for them.
func TestInjectMetadataIsWrittenByTheRule(t *testing.T) {
	req, err := ParseInjectRequest([]byte(`{"envelope_sender":"a@example.com","content":"Subject: x\r\n\r\nx",
		"recipients":[{"email":"b@example.org","metadata":{"z":1,"note":"\u003c\u0026\u2028\/\ud83d\ude00\u001F\"\\"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{cfg: Config{Clock: clock.Real}}
	sender, _ := message.ParseAddress(req.EnvelopeSender)
	m, err := e.buildMessage(message.SpoolID{}, sender, req, req.Recipients[0], "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"note":` + string(message.AppendJSONString(nil, "<&\u2028/😀\x1f\"\\")) + `,"z":1}`
	if got := string(m.Meta["extra"]); got != want {
		t.Errorf("meta extra = %s, want %s", got, want)
	}
}
