package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeRecordMatchesOracle checks that DecodeRecord,
// (*LogRecord).UnmarshalJSON and (*Recipients).UnmarshalJSON give the same
// results and the same errors as the encoding/json-based decoder they
// replaced (decode_oracle_test.go), for any input.
func FuzzDecodeRecordMatchesOracle(f *testing.F) {
	for _, seed := range oracleSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(checkMatchesOracle)
}

// checkMatchesOracle decodes data with the scanner and with the oracle, in
// all three ways, and fails on any difference.
func checkMatchesOracle(t *testing.T, data []byte) {
	t.Helper()
	checkDecodeRecord(t, data)
	checkUnmarshalJSON(t, data)
	gotRs, wantRs := Recipients{"old"}, Recipients{"old"}
	gotErr, wantErr := gotRs.UnmarshalJSON(data), oracleUnmarshalRecipients(&wantRs, data)
	compareDecoded(t, "Recipients.UnmarshalJSON", data, gotRs, gotErr, wantRs, wantErr)
}

func checkDecodeRecord(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := DecodeRecord(data)
	want, wantErr := oracleDecodeRecord(data)
	compareDecoded(t, "DecodeRecord", data, got, gotErr, want, wantErr)
}

// checkUnmarshalJSON decodes into a record with every field set: it must
// be reset, or left alone for null.
func checkUnmarshalJSON(t *testing.T, data []byte) {
	t.Helper()
	got, want := goldenRecord(Bounce), goldenRecord(Bounce)
	got.SourceAddress, want.SourceAddress = json.RawMessage(`{}`), json.RawMessage(`{}`)
	gotErr, wantErr := got.UnmarshalJSON(data), oracleUnmarshal(want, data)
	compareDecoded(t, "UnmarshalJSON", data, got, gotErr, want, wantErr)
}

func compareDecoded(t *testing.T, what string, data []byte, got any, gotErr error, want any, wantErr error) {
	t.Helper()
	if len(data) > 300 {
		data = append(data[:300:300], "..."...)
	}
	if !sameError(gotErr, wantErr) {
		t.Fatalf("%s(%q):\n got error %T %v\nwant error %T %v", what, data, gotErr, gotErr, wantErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s(%q):\n got %#v\nwant %#v", what, data, got, want)
	}
}

func sameError(got, want error) bool {
	if got == nil || want == nil {
		return got == want
	}
	if reflect.TypeOf(got) != reflect.TypeOf(want) || got.Error() != want.Error() {
		return false
	}
	var gf, wf *FieldError
	if errors.As(got, &gf) && errors.As(want, &wf) {
		return *gf == *wf
	}
	return true
}

func TestDecodeMatchesOracleOnRandomRecords(t *testing.T) {
	// Their types are random too, so DecodeRecord would reject them:
	// UnmarshalJSON, which does not check the type, shows what they decode to.
	g := recordGen{rand.New(rand.NewPCG(3, 4))}
	for range 300 {
		r := g.record()
		checkUnmarshalJSON(t, r.AppendJSON(nil))
		// encoding/json's own output escapes <, > and & as \u003c and so on.
		b, err := json.Marshal(toMirror(r))
		if err != nil {
			t.Fatal(err)
		}
		checkUnmarshalJSON(t, b)
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, b, "\r\n", "\t "); err != nil {
			t.Fatal(err)
		}
		checkUnmarshalJSON(t, pretty.Bytes())
	}
}

func TestDecodeMatchesOracleOnDeepNesting(t *testing.T) {
	// encoding/json allows 10000 open arrays and objects, the record's
	// own object included.
	for _, n := range []int{63, 64, 65, 200, 9998, 9999, 10000, 10001} {
		arrays := strings.Repeat("[", n) + strings.Repeat("]", n)
		objects := strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
		for _, doc := range []string{
			`{"type":"Delivery","meta":{"deep":` + arrays + `}}`,
			`{"type":"Delivery","meta":{"deep":` + objects + `}}`,
			`{"x":` + arrays + `,"type":"Delivery"}`,
			`{"type":"Delivery","feedback_report":` + objects + `}`,
			`{"type":"Delivery","recipient":[` + arrays + `]}`,
			`{"type":"Delivery","recipient":["a",` + arrays + `]}`,
			`[` + arrays + `]`,
			arrays,
		} {
			checkMatchesOracle(t, []byte(doc))
		}
	}
}

