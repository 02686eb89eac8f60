package engine

import (
	"context"
	"fmt"

	"github.com/hookd/hookd/internal/inject"
	"github.com/hookd/hookd/message"
)

// InjectRequest is a message to inject, in the shape of KumoMTA's POST /api/inject/v1 body (subset),
// plus hookd's Meta (tenant, campaign, queue, ...). ParseInjectRequest reads it from JSON.
type InjectRequest = inject.Request

// InjectRecipient is one recipient of an InjectRequest; each gets its own message.
type InjectRecipient = inject.Recipient

// InjectContent is the content of an InjectRequest: raw RFC 5322 text or a Builder.
type InjectContent = inject.Content

// InjectBuilder describes a message for hookd to assemble (subject, text and HTML bodies, ...).
type InjectBuilder = inject.Builder

// Mailbox is an address with an optional display name.
type Mailbox = inject.Mailbox

// Attachment is a file attached to a built message.
type Attachment = inject.Attachment

// ParseInjectRequest decodes and validates a POST /api/inject/v1 body; errors name the field.
func ParseInjectRequest(b []byte) (*InjectRequest, error) { return inject.Parse(b) }

// InjectResult is the answer to an injection, in the shape of KumoMTA's.
type InjectResult struct {
	SuccessCount     int      `json:"success_count"`
	FailCount        int      `json:"fail_count"`
	FailedRecipients []string `json:"failed_recipients"`
	Errors           []string `json:"errors"`
	IDs              []string `json:"ids,omitempty"` // hookd: the spool id of each message, in order
}

// Inject builds one message per recipient (a Reception record each), queues them by their queue
// names and returns once they are in the spool. peer names the client, for the received_from meta
// and the record's peer address ("" when unknown).
func (e *Engine) Inject(ctx context.Context, req *InjectRequest, peer string) (*InjectResult, error) {
	sys, err := e.system()
	if err != nil {
		return nil, err
	}
	if err := e.Accepting(); err != nil {
		return nil, err
	}
	sender, err := message.ParseAddress(req.EnvelopeSender)
	if err != nil {
		return nil, fmt.Errorf("envelope_sender: %w", err)
	}
	res := &InjectResult{FailedRecipients: []string{}, Errors: []string{}}
	var msgs []*message.Message
	for i, rc := range req.Recipients {
		m, err := e.buildMessage(sys.NewID(), sender, req, rc, peer)
		if err != nil {
			res.FailCount++
			res.FailedRecipients = append(res.FailedRecipients, rc.Email)
			res.Errors = append(res.Errors, fmt.Sprintf("recipients[%d]: %v", i, err))
			continue
		}
		msgs = append(msgs, m)
	}
	if err := sys.Inject(ctx, msgs, peer, req.DeferredSpool); err != nil {
		return nil, public(err)
	}
	res.SuccessCount = len(msgs)
	for _, m := range msgs {
		res.IDs = append(res.IDs, m.ID.String())
	}
	return res, nil
}

func (e *Engine) buildMessage(id message.SpoolID, sender message.Address, req *InjectRequest,
	rc InjectRecipient, peer string) (*message.Message, error) {
	rcpt, err := message.ParseAddress(rc.Email)
	if err != nil {
		return nil, err
	}
	body, err := req.Render(rc, e.cfg.Clock.Now(), id.String())
	if err != nil {
		return nil, err
	}
	meta := message.Meta{}
	for k, v := range req.Meta {
		meta[k] = v
	}
	meta.SetString("reception_protocol", "HTTP")
	if peer != "" {
		meta.SetString("received_from", peer)
	}
	if len(rc.Metadata) > 0 {
		extra, err := message.MarshalJSON(rc.Metadata) // its strings as hookd writes JSON
		if err != nil {
			return nil, err
		}
		meta["extra"] = extra
	}
	return &message.Message{ID: id, Sender: sender, Recipients: []message.Address{rcpt}, Meta: meta, Body: body}, nil
}
