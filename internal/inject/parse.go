package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/hookd/hookd/internal/jsonbody"
	"github.com/hookd/hookd/message"
)

// unsupported are KumoMTA request fields that hookd refuses rather than
// ignores, since ignoring them would change the messages silently.
var unsupported = []string{"deferred_generation", "trace_headers", "template_dialect"}

// Parse reads a `POST /api/inject/v1` body.
//
// Field names are KumoMTA's: envelope_sender, recipients (email, name,
// substitutions, metadata), content (a string, or an object with subject,
// text_body, html_body, amp_html_body, from, reply_to, headers and
// attachments), substitutions and deferred_spool, plus hookd's "meta".
// Other top-level fields are ignored, except deferred_generation,
// trace_headers and template_dialect, which hookd does not support.
//
// Every error is a *FieldError naming the field, such as
// `recipients[2].email: required` or `content: expected a string or an
// object`. Null counts as absent.
func Parse(b []byte) (*Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		var wrongType *json.UnmarshalTypeError
		if errors.As(err, &wrongType) {
			err = fmt.Errorf("expected a JSON object, got %s", jsonbody.Kind(bytes.TrimSpace(b)))
		} else {
			err = describeJSONError(err)
		}
		return nil, &FieldError{Field: "request", Err: err}
	}
	if top == nil {
		return nil, &FieldError{Field: "request", Err: errors.New("expected a JSON object, got null")}
	}
	if !message.StrictText(b) {
		names := slices.Sorted(maps.Keys(top))
		field := "request"
		for _, name := range names {
			if !message.StrictText(top[name]) {
				field = name
				break
			}
		}
		return nil, &FieldError{Field: field, Err: errors.New("invalid UTF-8 or an unpaired surrogate escape: the request must be valid Unicode text")}
	}
	obj := object{m: top}
	for _, name := range unsupported {
		raw, ok := obj.get(name)
		if ok && !(name == "deferred_generation" && string(raw) == "false") {
			return nil, &FieldError{Field: name, Err: ErrNotSupported}
		}
	}

	req := &Request{}
	var err error
	if req.EnvelopeSender, err = obj.requiredString("envelope_sender"); err != nil {
		return nil, err
	}
	if req.EnvelopeSender != "" {
		if err := checkAddress(req.EnvelopeSender); err != nil {
			return nil, &FieldError{Field: "envelope_sender", Err: err}
		}
	}
	if req.Recipients, err = parseRecipients(obj); err != nil {
		return nil, err
	}
	if req.Content, err = parseContent(obj, req.EnvelopeSender); err != nil {
		return nil, err
	}
	if req.Substitutions, err = obj.rawObject("substitutions"); err != nil {
		return nil, err
	}
	if req.Meta, err = obj.rawObject("meta"); err != nil {
		return nil, err
	}
	if req.DeferredSpool, err = obj.boolean("deferred_spool"); err != nil {
		return nil, err
	}
	return req, nil
}

