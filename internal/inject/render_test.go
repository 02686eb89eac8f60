package inject

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// renderTime is the "now" of every rendering test, in a zone east of UTC.
var renderTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

// leaf is a decoded non-multipart entity of a rendered message.
type leaf struct {
	mediaType   string
	params      map[string]string
	disposition string
	dispParams  map[string]string
	contentID   string
	content     string
}

// parsed is a rendered message read back with net/mail and mime/multipart.
type parsed struct {
	header     mail.Header
	structure  string   // e.g. multipart/mixed[text/plain,image/png]
	leaves     []leaf   // non-multipart entities in document order
	multiparts []string // Content-Type of multipart entities in document order
}

// readBack parses a rendered message, failing the test on any error.
func readBack(t *testing.T, msg []byte) parsed {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("message has a line ending that is not CRLF:\n%s", msg)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v", err)
	}
	p := parsed{header: m.Header}
	p.structure = p.walk(t, m.Header.Get, m.Body)
	return p
}

// walk describes an entity's structure and collects its decoded leaves.
func (p *parsed) walk(t *testing.T, get func(string) string, body io.Reader) string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		p.multiparts = append(p.multiparts, get("Content-Type"))
		mr := multipart.NewReader(body, params["boundary"])
		var kids []string
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", mediaType, err)
			}
			kids = append(kids, p.walk(t, part.Header.Get, part))
		}
		return mediaType + "[" + strings.Join(kids, ",") + "]"
	}
	var decoded []byte
	switch cte := get("Content-Transfer-Encoding"); cte {
	case "quoted-printable":
		decoded, err = io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		decoded, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
	default:
		t.Fatalf("%s part has Content-Transfer-Encoding %q", mediaType, cte)
	}
	if err != nil {
		t.Fatalf("decoding %s: %v", mediaType, err)
	}
	l := leaf{mediaType: mediaType, params: params, contentID: get("Content-ID"), content: string(decoded)}
	if d := get("Content-Disposition"); d != "" {
		if l.disposition, l.dispParams, err = mime.ParseMediaType(d); err != nil {
			t.Fatalf("Content-Disposition %q: %v", d, err)
		}
	}
	p.leaves = append(p.leaves, l)
	return mediaType
}

// decodeHeader decodes RFC 2047 words in a header value.
func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decoding %q: %v", v, err)
	}
	return s
}

// address parses an address header.
func address(t *testing.T, h mail.Header, name string) *mail.Address {
	t.Helper()
	a, err := h.AddressList(name)
	if err != nil || len(a) != 1 {
		t.Fatalf("%s %q: %v", name, h.Get(name), err)
	}
	return a[0]
}

const longLine = "This line is longer than seventy-six characters, so quoted-printable must break it softly."

// renderCase is a request rendered for its first recipient, compared with a
// golden file and read back.
type renderCase struct {
	name      string
	golden    string // file under testdata/
	request   string
	structure string // expected MIME tree, as parsed.structure
	check     func(t *testing.T, p parsed)
}

