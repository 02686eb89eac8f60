package template

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/hookd/hookd/message"
)

// varsViaJSON is the other way to build the variables: encode the record
// and decode the JSON. It is kept here to check recordVars against it and
// to compare their speed (BenchmarkVars).
func varsViaJSON(rec *message.LogRecord) map[string]any {
	obj := recordObject(rawValue(rec.AppendJSON(nil)).(map[string]any))
	resp := responseObject(obj["response"].(map[string]any))
	if e, ok := resp["enhanced_code"].(map[string]any); ok {
		resp["enhanced_code"] = enhancedObject(e)
	}
	obj["response"] = resp
	if p, ok := obj["peer_address"].(map[string]any); ok {
		obj["peer_address"] = peerObject(p)
	}
	vars := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		vars[k] = v
	}
	vars["log_record"] = obj
	return vars
}

func TestRecordVarsMatchDecodedJSON(t *testing.T) {
	records := []*message.LogRecord{
		{}, // every field zero
		{Size: math.MaxUint64, Recipient: message.Recipients{"a", "b", "c"}},
		{
			Meta: raws("bad", `{"unclosed":`, "empty", ``, "big", `18446744073709551615`,
				"huge", `1e400`, "neg", `-5`, "float", `2.50`, "nested", `{"a":[1,null,{"b":true}]}`,
				"lead", `01`, "esc", `"a\"b\u00e9"`, "ctl", "\"a\tb\""),
			Headers:        raws("X-Multi", `["a", "b"]`, "Subject", ` "spaced" `),
			SourceAddress:  json.RawMessage(`not json`),
			FeedbackReport: json.RawMessage(`{"a":1} {"b":2}`),
		},
	}
	for _, rt := range message.RecordTypes() {
		records = append(records, sampleRecord(rt))
	}
	for i, rec := range records {
		direct, decoded := recordVars(rec), varsViaJSON(rec)
		if !reflect.DeepEqual(direct, decoded) {
			t.Errorf("record %d (%s):\ndirect:  %#v\ndecoded: %#v", i, rec.Type, direct, decoded)
		}
	}
}

func TestRawValues(t *testing.T) {
	tests := []struct {
		raw  string
		want any
	}{
		{``, jsonNull},
		{`null`, jsonNull},
		{`true`, true},
		{` false `, false},
		{`"x"`, "x"},
		{`-7`, int64(-7)},
		{`18446744073709551615`, uint64(math.MaxUint64)},
		{`2.5`, 2.5},
		{`1e400`, math.Inf(1)},
		{`[1,null]`, []any{int64(1), jsonNull}},
		{`{"a":{}}`, map[string]any{"a": map[string]any{}}},
		{`{"a":1`, jsonNull},
		{`1 2`, jsonNull},
		{`nul`, jsonNull},
		{`01`, jsonNull},
		{`-0`, int64(0)},
		{`"a\"b"`, `a"b`},
		{`"caf\u00e9"`, "café"},
		{"\"tab\there\"", jsonNull},
		{`"plain"`, "plain"},
	}
	for _, tc := range tests {
		if got := rawValue(json.RawMessage(tc.raw)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("rawValue(%q) = %#v, want %#v", tc.raw, got, tc.want)
		}
	}
}

func TestAppendFloatIsSerdeJSON(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-2.5, "-2.5"},
		{100, "100.0"},
		{0.1, "0.1"},
		{0.001, "0.001"},
		{0.00001, "0.00001"},
		{0.000001, "1e-6"},
		{1.5e-7, "1.5e-7"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e16"},
		{1.2345e20, "1.2345e20"},
		{123456.789, "123456.789"},
		{math.MaxFloat64, "1.7976931348623157e308"},
		{math.NaN(), "null"},
		{math.Inf(-1), "null"},
	}
	for _, tc := range tests {
		if got := string(appendFloat(nil, tc.f)); got != tc.want {
			t.Errorf("appendFloat(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

// TestJSONStringEscapes: tojson's strings are message.AppendJSONString's (serde_json's rule:
// U+2028, U+2029, DEL and / raw) with only <, >, & and ' escaped on top, as minijinja does.
func TestJSONStringEscapes(t *testing.T) {
	w := jsonWriter{}
	w.str("q\"b\\ \n\r\t\b\f \x01\x1f <>&' é \u2028\u2029 \x7f/ 😀 \xff")
	want := `"q\"b\\ \n\r\t\b\f \u0001\u001f \u003c\u003e\u0026\u0027 é ` + "\u2028\u2029 \x7f/ 😀 \ufffd\""
	if string(w.buf) != want {
		t.Errorf("got  %s\nwant %s", w.buf, want)
	}
	for _, s := range []string{"", "plain", "<<&&''>>", "\\u003c<", "a\u2028<b>", "\x00'\x1f&"} {
		w := jsonWriter{buf: []byte("x")}
		w.str(s)
		if want := "x" + htmlSafe.Replace(string(message.AppendJSONString(nil, s))); string(w.buf) != want {
			t.Errorf("str(%q) = %s, want %s", s, w.buf, want)
		}
	}
}

func TestToJSONRefusesCycles(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	w := jsonWriter{}
	if err := w.value(m); err == nil {
		t.Fatal("a cyclic value serialized")
	}
}

func TestRangeFunc(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{`{{ range(0) | tojson }}`, `[]`},
		{`{{ range(2, 5) | tojson }}`, `[2,3,4]`},
		{`{{ range(0, 10, 4) | tojson }}`, `[0,4,8]`},
		{`{{ range(5, 0, -2) | tojson }}`, `[5,3,1]`},
		{`{{ range(5, 0) | tojson }}`, `[]`},
		{`{{ range(-9223372036854775807, 9223372036854775807) is defined }}`, ``}, // error
		{`{{ range(1, 2, 0) }}`, ``},                                              // error
		{`{{ range("a") }}`, ``},                                                  // error
	}
	rec := sampleRecord(message.Delivery)
	for _, tc := range tests {
		tpl, err := Compile(tc.src, "Delivery")
		if err != nil {
			t.Fatal(err)
		}
		out, err := tpl.Render(rec)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s rendered %q, want an error", tc.src, out)
			}
			continue
		}
		if err != nil || string(out) != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.src, out, err, tc.want)
		}
	}
}