// oracleSeeds returns the golden records, the benchmark record, the edge
// cases and a sample of mutatedRecords: enough to start the fuzzer from
// every kind of input without spending its time on thousands of seeds.
func oracleSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no golden records: %v", err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b, bytes.TrimSuffix(b, []byte("\n")))
	}
	seeds = append(seeds, benchRecord().AppendJSON(nil))
	for _, s := range edgeCases {
		seeds = append(seeds, []byte(s))
	}
	for i, m := range mutatedRecords(goldenRecord(Bounce).AppendJSON(nil)) {
		if i%20 == 0 {
			seeds = append(seeds, m)
		}
	}
	return seeds
}

func TestDecodeMatchesOracleOnMutatedRecords(t *testing.T) {
	n := 0
	// Between them these four have every member and sub-member.
	for _, rt := range []RecordType{Bounce, Reception, Feedback, Rejection} {
		for _, m := range mutatedRecords(goldenRecord(rt).AppendJSON(nil)) {
			checkDecodeRecord(t, m)
			n++
		}
	}
	if n < 5000 {
		t.Fatalf("only %d mutated records", n)
	}
}

// replacements are values of every kind, each odd in some way, that
// mutatedRecords puts in place of members.
var replacements = []string{
	`null`, `0`, `-0`, `1`, `-1`, `1e3`, `1E3`, `1.0`, `1.5`, `-0.0`, `255`, `256`, `65535`, `65536`,
	`18446744073709551615`, `18446744073709551616`, `9223372036854775807`, `9223372036854775808`,
	`-9223372036854775808`, `-9223372036854775809`, `1e400`, `123456789012345678901234567890`,
	`""`, `"x"`, `"\u0041\n\ud83d\ude00"`, `"\ud800"`, "\"\xff\xfe\"", `"2024-11-08T15:30:12Z"`,
	`"2024-11-08T15:30:12.5+01:00"`, `"2024-11-08T15:30:12\u005a"`, `true`, `false`, `[]`, `[null]`,
	`["a",1]`, `["a","b"]`, `{}`, `{"a":1,"a":2}`, `{"code":"250"}`, `{"class":5,"subject":1,"detail":1}`,
}

// mutatedRecords returns variations of the compact record doc: each member
// (and each member of its response, enhanced_code and peer_address)
// replaced by each of replacements, members repeated with another value
// before or after, members in reverse order, whitespace everywhere, and
// the record cut short or followed by more.
func mutatedRecords(doc []byte) [][]byte {
	var out [][]byte
	top := splitMembers(doc)
	for i, m := range top {
		for _, v := range replacements {
			out = append(out, joinMembers(withValue(top, i, v)))
		}
		out = append(out,
			joinMembers(append(slicesClone(top), member{m.key, `"dup"`})),
			joinMembers(append([]member{{m.key, `"dup"`}}, top...)))
		if m.val[0] != '{' {
			continue
		}
		sub := splitMembers([]byte(m.val))
		for j, sm := range sub {
			for _, v := range replacements {
				out = append(out, joinMembers(withValue(top, i, string(joinMembers(withValue(sub, j, v))))))
			}
			if sm.val[0] == '{' {
				subsub := splitMembers([]byte(sm.val))
				for k := range subsub {
					for _, v := range replacements {
						inner := joinMembers(withValue(subsub, k, v))
						out = append(out, joinMembers(withValue(top, i, string(joinMembers(withValue(sub, j, string(inner)))))))
					}
				}
			}
		}
	}
	reversed := slicesClone(top)
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	out = append(out, joinMembers(reversed))
	var pretty bytes.Buffer
	if json.Indent(&pretty, doc, " \n", "\t\r") == nil {
		out = append(out, pretty.Bytes())
	}
	for _, cut := range []int{1, 2, 10, len(doc) / 2, len(doc) - 2, len(doc) - 1} {
		out = append(out, doc[:cut])
	}
	for _, tail := range []string{" ", "\n", "x", "{}", ",", "}", "\x00", "\u00a0", " null"} {
		out = append(out, append(bytes.Clone(doc), tail...))
	}
	return out
}