// parseRecipients reads the "recipients" array.
func parseRecipients(obj object) ([]Recipient, error) {
	elems, err := obj.array("recipients")
	if err != nil {
		return nil, err
	}
	switch {
	case elems == nil:
		return nil, &FieldError{Field: "recipients", Err: ErrRequired}
	case len(elems) == 0:
		return nil, &FieldError{Field: "recipients", Err: errors.New("at least one recipient is required")}
	case len(elems) > MaxRecipients:
		return nil, &FieldError{Field: "recipients", Err: fmt.Errorf(
			"%d recipients; at most %d are accepted per request", len(elems), MaxRecipients)}
	}
	out := make([]Recipient, len(elems))
	for i, raw := range elems {
		r, err := obj.elementObject("recipients", i, raw)
		if err != nil {
			return nil, err
		}
		rcpt := &out[i]
		if rcpt.Email, err = r.requiredAddress("email"); err != nil {
			return nil, err
		}
		if rcpt.Name, err = r.str("name"); err != nil {
			return nil, err
		}
		if rcpt.Substitutions, err = r.rawObject("substitutions"); err != nil {
			return nil, err
		}
		if rcpt.Metadata, err = r.rawObject("metadata"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseContent reads "content": raw text or a builder object.
func parseContent(obj object, envelopeSender string) (Content, error) {
	raw, ok := obj.get("content")
	if !ok {
		return Content{}, &FieldError{Field: "content", Err: ErrRequired}
	}
	switch raw[0] {
	case '"':
		text, err := obj.str("content")
		if err != nil {
			return Content{}, err
		}
		if text == "" {
			return Content{}, &FieldError{Field: "content", Err: errors.New("must not be empty")}
		}
		return Content{Raw: text}, nil
	case '{':
		c, err := decodeObject("content", raw)
		if err != nil {
			return Content{}, err
		}
		b, err := parseBuilder(c, envelopeSender)
		if err != nil {
			return Content{}, err
		}
		return Content{Builder: b}, nil
	default:
		return Content{}, &FieldError{Field: "content",
			Err: fmt.Errorf("expected a string or an object, got %s", jsonbody.Kind(raw))}
	}
}

// parseBuilder reads the object form of "content".
func parseBuilder(c object, envelopeSender string) (*Builder, error) {
	b := &Builder{}
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"subject", &b.Subject}, {"text_body", &b.TextBody}, {"html_body", &b.HTMLBody},
		{"amp_html_body", &b.AMPHTMLBody},
	} {
		if *f.dst, err = c.str(f.name); err != nil {
			return nil, err
		}
	}
	if b.TextBody == "" && b.HTMLBody == "" {
		return nil, &FieldError{Field: c.path, Err: errors.New("text_body or html_body is required")}
	}
	if b.From, err = c.mailbox("from"); err != nil {
		return nil, err
	}
	if b.From == nil && envelopeSender == "" {
		return nil, &FieldError{Field: c.name("from"), Err: errors.New("required when envelope_sender is empty")}
	}
	if b.ReplyTo, err = c.mailbox("reply_to"); err != nil {
		return nil, err
	}
	if b.Headers, err = parseHeaders(c); err != nil {
		return nil, err
	}
	if b.Attachments, err = parseAttachments(c); err != nil {
		return nil, err
	}
	return b, nil
}

// parseHeaders reads the builder's "headers" object of strings.
func parseHeaders(c object) (map[string]string, error) {
	fields, err := c.rawObject("headers")
	if err != nil || fields == nil {
		return nil, err
	}
	h := c.sub("headers")
	out := make(map[string]string, len(fields))
	for name, raw := range fields {
		if err := checkHeaderName(name); err != nil {
			return nil, &FieldError{Field: h.path, Err: err}
		}
		value, err := h.stringValue(name, raw)
		if err != nil {
			return nil, err
		}
		if err := checkHeaderValue(value); err != nil {
			return nil, &FieldError{Field: h.name(name), Err: err}
		}
		out[name] = value
	}
	return out, nil
}

// parseAttachments reads the builder's "attachments" array.
func parseAttachments(c object) ([]Attachment, error) {
	elems, err := c.array("attachments")
	if err != nil || len(elems) == 0 {
		return nil, err
	}
	out := make([]Attachment, len(elems))
	for i, raw := range elems {
		a, err := c.elementObject("attachments", i, raw)
		if err != nil {
			return nil, err
		}
		if out[i], err = parseAttachment(a); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseAttachment reads one element of "attachments".
func parseAttachment(a object) (Attachment, error) {
	var att Attachment
	var err error
	if _, ok := a.get("data"); !ok {
		return att, &FieldError{Field: a.name("data"), Err: ErrRequired}
	}
	if att.Data, err = a.str("data"); err != nil {
		return att, err
	}
	if att.Base64, err = a.boolean("base64"); err != nil {
		return att, err
	}
	if att.Base64 {
		if _, err := decodeBase64(att.Data); err != nil {
			return att, &FieldError{Field: a.name("data"), Err: err}
		}
	}
	for _, f := range []struct {
		name  string
		dst   *string
		check func(string) error
	}{
		{"content_type", &att.ContentType, checkMediaType},
		{"file_name", &att.FileName, checkFileName},
		{"content_id", &att.ContentID, checkContentID},
	} {
		if *f.dst, err = a.str(f.name); err != nil {
			return att, err
		}
		if *f.dst == "" {
			continue
		}
		if err := f.check(*f.dst); err != nil {
			return att, &FieldError{Field: a.name(f.name), Err: err}
		}
	}
	att.ContentID = trimAngles(att.ContentID)
	return att, nil
}
