package inject

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, tc := range renderCases {
		f.Add([]byte(tc.request))
	}
	for _, seed := range []string{
		`{}`, `[]`, `null`, `{"envelope_sender":"","recipients":[{"email":"a@b"}],"content":{"text_body":"t","from":{"email":"x@y"}}}`,
		`{"envelope_sender":"a@b","recipients":[{"email":"a@b"}],"content":{"html_body":"h","headers":{"X":"ü"}}}`,
		`{"envelope_sender":"a@b","recipients":[{"email":"a@b"}],"content":{"text_body":"t","attachments":[{"data":"aGk","base64":true,"content_id":"x"}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Parse(body)
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error %v is a %T, not a *FieldError", err, err)
			}
			return
		}
		if n := len(req.Recipients); n < 1 || n > MaxRecipients {
			t.Fatalf("accepted %d recipients", n)
		}
		if (req.Content.Raw == "") == (req.Content.Builder == nil) {
			t.Fatalf("content %+v does not have exactly one form", req.Content)
		}
		// Whatever Parse accepts, Render must render.
		msg, err := req.Render(req.Recipients[0], renderTime, "0a1b2c3d")
		if err != nil {
			t.Fatalf("Render of an accepted request: %v", err)
		}
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			t.Fatalf("message does not end with CRLF")
		}
		if req.Content.Builder == nil {
			if strings.Contains(strings.ReplaceAll(string(msg), "\r\n", ""), "\n") {
				t.Fatalf("raw message keeps a lone LF: %q", msg)
			}
			return
		}
		readBack(t, msg) // fails the test if net/mail or mime/multipart cannot read it
	})
}

func FuzzFoldValue(f *testing.F) {
	f.Add("Subject", "hello world")
	f.Add("X", strings.Repeat("word ", 30))
	f.Add("Subject", strings.Repeat(" ", 100)+"x y")
	f.Fuzz(func(t *testing.T, name, value string) {
		if strings.ContainsAny(name+value, "\r\n") {
			return // such names and values are refused before folding
		}
		got := foldValue(name, value)
		if unfolded := strings.ReplaceAll(got, "\r\n", ""); unfolded != value {
			t.Fatalf("unfolding %q gives %q; want %q", got, unfolded, value)
		}
		for i, line := range strings.Split(name+": "+got, "\r\n") {
			if i > 0 && (line == "" || line[0] != ' ' || strings.Trim(line, " \t") == "") {
				t.Fatalf("continuation line %d of %q is %q", i, got, line)
			}
		}
	})
}

func FuzzRenderBuilder(f *testing.F) {
	f.Add("Grüße", "Jürgen", "text\nbody", "<p>html</p>", "value", "a.txt", "data")
	f.Add("", "", "", "h", "", "", "")
	f.Add("a  b\tc", "Doe, Jo", strings.Repeat("long line ", 20), "", "ü x", "ü.pdf", "\x00\xff")
	f.Fuzz(func(t *testing.T, subject, name, text, html, headerValue, fileName, data string) {
		req := &Request{EnvelopeSender: "bounce@mail.example", Content: Content{Builder: &Builder{
			Subject: subject, TextBody: text, HTMLBody: html,
			From:        &Mailbox{Email: "news@brand.example", Name: name},
			Headers:     map[string]string{"X-Custom": headerValue},
			Attachments: []Attachment{{Data: data, FileName: fileName}},
		}}}
		msg, err := req.Render(Recipient{Email: "jo@dest.example", Name: name}, renderTime, "0a1b2c3d")
		refused := text == "" && html == "" || checkHeaderValue(headerValue) != nil || checkFileName(fileName) != nil
		if refused != (err != nil) {
			t.Fatalf("Render error = %v; want an error: %v", err, refused)
		}
		if err != nil {
			return
		}
		p := readBack(t, msg)
		if !strings.Contains(subject, "=?") && !sameWords(decodeHeader(t, p.header.Get("Subject")), subject) {
			t.Errorf("Subject %q decodes to %q", subject, decodeHeader(t, p.header.Get("Subject")))
		}
		if !strings.Contains(headerValue, "=?") && !sameWords(decodeHeader(t, p.header.Get("X-Custom")), headerValue) {
			t.Errorf("X-Custom %q decodes to %q", headerValue, decodeHeader(t, p.header.Get("X-Custom")))
		}
		bodies := []string{}
		for _, s := range []string{text, html} {
			if s != "" {
				bodies = append(bodies, string(normalizeText(s)))
			}
		}
		for i, want := range bodies {
			if p.leaves[i].content != want {
				t.Errorf("body part %d = %q; want %q", i, p.leaves[i].content, want)
			}
		}
		if att := p.leaves[len(p.leaves)-1]; att.content != data {
			t.Errorf("attachment = %q; want %q", att.content, data)
		}
	})
}

// sameWords compares two header texts the way unfolding leaves them: runs
// of whitespace are equal to one space, and leading and trailing
// whitespace does not count.
func sameWords(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}