type member struct{ key, val string }

// splitMembers splits a JSON object into its members, in order, with
// encoding/json's tokenizer.
func splitMembers(obj []byte) []member {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		panic(err)
	}
	var out []member
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			panic(err)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			panic(err)
		}
		out = append(out, member{key.(string), string(val)})
	}
	return out
}

func joinMembers(ms []member) []byte {
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, m.key)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

func withValue(ms []member, i int, val string) []member {
	out := slicesClone(ms)
	out[i].val = val
	return out
}

func slicesClone(ms []member) []member { return append([]member(nil), ms...) }

var edgeCases = []string{
	// Not an object, or not only one.
	``, ` `, "\t\r\n", `null`, ` null `, `nul`, `nonsense`, `n`, `[]`, `[1]`, `"x"`, `1`, `-`, `true`,
	`{`, `}`, `{}`, `{} `, `{}{}`, `{} {}`, `{}x`, `{},`, "{}\x00", "\ufeff{}", "\u00a0{}", "{}\u00a0",
	"\u2028{}", "\v{}", "{}\f", `{"type":"Delivery"}` + "\n\n", ` {"type":"Delivery"} `,
	`{"type":"Delivery",}`, `{"type":"Delivery" "id":"x"}`, `{"type" "Delivery"}`, `{"type":}`,
	`{type:"Delivery"}`, `{'type':'Delivery'}`, `{"type":"Delivery"`, `{"type":"Delivery`,
	`{"type":"Deliv\`, `{,"type":"Delivery"}`, `{"a":1,,"b":2}`, `{"a":[1,]}`, `{"a":[,1]}`,
	`{"a":{"b":1,}}`, `{"a":[1}`, `{"a":{]}`, `{"a":[}]}`, `{"a":tru}`, `{"a":fals}`, `{"a":nul}`,
	`{"a":truex}`, `{"a":nulll}`, `{"a":True}`, `{"a":NaN}`, `{"a":Infinity}`,
	// Numbers.
	`{"type":"Delivery","size":01}`, `{"type":"Delivery","size":-01}`, `{"type":"Delivery","size":1.}`,
	`{"type":"Delivery","size":.5}`, `{"type":"Delivery","size":+1}`, `{"type":"Delivery","size":1e}`,
	`{"type":"Delivery","size":1e+}`, `{"type":"Delivery","size":1e+5}`, `{"type":"Delivery","size":1e-5}`,
	`{"type":"Delivery","size":-}`, `{"type":"Delivery","size":--1}`, `{"type":"Delivery","size":0x10}`,
	`{"type":"Delivery","size":1_000}`, `{"type":"Delivery","size":99999999999999999999.5}`,
	`{"type":"Delivery","num_attempts":70000.5}`, `{"type":"Delivery","timestamp":-0}`,
	`{"type":"Delivery","timestamp":-9223372036854775808,"created":9223372036854775807}`,
	`{"type":"Delivery","timestamp":1.0}`, `{"type":"Delivery","timestamp":"1"}`,
	// Strings: escapes, surrogates, UTF-8.
	`{"type":"Delivery","sender":"a\"b\\c\/d\b\f\n\r\t"}`, `{"type":"Delivery","sender":"\'"}`,
	`{"type":"Delivery","sender":"\x"}`, `{"type":"Delivery","sender":"\u12"}`,
	`{"type":"Delivery","sender":"\u12G4"}`, `{"type":"Delivery","sender":"\u00e9\u00E9\u2028\uFFFF"}`,
	`{"type":"Delivery","sender":"\ud834\udd1e"}`, `{"type":"Delivery","sender":"\ud834"}`,
	`{"type":"Delivery","sender":"\udd1e"}`, `{"type":"Delivery","sender":"\ud834\u0041"}`,
	`{"type":"Delivery","sender":"\ud834\ud834\udd1e"}`, `{"type":"Delivery","sender":"\udbff\udfff\ud800\udc00"}`,
	`{"type":"Delivery","sender":"\ud834\\udd1e"}`, `{"type":"Delivery","sender":"\ud834x\udd1e"}`,
	`{"type":"Delivery","sender":"x\ud834"}`, `{"type":"Delivery","sender":"\ud834\u"}`,
	`{"type":"Delivery","sender":"\u0000"}`, "{\"type\":\"Delivery\",\"sender\":\"\x01\"}",
	"{\"type\":\"Delivery\",\"sender\":\"a\tb\"}", "{\"type\":\"Delivery\",\"sender\":\"\x7f\"}",
	"{\"type\":\"Delivery\",\"sender\":\"\xff\"}", "{\"type\":\"Delivery\",\"sender\":\"\xe2\x82\"}",
	"{\"type\":\"Delivery\",\"sender\":\"\xed\xa0\x80\"}", "{\"type\":\"Delivery\",\"sender\":\"\xf4\x90\x80\x80\"}",
	"{\"type\":\"Delivery\",\"sender\":\"\xc0\x80\\n\xff\"}", "{\"type\":\"Delivery\",\"sender\":\"Grüße ✓ 𝄞\"}",
	"{\"type\":\"Delivery\",\"id\":\"\xef\xbf\xbd\"}", "{\"type\":\"Delivery\"}\xff", "{\"type\":\"Delivery\",\xff}",
	// Keys.
	`{"t\u0079pe":"Delivery"}`, `{"\u0074\u0079\u0070\u0065":"Bounce","\u0073ize":5}`, `{"type\u0000":"Delivery"}`,
	"{\"typ\xff\":\"Delivery\"}", `{"TYPE":"Delivery"}`, `{"":"Delivery","type":"OOB"}`,
	`{"type":"Delivery","meta":{"a\u00e9":1,"a\u00E9":2}}`, "{\"type\":\"Delivery\",\"meta\":{\"a\xff\":1,\"a\xfe\":2}}",
	"{\"type\":\"Delivery\",\"meta\":{\"a\xff\":1,\"a\\ufffd\":2,\"a\xef\xbf\xbd\":3}}",
	`{"type":"Delivery","meta":{"\ud800":1,"\udc00":2}}`, `{"type":"Delivery","meta":{"\/":"\/"}}`,
	`{"type":"Delivery","response":{"c\u006fde":250,"code":251}}`, `{"type":"Delivery","peer_address":{"is_s\u0065cure":true}}`,
	// Duplicates: the last one counts.
	`{"type":"Bounce","type":"Delivery"}`, `{"type":"Delivery","type":null}`, `{"type":null,"type":"OOB"}`,
	`{"type":"Delivery","size":"x","size":1}`, `{"type":"Delivery","size":1,"size":"x"}`,
	`{"type":"Delivery","response":{"code":"x"},"response":{"code":1}}`,
	`{"type":"Delivery","response":{"code":"x","code":2}}`, `{"type":"Delivery","meta":{"a":1,"a":[2]}}`,
	`{"type":"Delivery","meta":{"a":1},"meta":null}`, `{"type":"Delivery","peer_address":{"name":1,"name":"x"}}`,
	// Nulls, kinds and errors in order.
	`{"type":"Delivery","id":null,"sender":null,"recipient":null,"queue":null,"site":null,"size":null,` +
		`"response":null,"peer_address":null,"timestamp":null,"event_time":null,"created":null,` +
		`"created_time":null,"num_attempts":null,"bounce_classification":null,"egress_pool":null,` +
		`"egress_source":null,"source_address":null,"feedback_report":null,"meta":null,"headers":null,` +
		`"delivery_protocol":null,"reception_protocol":null,"nodeid":null,"tls_cipher":null,` +
		`"tls_protocol_version":null,"tls_peer_subject_name":null,"provider_name":null,"session_id":null}`,
	`{"type":"Delivery","response":{"code":null,"enhanced_code":null,"content":null,"command":null},` +
		`"peer_address":{"name":null,"addr":null,"is_secure":null}}`,
	`{"type":"Delivery","response":{"enhanced_code":{"class":null,"subject":null,"detail":null}}}`,
	`{"type":"Delivery","response":{},"peer_address":{},"meta":{},"headers":{},"tls_peer_subject_name":[]}`,
	`{"type":"Delivery","response":{"enhanced_code":{}}}`, `{"type":"Delivery","response":{"enhanced_code":[]}}`,
	`{"type":"Delivery","response":{"enhanced_code":{"class":256}},"id":1}`,
	`{"nodeid":1,"size":"big","id":false}`, `{"session_id":1,"type":2}`, `{"type":3}`, `{"type":"Any"}`,
	`{"type":"delivery"}`, `{"type":""}`, `{"type":"Custom","id":"x"}`, `{"id":"x"}`,
	`{"type":"Delivery","recipient":["a",null]}`, `{"type":"Delivery","recipient":[null,1]}`,
	`{"type":"Delivery","recipient":[]}`, `{"type":"Delivery","recipient":[ ]}`, `{"type":"Delivery","recipient":""}`,
	`{"type":"Delivery","recipient":[1]}`, `{"type":"Delivery","recipient":{}}`, `{"type":"Delivery","recipient":true}`,
	`{"type":"Delivery","tls_peer_subject_name":["a",["b"]]}`, `{"type":"Delivery","tls_peer_subject_name":"x"}`,
	`{"type":"Delivery","peer_address":{"is_secure":"yes"}}`, `{"type":"Delivery","peer_address":{"is_secure":false}}`,
	`{"type":"Delivery","peer_address":[]}`, `{"type":"Delivery","peer_address":"x"}`,
	`{"type":"Delivery","source_address":"x","feedback_report":[ 1 , {"a" : null} ]}`,
	`{"type":"Delivery","source_address":false,"feedback_report":0}`,
	`{"type":"Delivery","meta":{ "a" : { "b" : [ 1 , 2 ] } , "c" : "\u0041" },"headers":{"X":"\u2028<>&\ud800"}}`,
	// Times.
	`{"type":"Delivery","event_time":"2024-11-08T15:30:12.123456789Z"}`,
	`{"type":"Delivery","event_time":"2024-11-08T15:30:12.1234567891Z"}`,
	`{"type":"Delivery","event_time":"2024-11-08t15:30:12z"}`, `{"type":"Delivery","event_time":"2024-11-08 15:30:12Z"}`,
	`{"type":"Delivery","event_time":"2024-11-08T15:30:12\u002b01:00"}`, `{"type":"Delivery","event_time":"\u0032024-11-08T15:30:12Z"}`,
	`{"type":"Delivery","event_time":"9999-12-31T23:59:59-01:00"}`, `{"type":"Delivery","event_time":"0000-01-01T00:00:00+00:30"}`,
	`{"type":"Delivery","event_time":"0000-01-01T00:00:00-00:30"}`, `{"type":"Delivery","created_time":"2024-02-30T00:00:00Z"}`,
	`{"type":"Delivery","created_time":"2024-11-08T24:00:00Z"}`, `{"type":"Delivery","created_time":"2024-11-08T15:30:60Z"}`,
	"{\"type\":\"Delivery\",\"created_time\":\"2024-11-08T15:30:12Z\xff\"}", `{"type":"Delivery","created_time":""}`,
	`{"type":"Delivery","created_time":1}`, `{"type":"Delivery","created_time":"yesterday \ud800"}`,
	`{"type":"Delivery","event_time":"2024-11-08T15:30:12+24:00"}`, `{"type":"Delivery","event_time":"2024-11-08T15:30:12+23:59"}`,
	// For Recipients.UnmarshalJSON on its own.
	`"a@b"`, ` "a@b" `, `["a","b"]`, ` [ "a" , "b" ] `, `[`, `"a`, `["a"] x`, `"a" "b"`, `{}`, `5`, `[1]`,
	`[null]`, `["\ud800"]`, "[\"\xff\"]",
}
