package inject

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// minimal is the smallest valid request, as KumoMTA documents it.
const minimal = `{"envelope_sender":"a@b.example","recipients":[{"email":"c@d.example"}],"content":"Subject: hi\r\n\r\nhello\r\n"}`

// with returns minimal with one top-level member replaced or added.
func with(member, value string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		panic(err)
	}
	m[member] = json.RawMessage(value)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// withContent returns minimal with a builder content object.
func withContent(content string) string { return with("content", content) }

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *Request
	}{
		{
			name: "the minimal KumoMTA request parses",
			body: minimal,
			want: &Request{EnvelopeSender: "a@b.example", Recipients: []Recipient{{Email: "c@d.example"}},
				Content: Content{Raw: "Subject: hi\r\n\r\nhello\r\n"}},
		},
		{
			name: "the null sender is an empty envelope_sender",
			body: with("envelope_sender", `""`),
			want: &Request{Recipients: []Recipient{{Email: "c@d.example"}}, Content: Content{Raw: "Subject: hi\r\n\r\nhello\r\n"}},
		},
		{
			name: "unknown fields and nulls are ignored and deferred_generation false is allowed",
			body: `{"envelope_sender":"a@b.example","recipients":[{"email":"c@d.example","name":null,"x":1}],
				"content":"x","whatever":{"a":[1]},"meta":null,"deferred_generation":false,"trace_headers":null}`,
			want: &Request{EnvelopeSender: "a@b.example", Recipients: []Recipient{{Email: "c@d.example"}},
				Content: Content{Raw: "x"}},
		},
		{
			name: "every field of a full request is read",
			body: `{"envelope_sender":"bounce@mail.example","deferred_spool":true,
				"meta":{"tenant":"acme","campaign":"spring","queue":"webhook"},
				"substitutions":{"greeting":"hi"},
				"recipients":[
					{"email":"jo@dest.example","name":"Jo","substitutions":{"first":"Jo"},"metadata":{"uid":7}},
					{"email":"\"odd local\"@[192.0.2.1]"}],
				"content":{"subject":"Hello","text_body":"t","html_body":"<p>h</p>","amp_html_body":"<html amp4email></html>",
					"from":{"email":"news@mail.example","name":"News"},"reply_to":{"email":"help@mail.example"},
					"headers":{"X-Campaign":"spring"},
					"attachments":[{"data":"aGk=","base64":true,"content_type":"image/png","file_name":"a.png","content_id":"<logo>"},
						{"data":"a,b\n"}]}}`,
			want: &Request{
				EnvelopeSender: "bounce@mail.example",
				DeferredSpool:  true,
				Meta: map[string]json.RawMessage{"tenant": json.RawMessage(`"acme"`),
					"campaign": json.RawMessage(`"spring"`), "queue": json.RawMessage(`"webhook"`)},
				Substitutions: map[string]json.RawMessage{"greeting": json.RawMessage(`"hi"`)},
				Recipients: []Recipient{
					{Email: "jo@dest.example", Name: "Jo", Substitutions: map[string]json.RawMessage{"first": json.RawMessage(`"Jo"`)},
						Metadata: map[string]json.RawMessage{"uid": json.RawMessage(`7`)}},
					{Email: `"odd local"@[192.0.2.1]`},
				},
				Content: Content{Builder: &Builder{
					Subject: "Hello", TextBody: "t", HTMLBody: "<p>h</p>", AMPHTMLBody: "<html amp4email></html>",
					From: &Mailbox{Email: "news@mail.example", Name: "News"}, ReplyTo: &Mailbox{Email: "help@mail.example"},
					Headers: map[string]string{"X-Campaign": "spring"},
					Attachments: []Attachment{
						{Data: "aGk=", Base64: true, ContentType: "image/png", FileName: "a.png", ContentID: "logo"},
						{Data: "a,b\n"},
					},
				}},
			},
		},
		{
			name: "a builder without from takes the envelope sender later",
			body: withContent(`{"html_body":"<b>x</b>"}`),
			want: &Request{EnvelopeSender: "a@b.example", Recipients: []Recipient{{Email: "c@d.example"}},
				Content: Content{Builder: &Builder{HTMLBody: "<b>x</b>"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// parseRejectCases are requests that Parse refuses, one bad field each.
var parseRejectCases = []struct {
	name    string
	body    string
	want    string // the whole error text, or its start when it ends with "…"
	wantErr error  // a sentinel the error must wrap, if any
}{
	{name: "a body that is not JSON", body: `{"envelope_sender":`, want: "request: invalid JSON at byte 19: unexpected end of JSON input"},
	{name: "invalid UTF-8 in a recipient's name", body: "{\"envelope_sender\":\"a@b.example\",\"recipients\":[{\"email\":\"c@d.example\",\"name\":\"\xff\"}],\"content\":\"x\"}",
		want: "recipients: invalid UTF-8 or an unpaired surrogate escape: the request must be valid Unicode text"},
	{name: "an unpaired surrogate escape in the content", body: `{"envelope_sender":"a@b.example","recipients":[{"email":"c@d.example"}],"content":"\ud83d"}`,
		want: "content: invalid UTF-8 or an unpaired surrogate escape: the request must be valid Unicode text"},
	{name: "a body that is an array", body: `[1]`, want: "request: expected a JSON object, got an array"},
	{name: "a body that is null", body: `null`, want: "request: expected a JSON object, got null"},
	{name: "deferred_generation set", body: with("deferred_generation", "true"),
		want: "deferred_generation: not supported by hookd", wantErr: ErrNotSupported},
	{name: "trace_headers set", body: with("trace_headers", `{"header_name":"X-Trace"}`),
		want: "trace_headers: not supported by hookd", wantErr: ErrNotSupported},
	{name: "template_dialect set", body: with("template_dialect", `"Jinja"`),
		want: "template_dialect: not supported by hookd", wantErr: ErrNotSupported},
	{name: "envelope_sender missing", body: `{"recipients":[{"email":"c@d.example"}],"content":"x"}`,
		want: "envelope_sender: required", wantErr: ErrRequired},
	{name: "envelope_sender null", body: with("envelope_sender", "null"), want: "envelope_sender: required"},
	{name: "envelope_sender a number", body: with("envelope_sender", "5"), want: "envelope_sender: expected a string, got a number"},
	{name: "envelope_sender without @", body: with("envelope_sender", `"bob"`),
		want: `envelope_sender: "bob" is not an address of the form local@domain: no "@"`},
	{name: "recipients missing", body: `{"envelope_sender":"","content":"x"}`, want: "recipients: required", wantErr: ErrRequired},
	{name: "recipients an object", body: with("recipients", `{}`), want: "recipients: expected an array, got an object"},
	{name: "recipients empty", body: with("recipients", `[]`), want: "recipients: at least one recipient is required"},
	{name: "too many recipients", body: with("recipients", "["+strings.Repeat(`{"email":"c@d.example"},`, MaxRecipients)+`{"email":"c@d.example"}]`),
		want: "recipients: 10001 recipients; at most 10000 are accepted per request"},
	{name: "a recipient that is a string", body: with("recipients", `["c@d.example"]`),
		want: "recipients[0]: expected an object, got a string"},
	{name: "the third recipient without email", body: with("recipients", `[{"email":"a@b.c"},{"email":"b@b.c"},{"name":"x"}]`),
		want: "recipients[2].email: required", wantErr: ErrRequired},
	{name: "a recipient with an empty email", body: with("recipients", `[{"email":""}]`), want: "recipients[0].email: required"},
	{name: "a recipient email with a space", body: with("recipients", `[{"email":"a b@c.d"}]`),
		want: `recipients[0].email: "a b@c.d" is not an address of the form local@domain: character ' ' in the local part`},
	{name: "a recipient name that is a number", body: with("recipients", `[{"email":"a@b.c","name":1}]`),
		want: "recipients[0].name: expected a string, got a number"},
	{name: "recipient substitutions that are an array", body: with("recipients", `[{"email":"a@b.c","substitutions":[]}]`),
		want: "recipients[0].substitutions: expected an object, got an array"},
	{name: "recipient metadata that is a string", body: with("recipients", `[{"email":"a@b.c","metadata":"x"}]`),
		want: "recipients[0].metadata: expected an object, got a string"},
	{name: "content missing", body: `{"envelope_sender":"","recipients":[{"email":"a@b.c"}]}`, want: "content: required"},
	{name: "content a number", body: withContent(`42`), want: "content: expected a string or an object, got a number"},
	{name: "content an empty string", body: withContent(`""`), want: "content: must not be empty"},
	{name: "a builder without any body", body: withContent(`{"subject":"s"}`), want: "content: text_body or html_body is required"},
	{name: "a builder with only AMP", body: withContent(`{"amp_html_body":"<html amp4email></html>"}`),
		want: "content: text_body or html_body is required"},
	{name: "a text_body that is a number", body: withContent(`{"text_body":1}`), want: "content.text_body: expected a string, got a number"},
	{name: "a subject that is an array", body: withContent(`{"text_body":"t","subject":[]}`),
		want: "content.subject: expected a string, got an array"},
	{name: "a from without email", body: withContent(`{"text_body":"t","from":{"name":"x"}}`), want: "content.from.email: required"},
	{name: "a from with a bad domain", body: withContent(`{"text_body":"t","from":{"email":"a@-b.c"}}`),
		want: `content.from.email: "a@-b.c" is not an address of the form local@domain: domain label "-b" starts or ends with a hyphen`},
	{name: "no from and the null sender",
		body: `{"envelope_sender":"","recipients":[{"email":"a@b.c"}],"content":{"text_body":"t"}}`,
		want: "content.from: required when envelope_sender is empty"},
	{name: "a reply_to that is a string", body: withContent(`{"text_body":"t","reply_to":"a@b.c"}`),
		want: "content.reply_to: expected an object, got a string"},
	{name: "headers that are an array", body: withContent(`{"text_body":"t","headers":[]}`),
		want: "content.headers: expected an object, got an array"},
	{name: "a header value that is a number", body: withContent(`{"text_body":"t","headers":{"X-A":1}}`),
		want: "content.headers.X-A: expected a string, got a number"},
	{name: "a header name with a space", body: withContent(`{"text_body":"t","headers":{"Bad Name":"x"}}`),
		want: `content.headers: "Bad Name" is not a valid header name`},
	{name: "a header value with a line break", body: withContent(`{"text_body":"t","headers":{"X-A":"a\r\nBcc: e@f.g"}}`),
		want: "content.headers.X-A: must not contain line breaks"},
	{name: "a Content-Type header", body: withContent(`{"text_body":"t","headers":{"content-type":"text/plain"}}`),
		want: `content.headers: "content-type" is set by hookd from the body parts`},
	{name: "attachments that are an object", body: withContent(`{"text_body":"t","attachments":{}}`),
		want: "content.attachments: expected an array, got an object"},
	{name: "an attachment without data", body: withContent(`{"text_body":"t","attachments":[{"data":""},{"file_name":"a"}]}`),
		want: "content.attachments[1].data: required", wantErr: ErrRequired},
	{name: "an attachment with bad base64", body: withContent(`{"text_body":"t","attachments":[{"data":"aGk*","base64":true}]}`),
		want: "content.attachments[0].data: invalid base64 at byte 3 (whitespace removed)"},
	{name: "an attachment base64 flag that is a string", body: withContent(`{"text_body":"t","attachments":[{"data":"x","base64":"yes"}]}`),
		want: "content.attachments[0].base64: expected a boolean, got a string"},
	{name: "an attachment with a bad content type", body: withContent(`{"text_body":"t","attachments":[{"data":"x","content_type":"pdf"}]}`),
		want: `content.attachments[0].content_type: "pdf" is not a media type of the form type/subtype`},
	{name: "an attachment with an unparsable content type",
		body: withContent(`{"text_body":"t","attachments":[{"data":"x","content_type":"text/plain; charset"}]}`),
		want: `content.attachments[0].content_type: "text/plain; charset" is not a media type: mime: invalid media parameter`},
	{name: "an attachment with a multipart content type",
		body: withContent(`{"text_body":"t","attachments":[{"data":"x","content_type":"multipart/mixed"}]}`),
		want: `content.attachments[0].content_type: "multipart/mixed": multipart attachments are not supported`},
	{name: "an attachment file name with a line break", body: withContent(`{"text_body":"t","attachments":[{"data":"x","file_name":"a\nb"}]}`),
		want: "content.attachments[0].file_name: must not contain line breaks"},
	{name: "an attachment content id with a space", body: withContent(`{"text_body":"t","attachments":[{"data":"x","content_id":"a b"}]}`),
		want: `content.attachments[0].content_id: character ' ' in content id "a b"`},
	{name: "substitutions that are an array", body: with("substitutions", `[]`), want: "substitutions: expected an object, got an array"},
	{name: "meta that is a number", body: with("meta", `1`), want: "meta: expected an object, got a number"},
	{name: "deferred_spool that is a string", body: with("deferred_spool", `"yes"`), want: "deferred_spool: expected a boolean, got a string"},
}

func TestParseRejects(t *testing.T) {
	for _, tt := range parseRejectCases {
		t.Run("a request with "+tt.name+" is rejected", func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", got)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FieldError", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error does not wrap %v", tt.wantErr)
			}
		})
	}
}
