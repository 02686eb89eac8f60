package inject

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// maxLineLen is the line length that header folding aims for (RFC 5322
// section 2.1.1 recommends 78).
const maxLineLen = 78

// Render returns the message for one recipient, with CRLF line endings.
//
// Raw content is returned as given, except that every LF not preceded by CR
// becomes CRLF and the message ends with CRLF.
//
// Builder content becomes an RFC 5322 message: From (the builder's, else
// the envelope sender), To (the recipient), Subject, Reply-To, Date (now),
// Message-ID (<messageID@domain>, the domain of the envelope sender, else
// of From), MIME-Version and the builder's headers, then the body. Text and
// HTML alone are single quoted-printable parts; together (with AMP HTML)
// they form a multipart/alternative. Attachments with a content id join the
// body in a multipart/related, the others follow it in a multipart/mixed,
// base64 encoded. The MIME boundaries derive from messageID, so the output
// is the same for the same arguments.
//
// Substitutions are not applied.
func (r *Request) Render(rcpt Recipient, now time.Time, messageID string) ([]byte, error) {
	switch b := r.Content.Builder; {
	case b != nil && r.Content.Raw != "":
		return nil, errors.New("content: both raw text and a builder are set")
	case b != nil:
		return r.renderBuilder(b, rcpt, now, messageID)
	case r.Content.Raw != "":
		return normalizeLineEndings(r.Content.Raw), nil
	default:
		return nil, &FieldError{Field: "content", Err: ErrRequired}
	}
}

// normalizeLineEndings turns lone LFs into CRLF and ends the text with CRLF.
func normalizeLineEndings(text string) []byte {
	out := make([]byte, 0, len(text)+len(text)/32+2)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' && (i == 0 || text[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, text[i])
	}
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// normalizeText makes every line break of a text body (CRLF, LF or a lone
// CR) a CRLF and ends the text with CRLF.
func normalizeText(text string) []byte {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return normalizeLineEndings(text)
}

// headerField is one header line before folding.
type headerField struct{ name, value string }

// renderBuilder assembles a MIME message from a builder.
func (r *Request) renderBuilder(b *Builder, rcpt Recipient, now time.Time, messageID string) ([]byte, error) {
	if err := checkMessageID(messageID); err != nil {
		return nil, err
	}
	if err := checkAddress(rcpt.Email); err != nil {
		return nil, &FieldError{Field: "recipient", Err: err}
	}
	from := Mailbox{Email: r.EnvelopeSender}
	if b.From != nil {
		from = *b.From
	}
	if from.Email == "" {
		return nil, &FieldError{Field: "content.from", Err: errors.New("required when envelope_sender is empty")}
	}
	if err := checkAddress(from.Email); err != nil {
		return nil, &FieldError{Field: "content.from.email", Err: err}
	}
	idDomain := domainOf(from.Email)
	if r.EnvelopeSender != "" {
		idDomain = domainOf(r.EnvelopeSender)
	}

	fields := []headerField{
		{"From", formatMailbox(from)},
		{"To", formatMailbox(Mailbox{Email: rcpt.Email, Name: rcpt.Name})},
	}
	if b.Subject != "" {
		fields = append(fields, headerField{"Subject", mime.QEncoding.Encode("utf-8", b.Subject)})
	}
	if b.ReplyTo != nil {
		if err := checkAddress(b.ReplyTo.Email); err != nil {
			return nil, &FieldError{Field: "content.reply_to.email", Err: err}
		}
		fields = append(fields, headerField{"Reply-To", formatMailbox(*b.ReplyTo)})
	}
	fields = append(fields,
		headerField{"Date", now.Format(time.RFC1123Z)},
		headerField{"Message-ID", "<" + messageID + "@" + idDomain + ">"},
		headerField{"MIME-Version", "1.0"},
	)
	fields, err := addCustomHeaders(fields, b.Headers)
	if err != nil {
		return nil, err
	}

	body, err := b.body(messageID)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, f := range fields {
		writeFolded(&out, f.name, f.value)
	}
	writeFolded(&out, "Content-Type", body.header.Get("Content-Type"))
	if cte := body.header.Get("Content-Transfer-Encoding"); cte != "" {
		writeFolded(&out, "Content-Transfer-Encoding", cte)
	}
	out.WriteString("\r\n")
	out.Write(body.body)
	if !bytes.HasSuffix(out.Bytes(), []byte("\r\n")) {
		out.WriteString("\r\n")
	}
	return out.Bytes(), nil
}

// addCustomHeaders appends the builder's headers in name order; one that
// has the name of a generated header replaces it in place.
func addCustomHeaders(fields []headerField, custom map[string]string) ([]headerField, error) {
	for _, name := range slices.Sorted(maps.Keys(custom)) {
		value := custom[name]
		if err := checkHeaderName(name); err != nil {
			return nil, &FieldError{Field: "content.headers", Err: err}
		}
		if err := checkHeaderValue(value); err != nil {
			return nil, &FieldError{Field: "content.headers." + name, Err: err}
		}
		f := headerField{name, mime.QEncoding.Encode("utf-8", value)}
		i := slices.IndexFunc(fields, func(g headerField) bool { return strings.EqualFold(g.name, name) })
		if i >= 0 {
			fields[i] = f
		} else {
			fields = append(fields, f)
		}
	}
	return fields, nil
}

// formatMailbox renders "Name <local@domain>", the name quoted or RFC 2047
// encoded as needed, or the bare address when there is no name.
func formatMailbox(m Mailbox) string {
	s := (&mail.Address{Name: m.Name, Address: m.Email}).String()
	if m.Name == "" {
		return strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	}
	return s
}

// checkMessageID accepts the left-hand side of a Message-ID: RFC 5322 atext
// and dots.
func checkMessageID(id string) error {
	if id == "" {
		return errors.New("message id: empty")
	}
	for _, r := range id {
		if !isAtext(r) && r != '.' {
			return fmt.Errorf("message id %q: character %q cannot appear in a Message-ID", id, r)
		}
	}
	return nil
}

// writeFolded writes "name: value" CRLF, folded by foldValue.
func writeFolded(out *bytes.Buffer, name, value string) {
	out.WriteString(name)
	out.WriteString(": ")
	out.WriteString(foldValue(name, value))
	out.WriteString("\r\n")
}

// foldValue returns the value of header name with CRLF inserted before some
// of its spaces so that the lines of "name: value" stay within maxLineLen
// where the value allows it. Every line holds something besides whitespace.
func foldValue(name, value string) string {
	line := name + ": " + value
	if len(line) <= maxLineLen {
		return value
	}
	var out strings.Builder
	start := len(name) + 2 // where the text of the current line begins
	// Never fold within trailing whitespace: the last line would be blank.
	trailing := len(line) - len(strings.TrimRight(line, " \t"))
	for len(line) > maxLineLen {
		end := len(line) - trailing
		minCut := len(line) - len(strings.TrimLeft(line[start:], " \t")) + 1
		cut := strings.LastIndexByte(line[:maxLineLen+1], ' ')
		if cut < minCut {
			cut = -1
			if from := max(minCut, maxLineLen); from < end {
				if next := strings.IndexByte(line[from:end], ' '); next >= 0 {
					cut = from + next
				}
			}
		}
		if cut < 0 || cut >= end {
			break
		}
		out.WriteString(line[:cut])
		out.WriteString("\r\n")
		line = line[cut:] // starts with the space that folds the line
		start = 0
	}
	out.WriteString(line)
	return out.String()[len(name)+2:]
}
