package persistence

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/hookd/hookd/message"
)

func addr(t testing.TB, s string) message.Address {
	a, err := message.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestMetaReadsTheJSONForm: entries spooled before meta v1 (JSON) are still read.
func TestMetaReadsTheJSONForm(t *testing.T) {
	body := []byte(`{"type":"Delivery"}` + "\n")
	for _, c := range []struct {
		meta string
		rcpt int
		want message.Meta
	}{
		{`{"sender":"a@example.com","recipient":"b@example.net","meta":{"queue":"webhook"}}`, 1,
			message.Meta{"queue": json.RawMessage(`"webhook"`)}},
		{`{"sender":"","recipient":["b@example.net","c@example.org"],"meta":{},"log_record_is_body":true}`, 2,
			message.Meta{"log_record": json.RawMessage(`{"type":"Delivery"}`)}},
	} {
		m, err := DecodeMessage(&Entry{Meta: []byte(c.meta), Body: body})
		if err != nil {
			t.Fatalf("%s: %v", c.meta, err)
		}
		if len(m.Recipients) != c.rcpt || !reflect.DeepEqual(m.Meta, c.want) {
			t.Fatalf("%s: recipients %v, meta %s", c.meta, m.Recipients, m.Meta)
		}
	}
}

// TestMetaV1Damage: a damaged entry is an error naming it, never a panic or a half message.
func TestMetaV1Damage(t *testing.T) {
	m := &message.Message{Sender: addr(t, "a@example.com"), Recipients: []message.Address{addr(t, "b@example.net")},
		Meta: message.Meta{"queue": json.RawMessage(`"webhook"`)}, Body: []byte("x")}
	good, err := EncodeMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(good); cut++ {
		if _, err := DecodeMessage(&Entry{Meta: good[:cut]}); err == nil {
			t.Fatalf("meta cut at %d of %d decoded", cut, len(good))
		}
	}
	if _, err := DecodeMessage(&Entry{Meta: append(bytes.Clone(good), 0)}); err == nil {
		t.Fatal("meta with a trailing byte decoded")
	}
	bad := bytes.Clone(good)
	bad[0] = 0x7f
	if _, err := DecodeMessage(&Entry{Meta: bad}); err == nil {
		t.Fatal("an unknown format decoded")
	}
	if _, err := EncodeMeta(&message.Message{Meta: message.Meta{"x": json.RawMessage(`{nope`)}}); err == nil {
		t.Fatal("invalid JSON in meta was stored")
	}
}

func FuzzDecodeMeta(f *testing.F) {
	m := &message.Message{Sender: addr(f, "a@example.com"),
		Recipients: []message.Address{addr(f, "b@example.net"), addr(f, "c@example.org")},
		Meta:       message.Meta{"queue": json.RawMessage(`"webhook"`), "n": json.RawMessage(`[1,{"a":null}]`)}, Body: []byte("x\n")}
	seed, _ := EncodeMeta(m)
	f.Add(seed)
	f.Add([]byte(`{"sender":"a@example.com","recipient":"b@example.net","meta":{"queue":"webhook"}}`))
	f.Add([]byte{metaV1, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := &Entry{Meta: b, Body: []byte(`{"type":"Delivery"}` + "\n")}
		got, err := DecodeMessage(e)
		if err != nil {
			return
		}
		again, err := EncodeMeta(got)
		if err != nil {
			return // a JSON-form entry may hold meta values v1 refuses
		}
		back, err := DecodeMessage(&Entry{Meta: again, Body: e.Body})
		if err != nil {
			t.Fatalf("re-encoded meta does not decode: %v", err)
		}
		if back.Sender != got.Sender || !reflect.DeepEqual(back.Recipients, got.Recipients) || len(back.Meta) != len(got.Meta) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", got, back)
		}
		for k, v := range got.Meta {
			if !bytes.Equal(back.Meta[k], v) {
				t.Fatalf("meta %q: %s then %s", k, v, back.Meta[k])
			}
		}
	})
}

// FuzzMetaValue: MetaValue accepts exactly the binary meta whose structure DecodeMessage accepts,
// and finds what DecodeMessage decodes.
func FuzzMetaValue(f *testing.F) {
	m := &message.Message{Sender: addr(f, "a@example.com"),
		Recipients: []message.Address{addr(f, "b@example.net")},
		Meta: message.Meta{"queue": json.RawMessage(`"webhook"`), "reception_protocol": json.RawMessage(`"LogRecord"`),
			"log_record": json.RawMessage(`{"type":"Delivery"}`)}, Body: []byte(`{"type":"Delivery"}` + "\n")}
	seed, _ := EncodeMeta(m)
	f.Add(seed, "reception_protocol")
	f.Add(seed, "queue")
	f.Add(seed, "log_record")
	f.Add([]byte{metaV1, 1, 0, 0, 0}, "x")
	f.Add([]byte(`{"sender":""}`), "x")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		v, found, err := MetaValue(b, key)
		if errors.Is(err, ErrNotV1) {
			if len(b) > 0 && b[0] == metaV1 {
				t.Fatal("binary meta refused as not binary")
			}
			return
		}
		got, derr := DecodeMessage(&Entry{Meta: b, Body: m.Body})
		if err != nil {
			if derr == nil {
				t.Fatalf("MetaValue refuses meta DecodeMessage reads: %v", err)
			}
			return
		}
		if derr != nil {
			return // an address that does not parse: only DecodeMessage looks
		}
		if key == "log_record" && b[1]&flagLogRecordIsBody != 0 {
			return // kept as the body: DecodeMessage takes it from there, MetaValue reads only the members
		}
		want, ok := got.Meta[key]
		if found != ok || !bytes.Equal(v, want) {
			t.Fatalf("key %q: MetaValue %q %v, DecodeMessage %q %v", key, v, found, want, ok)
		}
	})
}
