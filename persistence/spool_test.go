package persistence_test

import (
	"bytes"
	"testing"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/spooltest"
)

func TestMemory(t *testing.T) {
	spooltest.Run(t, func(t *testing.T, reopen bool) persistence.Spool { return persistence.NewMemory() },
		spooltest.Features{Durable: false})
}

func TestMetaCodec(t *testing.T) {
	sender, _ := message.ParseAddress("from@example.com")
	r1, _ := message.ParseAddress("a@example.net")
	r2, _ := message.ParseAddress("b@example.org")
	cases := []*message.Message{
		{Sender: sender, Recipients: []message.Address{r1}, Meta: message.Meta{"queue": []byte(`"webhook"`), "n": []byte(`{"x":[1,2]}`)}, Body: []byte("x")},
		{Recipients: []message.Address{r1, r2}, Body: []byte("y")},
	}
	for i, m := range cases {
		meta, err := persistence.EncodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := persistence.DecodeMessage(&persistence.Entry{ID: m.ID, Meta: meta, Body: m.Body})
		if err != nil {
			t.Fatal(err)
		}
		if got.Sender != m.Sender || len(got.Recipients) != len(m.Recipients) || got.Recipients[len(m.Recipients)-1] != m.Recipients[len(m.Recipients)-1] {
			t.Fatalf("case %d: envelope %+v", i, got)
		}
		for k, v := range m.Meta {
			if string(got.Meta[k]) != string(v) {
				t.Fatalf("case %d: meta %s = %s", i, k, got.Meta[k])
			}
		}
	}
	t.Run("a hook message's log_record is stored once, as the body", func(t *testing.T) {
		body := []byte(`{"type":"Delivery","id":"x"}` + "\n")
		m := &message.Message{Sender: sender, Recipients: []message.Address{r1}, Body: body,
			Meta: message.Meta{"log_record": body[:len(body)-1], "queue": []byte(`"webhook"`)}}
		meta, err := persistence.EncodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(meta, []byte(`"type":"Delivery"`)) {
			t.Fatalf("the record is stored twice: %s", meta)
		}
		got, err := persistence.DecodeMessage(&persistence.Entry{Meta: meta, Body: body})
		if err != nil || string(got.Meta["log_record"]) != string(body[:len(body)-1]) || string(got.Meta["queue"]) != `"webhook"` {
			t.Fatalf("decoded meta %v, %v", got.Meta, err)
		}
	})
	if _, err := persistence.DecodeMessage(&persistence.Entry{Meta: []byte("{")}); err == nil {
		t.Fatal("corrupt meta decoded")
	}
}
