package admin

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// in5m is the default expiry of a request parsed at t0.
var in5m = t0.Add(5 * time.Minute)

// bounceRequestCase is one case of TestParseBounceRequest.
type bounceRequestCase struct {
	name    string
	body    string
	want    BounceRequest
	wantErr string
}

var bounceRequestCases = []bounceRequestCase{
	{name: "a reason alone bounces everything for 5m", body: `{"reason":"x"}`,
		want: BounceRequest{Reason: "x", Expires: in5m}},
	{name: "every field",
		body: `{"campaign":"C","tenant":"T","domain":"D","routing_domain":"R","queue_names":["a","b"],` +
			`"reason":"bad send","duration":"20m","suppress_logging":true}`,
		want: BounceRequest{Criteria: Criteria{Campaign: strp("C"), Tenant: strp("T"), Domain: strp("D"),
			RoutingDomain: strp("R"), QueueNames: []string{"a", "b"}}, Reason: "bad send",
			Expires: t0.Add(20 * time.Minute), SuppressLogging: true}},
	{name: "null is absent",
		body: `{"campaign":null,"tenant":null,"domain":null,"routing_domain":null,"queue_names":null,` +
			`"reason":"x","duration":null,"expires":null,"suppress_logging":null}`,
		want: BounceRequest{Reason: "x", Expires: in5m}},
	{name: "empty strings are values", body: `{"tenant":"","reason":""}`,
		want: BounceRequest{Criteria: Criteria{Tenant: strp("")}, Expires: in5m}},
	{name: "an empty queue_names list is none", body: `{"reason":"x","queue_names":[]}`,
		want: BounceRequest{Reason: "x", Expires: in5m}},
	{name: "whitespace and escapes", body: " \n{ \"re\\u0061son\" : \"a\\\"b\" , \"domain\" :  null }\r\n",
		want: BounceRequest{Reason: `a"b`, Expires: in5m}},
	{name: "whitespace inside queue_names", body: "{\"reason\":\"x\",\"queue_names\":[ \"a\" ,\t\"b\" ]}",
		want: BounceRequest{Criteria: Criteria{QueueNames: []string{"a", "b"}}, Reason: "x", Expires: in5m}},
	{name: "duration as humantime", body: `{"reason":"x","duration":"1h 30m"}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(90 * time.Minute)}},
	{name: "duration in seconds", body: `{"reason":"x","duration":90}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(90 * time.Second)}},
	{name: "duration in fractional seconds", body: `{"reason":"x","duration":1.5}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(1500 * time.Millisecond)}},
	{name: "duration with an exponent", body: `{"reason":"x","duration":1e3}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(1000 * time.Second)}},
	{name: "expires with an offset", body: `{"reason":"x","expires":"2025-03-01T14:00:00+01:00"}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(time.Hour)}},
	{name: "expires with a fraction", body: `{"reason":"x","expires":"2025-03-01T12:00:00.5Z"}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(500 * time.Millisecond)}},
	{name: "expires wins over duration", body: `{"reason":"x","duration":"1d","expires":"2025-03-01T12:01:00Z"}`,
		want: BounceRequest{Reason: "x", Expires: t0.Add(time.Minute)}},

	{name: "empty body", body: "", wantErr: "request body: empty; expected a JSON object"},
	{name: "blank body", body: " \n", wantErr: "request body: empty; expected a JSON object"},
	{name: "an array", body: `[{"reason":"x"}]`, wantErr: "request body: expected a JSON object"},
	{name: "null body", body: `null`, wantErr: "request body: expected a JSON object"},
	{name: "truncated", body: `{"reason":"x"`, wantErr: "request body: malformed JSON: unexpected end of input"},
	{name: "trailing comma", body: `{"reason":"x",}`,
		wantErr: "request body: malformed JSON: invalid character '}' looking for beginning of object key string"},
	{name: "a second object", body: `{"reason":"x"} {}`, wantErr: "request body: unexpected data after the JSON object"},
	{name: "trailing junk", body: `{"reason":"x"}]`, wantErr: "request body: unexpected data after the JSON object"},
	{name: "invalid UTF-8", body: "{\"reason\":\"\xff\"}", wantErr: "request body: not valid UTF-8"},
	{name: "no reason", body: `{}`, wantErr: "reason: missing (required)"},
	{name: "null reason", body: `{"reason":null}`, wantErr: "reason: expected a string"},
	{name: "numeric reason", body: `{"reason":5}`, wantErr: "reason: expected a string"},
	{name: "repeated field", body: `{"reason":"x","reason":"y"}`, wantErr: "reason: given more than once"},
	{name: "unknown field", body: `{"reason":"x","queue":"q"}`,
		wantErr: "queue: unknown field; expected campaign, tenant, domain, routing_domain, queue_names, " +
			"reason, duration, expires, suppress_logging"},
	{name: "field names are case sensitive", body: `{"Reason":"x"}`,
		wantErr: "Reason: unknown field; expected campaign, tenant, domain, routing_domain, queue_names, " +
			"reason, duration, expires, suppress_logging"},
	{name: "numeric domain", body: `{"reason":"x","domain":5}`, wantErr: "domain: expected a string or null"},
	{name: "routing_domain as a list", body: `{"reason":"x","routing_domain":["R"]}`,
		wantErr: "routing_domain: expected a string or null"},
	{name: "queue_names as a string", body: `{"reason":"x","queue_names":"a"}`,
		wantErr: "queue_names: expected an array of queue names"},
	{name: "a null queue name", body: `{"reason":"x","queue_names":["a",null]}`,
		wantErr: "queue_names[1]: expected a string"},
	{name: "a bare number string", body: `{"reason":"x","duration":"10"}`,
		wantErr: `duration: invalid duration "10": time unit needed, for example 10sec or 10ms`},
	{name: "negative seconds", body: `{"reason":"x","duration":-5}`, wantErr: "duration: must not be negative"},
	{name: "zero seconds", body: `{"reason":"x","duration":0}`, wantErr: "duration: must be greater than 0"},
	{name: "zero humantime", body: `{"reason":"x","duration":"0s"}`, wantErr: "duration: must be greater than 0"},
	{name: "too many seconds", body: `{"reason":"x","duration":1e10}`,
		wantErr: "duration: 1e10 seconds is too long (at most 292years 3months 7days 16h 6m 28s 854ms 775us 807ns)"},
	{name: "boolean duration", body: `{"reason":"x","duration":true}`,
		wantErr: `duration: expected a duration such as "5m" or a number of seconds`},
	{name: "duration checked even with expires", body: `{"reason":"x","duration":"soon","expires":"2030-01-01T00:00:00Z"}`,
		wantErr: `duration: invalid duration "soon": expected a number at offset 0`},
	{name: "expires not RFC 3339", body: `{"reason":"x","expires":"tomorrow"}`,
		wantErr: `expires: "tomorrow" is not an RFC 3339 time such as "2025-01-02T15:04:05Z"`},
	{name: "expires without a zone", body: `{"reason":"x","expires":"2030-01-01T00:00:00"}`,
		wantErr: `expires: "2030-01-01T00:00:00" is not an RFC 3339 time such as "2025-01-02T15:04:05Z"`},
	{name: "expires as a number", body: `{"reason":"x","expires":1700000000}`,
		wantErr: `expires: expected an RFC 3339 time such as "2025-01-02T15:04:05Z"`},
	{name: "expires now", body: `{"reason":"x","expires":"2025-03-01T12:00:00Z"}`,
		wantErr: "expires: 2025-03-01T12:00:00Z is not in the future"},
	{name: "expires in the past", body: `{"reason":"x","expires":"2025-03-01T12:30:00+01:00"}`,
		wantErr: "expires: 2025-03-01T12:30:00+01:00 is not in the future"},
	{name: "expires past the year 9999", body: `{"reason":"x","expires":"9999-12-31T23:59:59-01:00"}`,
		wantErr: "expires: 9999-12-31T23:59:59-01:00 is after the year 9999"},
	{name: "suppress_logging as a string", body: `{"reason":"x","suppress_logging":"yes"}`,
		wantErr: "suppress_logging: expected true, false or null"},
}

