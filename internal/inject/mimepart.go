package inject

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strconv"
)

// entity is a MIME entity: its Content-* header fields and its encoded body.
type entity struct {
	header textproto.MIMEHeader
	body   []byte
}

// mediaType returns the entity's media type without parameters.
func (e entity) mediaType() string {
	mt, _, _ := mime.ParseMediaType(e.header.Get("Content-Type"))
	return mt
}

// body assembles the builder's parts into one entity; seed (the message
// id) makes the boundaries deterministic.
func (b *Builder) body(seed string) (entity, error) {
	var alternatives []entity
	if b.TextBody != "" {
		alternatives = append(alternatives, textEntity("text/plain", b.TextBody))
	}
	if b.AMPHTMLBody != "" {
		alternatives = append(alternatives, textEntity("text/x-amp-html", b.AMPHTMLBody))
	}
	if b.HTMLBody != "" {
		alternatives = append(alternatives, textEntity("text/html", b.HTMLBody))
	}
	var root entity
	var err error
	switch len(alternatives) {
	case 0:
		return entity{}, &FieldError{Field: "content", Err: errors.New("text_body or html_body is required")}
	case 1:
		root = alternatives[0]
	default:
		if root, err = multipartEntity("alternative", nil, alternatives, seed); err != nil {
			return entity{}, err
		}
	}

	var inline, attached []entity
	for i, a := range b.Attachments {
		e, err := attachmentEntity(a)
		if err != nil {
			return entity{}, &FieldError{Field: "content.attachments[" + strconv.Itoa(i) + "]", Err: err}
		}
		if a.ContentID != "" {
			inline = append(inline, e)
		} else {
			attached = append(attached, e)
		}
	}
	if len(inline) > 0 {
		params := map[string]string{"type": root.mediaType()}
		if root, err = multipartEntity("related", params, append([]entity{root}, inline...), seed); err != nil {
			return entity{}, err
		}
	}
	if len(attached) > 0 {
		if root, err = multipartEntity("mixed", nil, append([]entity{root}, attached...), seed); err != nil {
			return entity{}, err
		}
	}
	return root, nil
}

// textEntity is a UTF-8 text part, quoted-printable encoded, whose line
// breaks are all CRLF.
func textEntity(mediaType, text string) entity {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	_, _ = w.Write(normalizeText(text)) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", mime.FormatMediaType(mediaType, map[string]string{"charset": "utf-8"}))
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return entity{header: h, body: buf.Bytes()}
}

// attachmentEntity is a base64-encoded attachment, inline when it has a
// content id.
func attachmentEntity(a Attachment) (entity, error) {
	data := []byte(a.Data)
	if a.Base64 {
		var err error
		if data, err = decodeBase64(a.Data); err != nil {
			return entity{}, err
		}
	}
	contentType := a.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if err := checkMediaType(contentType); err != nil {
		return entity{}, err
	}
	mediaType, params, _ := mime.ParseMediaType(contentType)
	disposition := "attachment"
	dispParams := map[string]string{}
	if a.FileName != "" {
		if err := checkFileName(a.FileName); err != nil {
			return entity{}, fmt.Errorf("file_name: %w", err)
		}
		dispParams["filename"] = a.FileName
		if _, ok := params["name"]; !ok {
			params["name"] = a.FileName
		}
	}
	h := textproto.MIMEHeader{}
	if a.ContentID != "" {
		if err := checkContentID(a.ContentID); err != nil {
			return entity{}, err
		}
		disposition = "inline"
		h["Content-ID"] = []string{"<" + trimAngles(a.ContentID) + ">"} // spelled as in RFC 2045
	}
	h.Set("Content-Type", mime.FormatMediaType(mediaType, params))
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, dispParams))
	h.Set("Content-Transfer-Encoding", "base64")
	return entity{header: h, body: base64Lines(data)}, nil
}

// base64Lines encodes data as base64 in lines of 76 characters, each
// ending with CRLF.
func base64Lines(data []byte) []byte {
	const lineLen = 76
	enc := base64.StdEncoding.EncodeToString(data)
	out := make([]byte, 0, len(enc)+len(enc)/lineLen*2+2)
	for len(enc) > lineLen {
		out = append(out, enc[:lineLen]...)
		out = append(out, '\r', '\n')
		enc = enc[lineLen:]
	}
	if enc != "" {
		out = append(out, enc...)
		out = append(out, '\r', '\n')
	}
	return out
}

// maxBoundaryTries bounds the search for a boundary absent from the parts.
const maxBoundaryTries = 16

// multipartEntity wraps parts in a multipart/<subtype>. The boundary is
// derived from seed and subtype, and re-derived in the unlikely case that
// a part contains it.
func multipartEntity(subtype string, params map[string]string, parts []entity, seed string) (entity, error) {
	boundary, err := pickBoundary(subtype, parts, seed)
	if err != nil {
		return entity{}, err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		return entity{}, fmt.Errorf("multipart/%s boundary: %w", subtype, err)
	}
	for _, p := range parts {
		folded := make(textproto.MIMEHeader, len(p.header))
		for name, values := range p.header {
			folded[name] = []string{foldValue(name, values[0])}
		}
		w, err := mw.CreatePart(folded)
		if err != nil {
			return entity{}, fmt.Errorf("multipart/%s: %w", subtype, err)
		}
		if _, err := w.Write(p.body); err != nil {
			return entity{}, fmt.Errorf("multipart/%s: %w", subtype, err)
		}
	}
	if err := mw.Close(); err != nil {
		return entity{}, fmt.Errorf("multipart/%s: %w", subtype, err)
	}
	all := map[string]string{"boundary": boundary}
	for k, v := range params {
		all[k] = v
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", mime.FormatMediaType("multipart/"+subtype, all))
	return entity{header: h, body: buf.Bytes()}, nil
}

// pickBoundary derives a boundary such as "=_hookd_alternative_<hash>"
// from seed. "=_" cannot occur in quoted-printable text nor "_" in base64,
// so only a header or a nested part could contain it; those are checked.
func pickBoundary(subtype string, parts []entity, seed string) (string, error) {
	for try := range maxBoundaryTries {
		sum := sha256.Sum256([]byte(seed + "\x00" + subtype + "\x00" + strconv.Itoa(try)))
		boundary := "=_hookd_" + subtype + "_" + hex.EncodeToString(sum[:12])
		if !partsContain(parts, "--"+boundary) {
			return boundary, nil
		}
	}
	return "", fmt.Errorf("multipart/%s: no boundary absent from the parts after %d tries", subtype, maxBoundaryTries)
}

// partsContain reports whether s occurs in any part's header or body.
func partsContain(parts []entity, s string) bool {
	for _, p := range parts {
		if bytes.Contains(p.body, []byte(s)) {
			return true
		}
		for _, values := range p.header {
			for _, v := range values {
				if bytes.Contains([]byte(v), []byte(s)) {
					return true
				}
			}
		}
	}
	return false
}
