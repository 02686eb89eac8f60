package template

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hookd/hookd/message"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt from the current output")

// goldenTemplate exercises what per-record templates commonly use: plain
// fields, nested objects, filters with and without arguments, default,
// string concatenation, if/elif/else, a for loop over headers and tojson.
const goldenTemplate = `{{ type }} id={{ id | default("-", true) }} from=<{{ sender }}> to={{ recipient }}
queue={{ queue }} site={{ site }} size={{ size }} attempts={{ num_attempts }} class={{ bounce_classification | lower }}
{% if response.code >= 500 %}permanent{% elif response.code >= 400 %}temporary{% else %}ok{% endif %} {{ response.code }}
{%- if response.enhanced_code is not none %} {{ response.enhanced_code.class ~ "." ~ response.enhanced_code.subject ~ "." ~ response.enhanced_code.detail }}{% endif %} {{ response.content | truncate(40) }}
peer={% if peer_address %}{{ peer_address.name }} [{{ peer_address.addr }}]{% if peer_address.is_secure %} (tls){% endif %}{% else %}none{% endif %}
pool={{ egress_pool | default("n/a") }} tenant={{ meta.tenant | default("n/a") }} tls={{ tls_cipher | default("off") }}
{% for name, value in headers | items -%}
header {{ loop.index }}: {{ name | lower }}={{ value | tojson }}
{% else -%}
no headers
{% endfor -%}
{{ log_record | tojson }}
`

