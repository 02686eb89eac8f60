// Package inject reads the body of hookd's `POST /api/inject/v1` (KumoMTA's
// injection request, a subset of it, plus hookd's "meta" object) and renders
// the message that each recipient receives.
//
//	request body ──Parse──► *Request ──Render(recipient, now, id)──► RFC 5322 bytes, one per recipient
//	                          │                                   (raw content, or a MIME
//	                          └─ Meta, Substitutions, DeferredSpool  message built from the
//	                             for the engine                      builder object)
//
// A caller:
//
//  1. reads the body (with a size cap) and calls Parse; a *FieldError names
//     the offending field and becomes a 400;
//  2. for each of Request.Recipients, picks a message id (the spool id) and
//     calls Render with the current time;
//  3. hands each rendered message with its envelope (Request.EnvelopeSender,
//     the recipient) and its meta to the engine.
//
// Template substitutions are carried but not applied: the message is
// rendered from the content as given.
package inject
