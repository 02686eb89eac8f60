package message

import (
	"encoding/json"
	"fmt"
	"time"
)

// RecordType names the kind of event a LogRecord describes. Its string form
// is the value of the record's "type" field.
type RecordType string

// The record types KumoMTA produces, in the order of its RecordType enum,
// plus AnyRecord, which appears only in configuration (for example a
// per-record template keyed by "Any") and never in a record.
const (
	Reception               RecordType = "Reception"
	Delivery                RecordType = "Delivery"
	Bounce                  RecordType = "Bounce"
	TransientFailure        RecordType = "TransientFailure"
	Expiration              RecordType = "Expiration"
	AdminBounce             RecordType = "AdminBounce"
	OOB                     RecordType = "OOB"
	Feedback                RecordType = "Feedback"
	Rejection               RecordType = "Rejection"
	AdminRebind             RecordType = "AdminRebind"
	DeferredInjectionRebind RecordType = "DeferredInjectionRebind"
	Delayed                 RecordType = "Delayed"
	XferOut                 RecordType = "XferOut"
	XferIn                  RecordType = "XferIn"
	AnyRecord               RecordType = "Any"
)

var recordTypes = [...]RecordType{
	Reception, Delivery, Bounce, TransientFailure, Expiration, AdminBounce,
	OOB, Feedback, Rejection, AdminRebind, DeferredInjectionRebind, Delayed,
	XferOut, XferIn,
}

// RecordTypes returns the 14 record types a LogRecord can carry, in
// KumoMTA's declaration order. AnyRecord is not among them. The caller owns
// the returned slice.
func RecordTypes() []RecordType {
	out := make([]RecordType, len(recordTypes))
	copy(out, recordTypes[:])
	return out
}

// ParseRecordType returns the record type spelled exactly s (the match is
// case-sensitive). "Any" is rejected: it is a configuration keyword, not a
// record type.
func ParseRecordType(s string) (RecordType, error) {
	for _, t := range recordTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown record type %q", s)
}

// Valid reports whether t is one of the 14 record types (AnyRecord is not).
func (t RecordType) Valid() bool {
	_, err := ParseRecordType(string(t))
	return err == nil
}

// EnhancedCode is an RFC 3463 enhanced status code such as 5.1.1.
type EnhancedCode struct {
	Class   uint8
	Subject uint16
	Detail  uint16
}

// String formats the code as "class.subject.detail".
func (e EnhancedCode) String() string {
	return fmt.Sprintf("%d.%d.%d", e.Class, e.Subject, e.Detail)
}

// Response is the SMTP-style outcome carried by a record: a status code, an
// optional enhanced code, free text and, for SMTP, the command that drew the
// response.
type Response struct {
	Code     uint16
	Enhanced *EnhancedCode // JSON "enhanced_code"; null when nil
	Content  string        // line breaks become single spaces when encoded
	Command  *string       // null when nil
}

// PeerAddress identifies the remote end of a delivery or reception. Addr is
// an IP address, an IP:port pair or a unix socket path.
type PeerAddress struct {
	Name     string
	Addr     string
	IsSecure bool // encoded as "is_secure": true only when set
}

// Recipients is the envelope recipient list of a record. In JSON a list of
// exactly one is a bare string, any other length is an array; both forms
// decode.
type Recipients []string

// LogRecord is KumoMTA's JSON log record (JsonLogRecord). Encode it with
// AppendJSON or MarshalJSON, which write the fields in KumoMTA's order, and
// decode it with DecodeRecord (strict about "type") or UnmarshalJSON
// (tolerant).
type LogRecord struct {
	Type      RecordType
	ID        string // spool id, 32 lowercase hex; "" for Rejection
	Sender    string // "" is the null sender
	Recipient Recipients
	Queue     string
	Site      string
	Size      uint64

	Response    Response
	PeerAddress *PeerAddress // null when nil

	Timestamp int64     // JSON "timestamp": unix seconds of the event
	EventTime time.Time // JSON "event_time"

	Created     int64     // JSON "created": unix seconds of message creation
	CreatedTime time.Time // JSON "created_time"

	NumAttempts          uint16
	BounceClassification string

	EgressPool   *string // null when nil
	EgressSource *string // null when nil

	SourceAddress  json.RawMessage // null when empty
	FeedbackReport json.RawMessage // null when empty

	Meta    map[string]json.RawMessage // always an object; keys sorted
	Headers map[string]json.RawMessage // always an object; keys sorted

	DeliveryProtocol  *string // null when nil
	ReceptionProtocol *string // null when nil

	NodeID string // JSON "nodeid"

	// The remaining fields are left out of the JSON when empty.
	TLSCipher          string
	TLSProtocolVersion string
	TLSPeerSubjectName []string
	ProviderName       string
	SessionID          string
}

// FieldError reports a record field whose JSON value could not be used.
// Field is a dotted path such as "response.code" or "recipient[1]".
type FieldError struct {
	Field   string
	Problem string
}

// Error implements error as `field "<Field>": <Problem>`.
func (e *FieldError) Error() string {
	return fmt.Sprintf("field %q: %s", e.Field, e.Problem)
}

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
