package lua

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

var testTime = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// load compiles src as the policy "policy.lua" and fails the test on error.
func load(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := loadErr(src)
	if err != nil {
		t.Fatalf("loading policy: %v", err)
	}
	return p
}

func loadErr(src string) (*Policy, error) {
	return LoadSource("policy.lua", []byte(src), Options{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
}

func newState(t testing.TB, p *Policy) *State {
	t.Helper()
	s, err := p.NewState()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// hookMessage builds the Message a hook would build for a record of type kind.
func hookMessage(t testing.TB, kind message.RecordType) *Message {
	t.Helper()
	rec := &message.LogRecord{Type: kind, ID: "00112233445566778899aabbccddeeff", Sender: "sender@example.com",
		Recipient: message.Recipients{"rcpt@example.net"}, Queue: "example.net", Timestamp: testTime.Unix(),
		EventTime: testTime, Created: testTime.Unix(), CreatedTime: testTime, BounceClassification: "Uncategorized",
		Response: message.Response{Code: 250, Content: "ok\r\nthere"}, Meta: map[string]json.RawMessage{}}
	rec.Meta["tenant"] = []byte(`"acme"`)
	body := append(rec.AppendJSON(nil), '\n')
	m, err := message.NewHookMessage(rec, message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6}).New(testTime), body)
	if err != nil {
		t.Fatal(err)
	}
	return &Message{Msg: m, Record: rec}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

// eval evaluates a Lua expression in s and returns tostring of it.
func eval(t *testing.T, s *State, expr string) string {
	t.Helper()
	if err := s.L.DoString("__eval = tostring(" + expr + ")"); err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return s.L.GetGlobal("__eval").String()
}