func TestGoldenOutputPerRecordType(t *testing.T) {
	tpl, err := Compile(goldenTemplate, "Any")
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range message.RecordTypes() {
		t.Run(string(rt), func(t *testing.T) {
			got, err := tpl.Render(sampleRecord(rt))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", string(rt)+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
}

// htmlSafe escapes <, >, & and ' as minijinja's tojson does.
var htmlSafe = strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`)

// TestToJSONOfLogRecordIsTheRecordJSON checks that `log_record | tojson` is
// the record's own JSON with <, >, & and ' escaped, for records whose raw
// JSON objects have sorted keys (tojson sorts the keys of objects that do
// not come from the record's own structure).
func TestToJSONOfLogRecordIsTheRecordJSON(t *testing.T) {
	tpl, err := Compile(`{{ log_record | tojson }}`, "Any")
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range message.RecordTypes() {
		rec := sampleRecord(rt)
		rec.SourceAddress = sortKeys(t, rec.SourceAddress)
		rec.FeedbackReport = sortKeys(t, rec.FeedbackReport)
		for k, v := range rec.Meta {
			rec.Meta[k] = sortKeys(t, v)
		}
		got, err := tpl.Render(rec)
		if err != nil {
			t.Fatal(err)
		}
		if want := htmlSafe.Replace(string(rec.AppendJSON(nil))); string(got) != want {
			t.Errorf("%s:\n got: %s\nwant: %s", rt, got, want)
		}
	}
}

// sortKeys rewrites raw JSON with its object keys sorted.
func sortKeys(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func render(t *testing.T, src string, rec *message.LogRecord) string {
	t.Helper()
	tpl, err := Compile(src, string(rec.Type))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(rec)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return string(out)
}

func TestVariables(t *testing.T) {
	bounce := sampleRecord(message.Bounce)
	xfer := sampleRecord(message.XferOut)
	reception := sampleRecord(message.Reception)
	tests := []struct {
		name, src string
		rec       *message.LogRecord
		want      string
	}{
		{"one recipient is a string", `{{ recipient }} {{ recipient is string }}`, bounce, "log@hook True"},
		{"two recipients are a list", `{{ recipient | join(",") }} {{ recipient | length }}`, xfer, "user@example.org,other@example.org 2"},
		{"no recipient is an empty list", `{{ recipient | tojson }}`, &message.LogRecord{}, "[]"},
		{"numbers are numbers", `{{ size + 1 }} {{ timestamp - created }} {{ num_attempts * 2 }}`, bounce, "2049 14 2"},
		{"nested objects", `{{ response.enhanced_code.subject }} {{ log_record.response.code }} {{ log_record["peer_address"]["addr"] }}`, bounce, "1 550 0.0.0.0"},
		{"content folds line breaks", `{{ response.content }}|{{ response.command | tojson }}`, sampleRecord(message.TransientFailure), "service busy, try later|null"},
		{"times are the JSON strings", `{{ event_time }} {{ created_time }}`, bounce, "2024-11-08T15:30:12.120Z 2024-11-08T15:29:58.000001Z"},
		{"null prints empty and is none", `[{{ egress_source }}] {{ egress_source is none }} {{ response.enhanced_code is none }}`, reception, "[] True True"},
		{"null is defined", `{{ egress_source is defined }} {{ no_such_field is defined }} {{ no_such_field is undefined }}`, reception, "True False True"},
		{"default keeps null", `[{{ egress_source | default("x") }}] {{ no_such_field | default("x") }} {{ egress_source | default("x", true) }} {{ egress_source | d("y", boolean=true) }}`, reception, "[] x x y"},
		{"null is false and equals none", `{% if not egress_source and egress_source == none %}ok{% endif %}`, reception, "ok"},
		{"omitted fields are undefined", `{{ tls_cipher is defined }} {{ provider_name is defined }} {{ session_id | default("none") }}`, xfer, "False False none"},
		{"meta values keep their JSON types", `{{ meta.score * 2 }} {{ meta.campaign is none }} {{ meta.tenant ~ "!" }}`, reception, "3.0 True acme!"},
		{"multi-valued header is a list", `{{ headers["X-Tag"][1] }} {{ headers.Subject }}`, reception, "b Grüße <und> & 'so'"},
		{"raw objects are objects", `{{ source_address.protocol }} {{ source_address | tojson }}`, reception,
			`ESMTP {"address":"192.0.2.10:51234","protocol":"ESMTP","server":"192.0.2.1:25"}`}, // keys sorted
		{"feedback report", `{{ feedback_report.original_rcpt_to[0] }} {{ feedback_report.version + 1 }}`, sampleRecord(message.Feedback), "user@example.org 2"},
		{"log_record has every field", `{{ log_record | length }} {{ log_record.tls_cipher }}`, reception, "27 TLS13_AES_256_GCM_SHA384"},
		{"items in loop order", `{{ headers | items | tojson }}`, reception, `[["from","News \u003cnews@example.com\u003e"],["Subject","Grüße \u003cund\u003e \u0026 \u0027so\u0027"],["X-Tag",["a","b"]]]`},
		{"range is a list", `{{ range(3) | tojson }} {{ range(5) | first }} {{ range(10, 0, -3) | join(",") }}`, bounce, "[0,1,2] 0 10,7,4,1"},
		{"tojson indent", `{{ response | tojson(indent=1) }}`, sampleRecord(message.Delivery), "{\n \"code\": 200,\n \"enhanced_code\": null,\n \"content\": \"ok\",\n \"command\": null\n}"},
		{"tojson of template values", `{{ {"b": [1, 2.5, none, true], "a": "x"} | tojson }} {{ nope | tojson }}`, bounce, `{"a":"x","b":[1,2.5,null,true]} null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, tc.rec); got != tc.want {
				t.Errorf("%s\n got: %q\nwant: %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		reason    string // a part of the reason
	}{
		{"unclosed tag", "line one\n{{ type ", 2, "'}}' expected"},
		{"unclosed block", "a\n{% if type %}\nx", 3, `controlStructure "if"`},
		{"unknown filter", "a\n{{ type | no_such_filter }}", 2, "unknown filter: filter no_such_filter is unknown"},
		{"unknown filter in a filter block", "a\n\n{% filter no_such_filter %}x{% endfilter %}", 3, "filter no_such_filter is unknown"},
		{"unknown test", "{{ x is not no_such_test }}", 1, "unknown test: test no_such_test is unknown"},
		{"bad syntax", "a\nb\n{{ type + }}", 3, "expected either a number"},
		{"unknown statement", "{% frobnicate %}", 1, "'frobnicate' not found"},
		{"mismatched end", "{% if x %}\n{% endfor %}", 2, "'endfor' not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.src, "Bounce")
			if err == nil {
				t.Fatal("compiled")
			}
			prefix := "compiling template:\n" + tc.src + "\nfor log record type Bounce: "
			msg := err.Error()
			if !strings.HasPrefix(msg, prefix) {
				t.Fatalf("message does not start with KumoMTA's prefix:\n%s", msg)
			}
			ce, ok := err.(*Error)
			if !ok {
				t.Fatalf("error is %T, want *Error", err)
			}
			if ce.Line != tc.line || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("line %d, reason %q; want line %d and %q", ce.Line, ce.Reason, tc.line, tc.reason)
			}
			lineText := strings.Split(tc.src, "\n")[tc.line-1]
			if want := " (in template 'Bounce' line " + strconv.Itoa(tc.line) + ": '" + lineText + "')"; !strings.HasSuffix(msg, want) {
				t.Errorf("message does not end with %q:\n%s", want, msg)
			}
		})
	}
}

