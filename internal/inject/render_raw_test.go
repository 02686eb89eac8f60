package inject

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRenderRaw(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"lone LFs become CRLF and a final CRLF is added", "Subject: a\n\nbody", "Subject: a\r\n\r\nbody\r\n"},
		{"CRLF line endings are kept as they are", "Subject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n"},
		{"mixed line endings are all CRLF afterwards", "A: 1\r\nB: 2\n\nx\r\ny\n", "A: 1\r\nB: 2\r\n\r\nx\r\ny\r\n"},
		{"a lone CR is left alone", "A: 1\r\n\r\nx\ry", "A: 1\r\n\r\nx\ry\r\n"},
		{"a leading LF becomes CRLF", "\nbody", "\r\nbody\r\n"},
		{"a CR at the very end gains a CRLF", "body\r", "body\r\r\n"},
		{"the text is otherwise untouched, substitutions included", "Subject: {{ name }}\n\nHi {{ name }} ünïcode", "Subject: {{ name }}\r\n\r\nHi {{ name }} ünïcode\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{EnvelopeSender: "a@b.c", Content: Content{Raw: tt.raw},
				Substitutions: map[string]json.RawMessage{"name": json.RawMessage(`"Jo"`)}}
			got, err := req.Render(Recipient{Email: "c@d.e"}, renderTime, "id")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Render = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestRenderRejects(t *testing.T) {
	text := &Builder{TextBody: "t"}
	tests := []struct {
		name    string
		req     Request
		rcpt    string
		id      string // "" means a valid default
		emptyID bool   // render with an empty message id
		want    string
		wantErr error
	}{
		{name: "a request without content", req: Request{EnvelopeSender: "a@b.c"},
			want: "content: required", wantErr: ErrRequired},
		{name: "a request with both raw content and a builder",
			req:  Request{EnvelopeSender: "a@b.c", Content: Content{Raw: "x", Builder: text}},
			want: "content: both raw text and a builder are set"},
		{name: "a builder without bodies", req: Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{Subject: "s"}}},
			want: "content: text_body or html_body is required"},
		{name: "a builder with no From and the null sender", req: Request{Content: Content{Builder: text}},
			want: "content.from: required when envelope_sender is empty"},
		{name: "a builder with a bad From", req: Request{Content: Content{Builder: &Builder{TextBody: "t", From: &Mailbox{Email: "x"}}}},
			want: `content.from.email: "x" is not an address of the form local@domain: no "@"`},
		{name: "a builder with a bad Reply-To",
			req:  Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{TextBody: "t", ReplyTo: &Mailbox{Email: "a@b\r\nBcc: x@y.z"}}}},
			want: `content.reply_to.email: "a@b\r\nBcc: x@y.z" is not an address of the form local@domain: character '@' in the local part`},
		{name: "a recipient that is not an address", req: Request{EnvelopeSender: "a@b.c", Content: Content{Builder: text}},
			rcpt: "Bcc: x@y.z", want: `recipient: "Bcc: x@y.z" is not an address of the form local@domain: character ':' in the local part`},
		{name: "an empty message id", req: Request{EnvelopeSender: "a@b.c", Content: Content{Builder: text}},
			emptyID: true, want: "message id: empty"},
		{name: "a message id with an angle bracket", req: Request{EnvelopeSender: "a@b.c", Content: Content{Builder: text}},
			id: "a>b", want: `message id "a>b": character '>' cannot appear in a Message-ID`},
		{name: "a custom header with a line break",
			req:  Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{TextBody: "t", Headers: map[string]string{"X-A": "1\nBcc: x@y.z"}}}},
			want: "content.headers.X-A: must not contain line breaks"},
		{name: "a custom MIME-Version header",
			req:  Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{TextBody: "t", Headers: map[string]string{"Mime-Version": "2"}}}},
			want: `content.headers: "Mime-Version" is set by hookd from the body parts`},
		{name: "an attachment with bad base64",
			req: Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{TextBody: "t",
				Attachments: []Attachment{{Data: "x"}, {Data: "%%%", Base64: true}}}}},
			want: "content.attachments[1]: invalid base64 at byte 0 (whitespace removed)"},
		{name: "an attachment with a bad content id",
			req: Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{TextBody: "t",
				Attachments: []Attachment{{Data: "x", ContentID: "<>"}}}}},
			want: "content.attachments[0]: empty content id"},
	}
	for _, tt := range tests {
		t.Run("rendering "+tt.name+" fails", func(t *testing.T) {
			rcpt := tt.rcpt
			if rcpt == "" {
				rcpt = "c@d.e"
			}
			id := tt.id
			if id == "" && !tt.emptyID {
				id = "0a1b"
			}
			got, err := tt.req.Render(Recipient{Email: rcpt}, renderTime, id)
			if err == nil {
				t.Fatalf("Render succeeded:\n%s", got)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error does not wrap %v", tt.wantErr)
			}
		})
	}
}

func TestRenderBoundariesFollowTheMessageID(t *testing.T) {
	req := &Request{EnvelopeSender: "a@b.c", Content: Content{Builder: &Builder{TextBody: "t", HTMLBody: "h"}}}
	render := func(id string) string {
		msg, err := req.Render(Recipient{Email: "c@d.e"}, renderTime, id)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		return string(msg)
	}
	one, same, other := render("0001"), render("0001"), render("0002")
	if one != same {
		t.Errorf("the same message id gave different messages")
	}
	boundary := func(msg string) string {
		_, b, _ := strings.Cut(msg, `boundary="`)
		b, _, _ = strings.Cut(b, `"`)
		return b
	}
	if boundary(one) == "" || boundary(one) == boundary(other) {
		t.Errorf("boundaries %q and %q; want distinct ones for distinct message ids", boundary(one), boundary(other))
	}
}

func TestPickBoundaryAvoidsContent(t *testing.T) {
	first, err := pickBoundary("mixed", nil, "seed")
	if err != nil {
		t.Fatal(err)
	}
	tricky := []entity{{body: []byte("text\r\n--" + first + "\r\nmore")}}
	second, err := pickBoundary("mixed", tricky, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Errorf("pickBoundary kept %q although a part contains it", first)
	}
}