func TestParseBounceRequest(t *testing.T) {
	for _, tt := range bounceRequestCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBounceRequest([]byte(tt.body), t0)
			checkParse(t, got, tt.want, err, tt.wantErr)
		})
	}
}

func TestParseSuspendRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    SuspendRequest
		wantErr string
	}{
		{name: "a reason alone", body: `{"reason":"pause"}`,
			want: SuspendRequest{Reason: "pause", Expires: t0.Add(5 * time.Minute)}},
		{name: "every field",
			body: `{"campaign":"C","tenant":"T","domain":"D","queue_names":["T@D"],"reason":"r","duration":"2h"}`,
			want: SuspendRequest{Criteria: Criteria{Campaign: strp("C"), Tenant: strp("T"), Domain: strp("D"),
				QueueNames: []string{"T@D"}}, Reason: "r", Expires: t0.Add(2 * time.Hour)}},
		{name: "expires", body: `{"reason":"r","expires":"2025-03-02T12:00:00Z"}`,
			want: SuspendRequest{Reason: "r", Expires: t0.Add(24 * time.Hour)}},
		{name: "routing_domain is refused", body: `{"reason":"r","routing_domain":"R"}`,
			wantErr: "routing_domain: not supported by the suspend API; use queue_names to pick queues by their full name"},
		{name: "even as null", body: `{"reason":"r","routing_domain":null}`,
			wantErr: "routing_domain: not supported by the suspend API; use queue_names to pick queues by their full name"},
		{name: "suppress_logging is refused", body: `{"reason":"r","suppress_logging":false}`,
			wantErr: "suppress_logging: only bounce requests have it"},
		{name: "unknown field", body: `{"reason":"r","domian":"D"}`,
			wantErr: "domian: unknown field; expected campaign, tenant, domain, queue_names, reason, duration, expires"},
		{name: "no reason", body: `{"domain":"D"}`, wantErr: "reason: missing (required)"},
		{name: "bad duration", body: `{"reason":"r","duration":"5 parsecs"}`,
			wantErr: `duration: invalid duration "5 parsecs": unknown time unit "parsecs", supported units: ` +
				`ns, us, ms, sec, min, hours, days, weeks, months, years (and a few variations)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSuspendRequest([]byte(tt.body), t0)
			checkParse(t, got, tt.want, err, tt.wantErr)
		})
	}
}

// checkParse compares a parse result with the expected request or error
// text, and checks that errors are *RequestError.
func checkParse[R any](t *testing.T, got, want R, err error, wantErr string) {
	t.Helper()
	if wantErr != "" {
		var re *RequestError
		if err == nil || err.Error() != wantErr || !errors.As(err, &re) {
			t.Fatalf("error = %v (%T)\nwant    %s", err, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseCancelRequest(t *testing.T) {
	const id = "552016f1-08e7-4e90-9da3-fd5c25acd069"
	tests := []struct {
		body, want, wantErr string
	}{
		{body: `{"id":"552016f1-08e7-4e90-9da3-fd5c25acd069"}`, want: id},
		{body: `{"id":"552016F1-08E7-4E90-9DA3-FD5C25ACD069"}`, want: id},
		{body: `{"id":"552016f108e74e909da3fd5c25acd069"}`, want: id},
		{body: `{"id":"urn:uuid:552016f1-08e7-4e90-9da3-fd5c25acd069"}`, want: id},
		{body: `{"id":"x"}`, wantErr: `id: "x" is not a UUID`},
		{body: `{"id":1}`, wantErr: "id: expected a string"},
		{body: `{"id":null}`, wantErr: "id: expected a string"},
		{body: `{}`, wantErr: "id: missing (required)"},
		{body: `{"id":"` + id + `","reason":"x"}`, wantErr: "reason: unknown field; expected id"},
		{body: `"` + id + `"`, wantErr: "request body: expected a JSON object"},
	}
	for _, tt := range tests {
		got, err := ParseCancelRequest([]byte(tt.body))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseCancelRequest(%s) error = %v, want %s", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCancelRequest(%s) = %q, %v; want %q", tt.body, got, err, tt.want)
		}
	}
}

func TestRequestMarshalRoundTrip(t *testing.T) {
	bounce := BounceRequest{Criteria: Criteria{Campaign: strp("C"), Tenant: strp(""), RoutingDomain: strp("R"),
		QueueNames: []string{"q"}}, Reason: "r", Expires: t0.Add(time.Hour + 1), SuppressLogging: true}
	b, err := json.Marshal(bounce)
	if err != nil {
		t.Fatal(err)
	}
	const wantBounce = `{"campaign":"C","tenant":"","routing_domain":"R","queue_names":["q"],"reason":"r",` +
		`"expires":"2025-03-01T13:00:00.000000001Z","suppress_logging":true}`
	if string(b) != wantBounce {
		t.Fatalf("bounce JSON:\n got %s\nwant %s", b, wantBounce)
	}
	back, err := ParseBounceRequest(b, t0)
	checkParse(t, back, bounce, err, "")

	suspend := SuspendRequest{Criteria: Criteria{Domain: strp("D")}, Reason: "s", Expires: t0.Add(time.Minute)}
	if b, err = json.Marshal(suspend); err != nil || string(b) != `{"domain":"D","reason":"s","expires":"2025-03-01T12:01:00Z"}` {
		t.Fatalf("suspend JSON %s, %v", b, err)
	}
	sback, err := ParseSuspendRequest(b, t0)
	checkParse(t, sback, suspend, err, "")
}

// A request's own JSON (what a client such as hookd's CLI sends) writes its strings as all JSON
// hookd writes: '<', '>', '&' and U+2028 raw, not as encoding/json's escapes.
func TestRequestMarshalWritesHookdJSON(t *testing.T) {
	reason := "<b>&'\u2028\u2029\x01"
	want := `"reason":` + string(message.AppendJSONString(nil, reason))
	b, err := BounceRequest{Criteria: Criteria{Domain: strp("d<>")}, Reason: reason}.MarshalJSON()
	if err != nil || !strings.Contains(string(b), want) || !strings.Contains(string(b), `"domain":"d<>"`) {
		t.Errorf("bounce MarshalJSON = %s, %v; want it to hold %s", b, err, want)
	}
	b, err = SuspendRequest{Reason: reason}.MarshalJSON()
	if err != nil || !strings.Contains(string(b), want) {
		t.Errorf("suspend MarshalJSON = %s, %v; want it to hold %s", b, err, want)
	}
}

func TestResponses(t *testing.T) {
	r := NewRegistry()
	r.random = &countingReader{}
	now := t0.Add(30 * time.Second)
	b := r.Add(Bounce, Criteria{Tenant: strp("T")}, "bad send", 0, time.Time{}, false, t0)
	s := r.Add(Suspend, Criteria{QueueNames: []string{"T@D"}}, "pause", time.Hour, time.Time{}, false, t0)
	r.CountBounce(b.ID, "T@D")
	r.CountBounce(b.ID, "T@D")
	r.CountBounce(b.ID, "C:T@E")
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"bounce POST", NewBounceResponse(b),
			`{"id":"00010203-0405-4607-8809-0a0b0c0d0e0f","bounced":{},"total_bounced":0}`},
		{"suspend POST", SuspendResponse{ID: s.ID}, `{"id":"10111213-1415-4617-9819-1a1b1c1d1e1f"}`},
		{"bounce GET", BounceList(r.List(Bounce, now), now),
			`[{"id":"00010203-0405-4607-8809-0a0b0c0d0e0f","campaign":null,"tenant":"T","domain":null,` +
				`"routing_domain":null,"reason":"bad send","duration":"4m 30s","bounced":{"C:T@E":1,"T@D":2},` +
				`"total_bounced":3}]`},
		{"suspend GET", SuspendList(r.List(Suspend, now), now),
			`[{"id":"10111213-1415-4617-9819-1a1b1c1d1e1f","campaign":null,"tenant":null,"domain":null,` +
				`"queue_names":["T@D"],"reason":"pause","duration":"59m 30s"}]`},
		{"empty bounce GET", BounceList(nil, now), `[]`},
		{"empty suspend GET", SuspendList(r.List(Suspend, t0.Add(2*time.Hour)), now), `[]`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tt.name, got, err, tt.want)
		}
	}
	if st, body := CancelResponse(Bounce, b.ID, true); st != 200 || body != "removed "+b.ID {
		t.Errorf("CancelResponse = %d %q", st, body)
	}
	if st, body := CancelResponse(Suspend, s.ID, false); st != 404 || body != "suspend entry "+s.ID+" not found" {
		t.Errorf("CancelResponse = %d %q", st, body)
	}
}