var renderCases = []renderCase{
	{
		name:   "a text-only message is a single quoted-printable text/plain part",
		golden: "text-only.eml",
		request: `{"envelope_sender":"bounces@mail.example","recipients":[{"email":"jo@dest.example"}],
			"content":{"subject":"Your receipt","text_body":"Hello,\nprice = 5 EUR\n` + longLine + `\nBye"}}`,
		structure: "text/plain",
		check: func(t *testing.T, p parsed) {
			wantHeaders := map[string]string{
				"From": "bounces@mail.example", "To": "jo@dest.example", "Subject": "Your receipt",
				"Date": "Sat, 14 Mar 2026 15:09:26 +0100", "Message-ID": "<0a1b2c3d@mail.example>", "MIME-Version": "1.0",
			}
			for name, want := range wantHeaders {
				if got := p.header.Get(name); got != want {
					t.Errorf("%s = %q; want %q", name, got, want)
				}
			}
			if want := "Hello,\r\nprice = 5 EUR\r\n" + longLine + "\r\nBye\r\n"; p.leaves[0].content != want {
				t.Errorf("text = %q; want %q", p.leaves[0].content, want)
			}
			if p.leaves[0].params["charset"] != "utf-8" {
				t.Errorf("charset = %q; want utf-8", p.leaves[0].params["charset"])
			}
		},
	},
	{
		name:   "an html-only message carries reply-to and custom headers, which may replace generated ones",
		golden: "html-only.eml",
		request: `{"envelope_sender":"bounces@mail.example","recipients":[{"email":"jo@dest.example","name":"Doe, Jo"}],
			"content":{"subject":"News","html_body":"<p>Hi <b>Jo</b></p>\n",
				"from":{"email":"news@brand.example","name":"Brand News"},"reply_to":{"email":"help@brand.example"},
				"headers":{"X-Campaign":"spring-2026","Subject":"Overridden subject",
					"List-Unsubscribe":"<https://brand.example/unsubscribe/0a1b2c3d4e5f>, <mailto:unsubscribe@brand.example?subject=0a1b2c3d4e5f>"}}}`,
		structure: "text/html",
		check: func(t *testing.T, p parsed) {
			if a := address(t, p.header, "To"); a.Name != "Doe, Jo" || a.Address != "jo@dest.example" {
				t.Errorf("To = %v", a)
			}
			if a := address(t, p.header, "From"); a.Name != "Brand News" || a.Address != "news@brand.example" {
				t.Errorf("From = %v", a)
			}
			if a := address(t, p.header, "Reply-To"); a.Address != "help@brand.example" {
				t.Errorf("Reply-To = %v", a)
			}
			if got := p.header.Get("Message-ID"); got != "<0a1b2c3d@mail.example>" {
				t.Errorf("Message-ID = %q; want the envelope sender's domain", got)
			}
			if got := p.header["Subject"]; len(got) != 1 || got[0] != "Overridden subject" {
				t.Errorf("Subject = %q; want the custom header alone", got)
			}
			if got := p.header.Get("List-Unsubscribe"); !strings.HasPrefix(got, "<https://brand.example/unsubscribe/0a1b2c3d4e5f>, <mailto:") {
				t.Errorf("List-Unsubscribe = %q", got)
			}
			if got := p.header.Get("X-Campaign"); got != "spring-2026" {
				t.Errorf("X-Campaign = %q", got)
			}
			if p.leaves[0].content != "<p>Hi <b>Jo</b></p>\r\n" {
				t.Errorf("html = %q", p.leaves[0].content)
			}
		},
	},
	{
		name:   "text, AMP and HTML form a multipart/alternative with AMP before HTML",
		golden: "alternative.eml",
		request: `{"envelope_sender":"bounces@mail.example","recipients":[{"email":"jo@dest.example"}],
			"content":{"subject":"Choices","text_body":"plain","html_body":"<p>html</p>",
				"amp_html_body":"<!doctype html><html ⚡4email><body>amp</body></html>"}}`,
		structure: "multipart/alternative[text/plain,text/x-amp-html,text/html]",
		check: func(t *testing.T, p parsed) {
			want := []string{"plain\r\n", "<!doctype html><html ⚡4email><body>amp</body></html>\r\n", "<p>html</p>\r\n"}
			for i, l := range p.leaves {
				if l.content != want[i] {
					t.Errorf("part %d (%s) = %q; want %q", i, l.mediaType, l.content, want[i])
				}
			}
		},
	},
	{
		name:   "attachments wrap the body in multipart/mixed and inline ones in multipart/related",
		golden: "attachments.eml",
		request: `{"envelope_sender":"bounces@mail.example","recipients":[{"email":"jo@dest.example"}],
			"content":{"subject":"Invoice","text_body":"See attached.","html_body":"<img src=\"cid:logo@brand\">",
				"attachments":[
					{"data":"JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK",
					 "base64":true,"content_type":"application/pdf","file_name":"invoice 42.pdf"},
					{"data":"iVBORw0KGgo=","base64":true,"content_type":"image/png","content_id":"<logo@brand>"},
					{"data":"sku,qty\nA1,2\n","content_type":"text/csv; charset=utf-8","file_name":"items.csv"}]}}`,
		structure: "multipart/mixed[multipart/related[multipart/alternative[text/plain,text/html],image/png],application/pdf,text/csv]",
		check: func(t *testing.T, p parsed) {
			pdf, png, csv := p.leaves[3], p.leaves[2], p.leaves[4]
			wantPDF, _ := base64.StdEncoding.DecodeString("JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK")
			if pdf.content != string(wantPDF) || pdf.disposition != "attachment" || pdf.dispParams["filename"] != "invoice 42.pdf" {
				t.Errorf("pdf = %+v", pdf)
			}
			if png.content != "\x89PNG\r\n\x1a\n" || png.disposition != "inline" || png.contentID != "<logo@brand>" {
				t.Errorf("png = %+v", png)
			}
			if csv.content != "sku,qty\nA1,2\n" || csv.params["charset"] != "utf-8" || csv.dispParams["filename"] != "items.csv" {
				t.Errorf("csv = %+v; want the literal text kept byte for byte", csv)
			}
			_, related, _ := mime.ParseMediaType(p.multiparts[1])
			if related["type"] != "multipart/alternative" {
				t.Errorf("multipart/related type = %q; want its root's type", related["type"])
			}
		},
	},
	{
		name:   "non-ASCII subject, names and file names are encoded and decode back",
		golden: "non-ascii.eml",
		request: `{"envelope_sender":"bounces@mail.example","recipients":[{"email":"juergen@dest.example","name":"Jürgen Müller"}],
			"content":{"subject":"Grüße aus Köln — a long subject that has to be split into several encoded words 🎉",
				"from":{"email":"cafe@brand.example","name":"Café Zoë"},"text_body":"Schöne Grüße\n",
				"attachments":[{"data":"Zeile 1","content_type":"text/plain","file_name":"Lebenslauf Müller.txt"}]}}`,
		structure: "multipart/mixed[text/plain,text/plain]",
		check: func(t *testing.T, p parsed) {
			subject := "Grüße aus Köln — a long subject that has to be split into several encoded words 🎉"
			if got := decodeHeader(t, p.header.Get("Subject")); got != subject {
				t.Errorf("Subject decodes to %q; want %q", got, subject)
			}
			if a := address(t, p.header, "To"); a.Name != "Jürgen Müller" || a.Address != "juergen@dest.example" {
				t.Errorf("To = %v", a)
			}
			if a := address(t, p.header, "From"); a.Name != "Café Zoë" {
				t.Errorf("From = %v", a)
			}
			if p.leaves[0].content != "Schöne Grüße\r\n" {
				t.Errorf("text = %q", p.leaves[0].content)
			}
			if att := p.leaves[1]; att.dispParams["filename"] != "Lebenslauf Müller.txt" || att.content != "Zeile 1" {
				t.Errorf("attachment = %+v", att)
			}
		},
	},
	{
		name:   "a null sender takes the Message-ID domain from From, and an attachment defaults to octet-stream",
		golden: "null-sender.eml",
		request: `{"envelope_sender":"","recipients":[{"email":"jo@dest.example"}],
			"content":{"text_body":"x","from":{"email":"mailer-daemon@relay.example"},"attachments":[{"data":""}]}}`,
		structure: "multipart/mixed[text/plain,application/octet-stream]",
		check: func(t *testing.T, p parsed) {
			if got := p.header.Get("Message-ID"); got != "<0a1b2c3d@relay.example>" {
				t.Errorf("Message-ID = %q", got)
			}
			if got := p.header.Get("Subject"); got != "" {
				t.Errorf("Subject = %q; want none", got)
			}
			if att := p.leaves[1]; att.content != "" || att.disposition != "attachment" {
				t.Errorf("attachment = %+v", att)
			}
		},
	},
}

func TestRenderBuilder(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Parse([]byte(tc.request))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			msg, err := req.Render(req.Recipients[0], renderTime, "0a1b2c3d")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			compareGolden(t, tc.golden, msg)
			p := readBack(t, msg)
			if p.structure != tc.structure {
				t.Fatalf("structure = %s; want %s", p.structure, tc.structure)
			}
			tc.check(t, p)
			for i, line := range strings.Split(string(msg), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line %d is %d bytes long", i+1, len(line))
				}
			}
			again, err := req.Render(req.Recipients[0], renderTime, "0a1b2c3d")
			if err != nil || !bytes.Equal(again, msg) {
				t.Errorf("rendering twice gave different messages")
			}
		})
	}
}

// compareGolden compares got with testdata/name, or rewrites it with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rendered message differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
