package message

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustAddr(t *testing.T, s string) Address {
	t.Helper()
	a, err := ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func metaOf(kv ...string) Meta { return Meta(rawMeta(kv...)) }

func TestMessageQueueName(t *testing.T) {
	tests := []struct {
		name  string
		meta  Meta
		rcpts []string
		want  string
	}{
		{"uses meta queue verbatim", metaOf("queue", `"webhook.log_hook"`, "tenant", `"t"`), nil, "webhook.log_hook"},
		{"uses the lowercased first recipient domain", nil, []string{"a@Example.ORG", "b@other.net"}, "example.org"},
		{"adds the tenant", metaOf("tenant", `"acme"`), []string{"a@x.com"}, "acme@x.com"},
		{"adds campaign and tenant", metaOf("campaign", `"c1"`, "tenant", `"acme"`), []string{"a@x.com"}, "c1:acme@x.com"},
		{"writes a campaign without tenant as C:@D", metaOf("campaign", `"c1"`), []string{"a@x.com"}, "c1:@x.com"},
		{"adds the routing domain", metaOf("routing_domain", `"relay.net"`), []string{"a@x.com"}, "x.com!relay.net"},
		{"uses all four parts", metaOf("campaign", `"c"`, "tenant", `"t"`, "routing_domain", `"r"`),
			[]string{"a@X.com"}, "c:t@x.com!r"},
		{"treats null meta values as absent", metaOf("queue", "null", "tenant", "null"), []string{"a@x.com"}, "x.com"},
		{"keeps the case of meta values", metaOf("tenant", `"ACME"`), []string{"a@X.COM"}, "ACME@x.com"},
		{"uses an empty meta queue verbatim", metaOf("queue", `""`), []string{"a@x.com"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Message{Meta: tc.meta}
			for _, r := range tc.rcpts {
				m.Recipients = append(m.Recipients, mustAddr(t, r))
			}
			got, err := m.QueueName()
			if err != nil || got != tc.want {
				t.Errorf("QueueName() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	errs := []struct {
		name  string
		meta  Meta
		rcpts []string
		want  string
	}{
		{"rejects a numeric queue", metaOf("queue", "5"), []string{"a@x.com"}, `meta "queue" must be a string, got number`},
		{"rejects an object tenant", metaOf("tenant", `{}`), []string{"a@x.com"}, `meta "tenant" must be a string, got object`},
		{"rejects a boolean campaign", metaOf("campaign", `true`), []string{"a@x.com"}, `meta "campaign" must be a string, got boolean`},
		{"rejects an array routing domain", metaOf("routing_domain", `[]`), []string{"a@x.com"},
			`meta "routing_domain" must be a string, got array`},
		{"rejects a message without recipients", nil, nil, "message has no recipients"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			m := &Message{Meta: tc.meta}
			for _, r := range tc.rcpts {
				m.Recipients = append(m.Recipients, mustAddr(t, r))
			}
			got, err := m.QueueName()
			if err == nil || err.Error() != tc.want {
				t.Errorf("QueueName() = %q, %v; want error %s", got, err, tc.want)
			}
		})
	}
}

func TestMessageClone(t *testing.T) {
	orig := &Message{
		ID:         newIDGenSeq(testNode, 1).New(time.Unix(1_700_000_000, 0)),
		Sender:     mustAddr(t, "s@x.com"),
		Recipients: []Address{mustAddr(t, "a@x.com")},
		Meta:       metaOf("k", `"v"`),
		Body:       []byte("body"),
	}
	t.Run("copies every field", func(t *testing.T) {
		c := orig.Clone()
		if c.ID != orig.ID || c.Sender != orig.Sender || !slices.Equal(c.Recipients, orig.Recipients) ||
			string(c.Body) != "body" || string(c.Meta["k"]) != `"v"` {
			t.Errorf("clone %+v differs from %+v", c, orig)
		}
	})
	t.Run("shares no memory with the original", func(t *testing.T) {
		c := orig.Clone()
		c.Recipients[0] = mustAddr(t, "b@y.com")
		c.Meta["k"][1] = 'X'
		c.Meta["new"] = json.RawMessage("1")
		c.Body[0] = 'B'
		if orig.Recipients[0].Email() != "a@x.com" || string(orig.Meta["k"]) != `"v"` ||
			len(orig.Meta) != 1 || string(orig.Body) != "body" {
			t.Errorf("changing the clone changed the original: %+v", orig)
		}
	})
	t.Run("keeps nil fields nil", func(t *testing.T) {
		c := (&Message{}).Clone()
		if c.Recipients != nil || c.Meta != nil || c.Body != nil {
			t.Errorf("got %+v", c)
		}
		var nilMsg *Message
		if nilMsg.Clone() != nil {
			t.Error("nil.Clone() != nil")
		}
	})
}

func TestCaptureMeta(t *testing.T) {
	meta := metaOf("tenant", `"acme"`, "campaign", `null`, "x_a", `1`, "x_b", `null`, "X_c", `2`, "queue", `"q"`)
	tests := []struct {
		name  string
		names []string
		want  map[string]string
	}{
		{"copies an exact name that is present", []string{"tenant"}, map[string]string{"tenant": `"acme"`}},
		{"skips an exact name whose value is null", []string{"campaign"}, map[string]string{}},
		{"skips an exact name that is missing", []string{"nope"}, map[string]string{}},
		{"copies every key with a prefix, nulls included", []string{"x_*"},
			map[string]string{"x_a": `1`, "x_b": `null`}},
		{"matches prefixes case-sensitively", []string{"X_*"}, map[string]string{"X_c": `2`}},
		{"copies everything for *", []string{"*"}, map[string]string{"tenant": `"acme"`, "campaign": `null`,
			"x_a": `1`, "x_b": `null`, "X_c": `2`, "queue": `"q"`}},
		{"combines names", []string{"tenant", "queue", "x_*"},
			map[string]string{"tenant": `"acme"`, "queue": `"q"`, "x_a": `1`, "x_b": `null`}},
		{"returns an empty map for no names", nil, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CaptureMeta(meta, tc.names)
			if got == nil {
				t.Fatal("CaptureMeta returned nil")
			}
			gotText := make(map[string]string)
			for k, v := range got {
				gotText[k] = string(v)
			}
			if !maps.Equal(gotText, tc.want) {
				t.Errorf("CaptureMeta(%q) = %v, want %v", tc.names, gotText, tc.want)
			}
		})
	}
	t.Run("returns values that do not alias the meta", func(t *testing.T) {
		got := CaptureMeta(meta, []string{"tenant"})
		got["tenant"][1] = 'X'
		if string(meta["tenant"]) != `"acme"` {
			t.Errorf("meta changed to %s", meta["tenant"])
		}
	})
	t.Run("an append to one captured value leaves the others", func(t *testing.T) {
		got := CaptureMeta(Meta{"a": json.RawMessage(`"1"`), "b": json.RawMessage(`"2"`), "c": json.RawMessage(`"3"`)}, []string{"*"})
		for k := range got {
			_ = append(got[k], 'X', 'Y', 'Z')
		}
		for k, want := range map[string]string{"a": `"1"`, "b": `"2"`, "c": `"3"`} {
			if string(got[k]) != want {
				t.Errorf("%s = %s, want %s", k, got[k], want)
			}
		}
	})
	t.Run("accepts a nil meta", func(t *testing.T) {
		if got := CaptureMeta(nil, []string{"*", "a"}); got == nil || len(got) != 0 {
			t.Errorf("got %v", got)
		}
	})
}

func TestNewHookMessage(t *testing.T) {
	id := newIDGenSeq(testNode, 1).New(time.Unix(1_700_000_000, 0))
	t.Run("builds the envelope, meta and body of a hook message", func(t *testing.T) {
		rec := goldenRecord(Reception)
		rec.Recipient = Recipients{"a@x.com", "b@y.com"}
		body := append(rec.AppendJSON(nil), '\n')
		m, err := NewHookMessage(rec, id, body)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != id || m.Sender.Email() != "news@example.com" || string(m.Body) != string(body) {
			t.Errorf("got id %s sender %s body %q", m.ID, m.Sender, m.Body)
		}
		if len(m.Recipients) != 2 || m.Recipients[0].Email() != "a@x.com" || m.Recipients[1].Email() != "b@y.com" {
			t.Errorf("recipients = %v", m.Recipients)
		}
		wantKeys := []string{"campaign", "log_record", "reception_protocol", "tenant"}
		if keys := slices.Sorted(maps.Keys(m.Meta)); !slices.Equal(keys, wantKeys) {
			t.Errorf("meta keys = %v, want %v", keys, wantKeys)
		}
		if string(m.Meta["reception_protocol"]) != `"LogRecord"` || string(m.Meta["tenant"]) != `"acme"` {
			t.Errorf("meta = %v", m.Meta)
		}
		if string(m.Meta["log_record"]) != string(rec.AppendJSON(nil)) {
			t.Errorf("log_record = %s", m.Meta["log_record"])
		}
	})
	t.Run("log_record and reception_protocol override captured meta", func(t *testing.T) {
		rec := goldenRecord(Delivery) // its captured meta holds a log_record
		rec.Meta["reception_protocol"] = json.RawMessage(`"ESMTP"`)
		m, err := NewHookMessage(rec, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Meta["reception_protocol"]) != `"LogRecord"` ||
			!strings.HasPrefix(string(m.Meta["log_record"]), `{"type":"Delivery","id":"d7ef`) {
			t.Errorf("meta = %v", m.Meta)
		}
		if q, _ := m.QueueName(); q != "webhook.log_hook" {
			t.Errorf("QueueName() = %q, want the captured queue", q)
		}
	})
	t.Run("parses the null sender", func(t *testing.T) {
		rec := &LogRecord{Sender: "", Recipient: Recipients{"a@x.com"}}
		m, err := NewHookMessage(rec, id, nil)
		if err != nil || !m.Sender.IsNull() {
			t.Errorf("sender = %v, %v", m, err)
		}
	})
	t.Run("does not share meta with the record", func(t *testing.T) {
		rec := &LogRecord{Recipient: Recipients{"a@x.com"}, Meta: rawMeta("k", `"v"`)}
		m, _ := NewHookMessage(rec, id, nil)
		m.Meta["k"][1] = 'X'
		if string(rec.Meta["k"]) != `"v"` {
			t.Error("changing the message meta changed the record")
		}
	})
	errs := []struct {
		name string
		rec  *LogRecord
		want string
	}{
		{"fails with no recips!? when there are no recipients", &LogRecord{Sender: "a@x.com"}, "no recips!?"},
		{"fails on a bad sender", &LogRecord{Sender: "bad sender", Recipient: Recipients{"a@x.com"}},
			`sender: invalid address "bad sender"`},
		{"fails on a bad recipient and names it", &LogRecord{Recipient: Recipients{"a@x.com", "metadata is not loaded"}},
			`recipient 1: invalid address "metadata is not loaded"`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewHookMessage(tc.rec, id, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("NewHookMessage = %v, %v; want error %s", m, err, tc.want)
			}
		})
	}
}

func TestMetaHelpers(t *testing.T) {
	t.Run("SetString stores a JSON string", func(t *testing.T) {
		m := Meta{}
		m.SetString("k", `a"<b>`)
		if string(m["k"]) != `"a\"<b>"` {
			t.Errorf("stored %s", m["k"])
		}
		if v, ok, err := m.GetString("k"); v != `a"<b>` || !ok || err != nil {
			t.Errorf("GetString = %q, %v, %v", v, ok, err)
		}
	})
	t.Run("GetString reports missing and null keys as not ok", func(t *testing.T) {
		m := metaOf("n", "null")
		for _, k := range []string{"n", "missing"} {
			if _, ok, err := m.GetString(k); ok || err != nil {
				t.Errorf("GetString(%q) ok %v err %v", k, ok, err)
			}
		}
	})
	t.Run("Clone copies values", func(t *testing.T) {
		m := metaOf("k", `"v"`)
		c := m.Clone()
		c["k"][1] = 'X'
		if string(m["k"]) != `"v"` {
			t.Error("clone shares memory")
		}
		if Meta(nil).Clone() != nil {
			t.Error("nil clone is not nil")
		}
	})
}

// The fast path of Meta.GetString agrees with encoding/json wherever it answers.
func FuzzPlainJSONString(f *testing.F) {
	for _, s := range []string{`"acme"`, `"a\"b"`, `"é"`, "\"\xff\"", `""`, `"a" "b"`, `"tab	"`, `12`, `"x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := PlainJSONString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("%q: fast path %q, encoding/json %q (%v)", raw, got, want, err)
		}
		if v, present, err := (Meta{"k": raw}).GetString("k"); err != nil || !present || v != want {
			t.Fatalf("%q: GetString %q %v %v", raw, v, present, err)
		}
	})
}