func TestCompileErrorLineIsCutAt1024Bytes(t *testing.T) {
	src := "{{ x | nope }}" + strings.Repeat("é", 600)
	_, err := Compile(src, "Any")
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("error is %T, want *Error", err)
	}
	start := strings.Index(ce.Reason, "line 1: '") + len("line 1: '")
	quoted := strings.TrimSuffix(ce.Reason[start:], "')")
	if len(quoted) > 1024 || !strings.HasPrefix(src, quoted) || len(quoted) < 1020 {
		t.Errorf("quoted line has %d bytes: %q", len(quoted), quoted)
	}
}

func TestRenderErrorsAreErrors(t *testing.T) {
	rec := sampleRecord(message.Bounce)
	for _, src := range []string{
		`{{ size | truncate("x") }}`,         // a filter given the wrong type
		`{{ type | tojson(indent="wide") }}`, // hookd's tojson, likewise
		`{{ no_such_field.attr }}`,           // attribute of undefined
		`{{ peer_address.name.first.x }}`,    // attribute of undefined, deeper
		`{{ size % 0 }}`,                     // gonja panics here
		`{{ range(1000000) | length }}`,      // more numbers than range makes
		`{% include "other" %}`,              // nothing to include
	} {
		tpl, err := Compile(src, "Bounce")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		out, err := tpl.Render(rec)
		if err == nil {
			t.Errorf("%s rendered %q, want an error", src, out)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rendering template for log record type Bounce: ") {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestConcurrentRenders(t *testing.T) {
	tpl, err := Compile(goldenTemplate, "Any")
	if err != nil {
		t.Fatal(err)
	}
	types := message.RecordTypes()
	want := make([][]byte, len(types))
	for i, rt := range types {
		if want[i], err = tpl.Render(sampleRecord(rt)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				i := (g + n) % len(types)
				got, err := tpl.Render(sampleRecord(types[i]))
				if err != nil || !bytes.Equal(got, want[i]) {
					t.Errorf("goroutine %d, %s: %v\n got: %s\nwant: %s", g, types[i], err, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCompileRecoversFromEnginePanics(t *testing.T) {
	src := "{% if 0 not %}0" // gonja's parser dereferences nil here
	_, err := Compile(src, "Delivery")
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("error is %T (%v), want *Error", err, err)
	}
	if !strings.HasPrefix(ce.Error(), "compiling template:\n"+src+"\nfor log record type Delivery: syntax error: ") {
		t.Errorf("unexpected message: %v", ce)
	}
}
