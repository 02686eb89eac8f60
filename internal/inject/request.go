package inject

import (
	"encoding/json"
	"errors"
)

// MaxRecipients is the most recipients one request may carry.
const MaxRecipients = 10000

// Request is a parsed `POST /api/inject/v1` body.
type Request struct {
	// EnvelopeSender is the SMTP envelope sender; "" is the null sender.
	EnvelopeSender string
	// Recipients each receive their own message; there is at least one.
	Recipients []Recipient
	// Content is the message: raw RFC 5322 text or a builder.
	Content Content
	// Meta is hookd's extension: meta values set on each message (tenant,
	// campaign, queue, ...), as raw JSON.
	Meta map[string]json.RawMessage
	// Substitutions are template variables for every recipient; carried,
	// not yet applied.
	Substitutions map[string]json.RawMessage
	// DeferredSpool skips saving the message before it is queued.
	DeferredSpool bool
}

// Recipient is one entry of the request's "recipients" array.
type Recipient struct {
	// Email is the recipient address, local@domain.
	Email string
	// Name is the display name used in the To header of built messages.
	Name string
	// Substitutions are this recipient's template variables (not yet applied).
	Substitutions map[string]json.RawMessage
	// Metadata is stored with the recipient's message (KumoMTA keeps it in
	// the meta key "extra").
	Metadata map[string]json.RawMessage
}

// Content is the request's "content": exactly one of Raw and Builder is set.
type Content struct {
	// Raw is a complete RFC 5322 message.
	Raw string
	// Builder describes a message for hookd to assemble.
	Builder *Builder
}

// Builder is the object form of "content": the parts of a message that
// Render assembles into MIME.
type Builder struct {
	// Subject is the Subject header, RFC 2047 encoded when not ASCII.
	Subject string
	// TextBody is the text/plain part.
	TextBody string
	// HTMLBody is the text/html part.
	HTMLBody string
	// AMPHTMLBody is the text/x-amp-html part, placed before the HTML part.
	AMPHTMLBody string
	// From is the From header; nil means the envelope sender.
	From *Mailbox
	// ReplyTo is the Reply-To header; nil means none.
	ReplyTo *Mailbox
	// Headers are extra header fields, written in name order after
	// MIME-Version; non-ASCII values are RFC 2047 encoded. One that has the
	// name of a header hookd generates (From, To, Subject, Reply-To, Date,
	// Message-ID) replaces it. Content-Type, Content-Transfer-Encoding and
	// MIME-Version are refused: the body structure sets them.
	Headers map[string]string
	// Attachments are added after the body; those with a ContentID are
	// inline parts of a multipart/related.
	Attachments []Attachment
}

// Mailbox is an address with an optional display name.
type Mailbox struct {
	// Email is the address, local@domain.
	Email string
	// Name is the display name.
	Name string
}

// Attachment is one entry of the builder's "attachments".
type Attachment struct {
	// Data is the content: base64 text when Base64 is set, else literal text.
	Data string
	// Base64 says that Data is base64 encoded.
	Base64 bool
	// ContentType is the media type; "" means application/octet-stream.
	ContentType string
	// FileName is the file name offered to the reader.
	FileName string
	// ContentID makes the attachment an inline part that HTML can refer to
	// as cid:ContentID.
	ContentID string
}

// Errors that a FieldError wraps.
var (
	// ErrRequired means that a required field is missing, null or empty.
	ErrRequired = errors.New("required")
	// ErrNotSupported means that the request sets a KumoMTA field that hookd
	// does not implement (deferred_generation, trace_headers,
	// template_dialect).
	ErrNotSupported = errors.New("not supported by hookd")
)

// FieldError is an error about one field of the request, such as
// `recipients[2].email: required`.
type FieldError struct {
	// Field is the path of the field: "envelope_sender",
	// "recipients[2].email", "content.attachments[0].data", or "request"
	// for the body as a whole.
	Field string
	// Err says what is wrong with it.
	Err error
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the problem, so that errors.Is finds ErrRequired and
// ErrNotSupported.
func (e *FieldError) Unwrap() error { return e.Err }
