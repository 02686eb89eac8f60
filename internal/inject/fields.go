package inject

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/hookd/hookd/internal/jsonbody"
)

// object is a decoded JSON object and its path in the request, for error
// messages.
type object struct {
	path string
	m    map[string]json.RawMessage
}

// name returns the path of a member.
func (o object) name(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// sub returns an empty object standing at the path of member key.
func (o object) sub(key string) object { return object{path: o.name(key)} }

// get returns a member that is present and not null.
func (o object) get(key string) (json.RawMessage, bool) {
	raw, ok := o.m[key]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// str returns a string member; absent is "".
func (o object) str(key string) (string, error) {
	raw, ok := o.get(key)
	if !ok {
		return "", nil
	}
	return o.stringValue(key, raw)
}

// stringValue decodes raw, the member key, as a string.
func (o object) stringValue(key string, raw json.RawMessage) (string, error) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", &FieldError{Field: o.name(key), Err: fmt.Errorf("expected a string, got %s", jsonbody.Kind(raw))}
	}
	return s, nil
}

// requiredString returns a string member that must be present.
func (o object) requiredString(key string) (string, error) {
	if _, ok := o.get(key); !ok {
		return "", &FieldError{Field: o.name(key), Err: ErrRequired}
	}
	return o.str(key)
}

// requiredAddress returns a member that must be a local@domain address.
func (o object) requiredAddress(key string) (string, error) {
	s, err := o.requiredString(key)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", &FieldError{Field: o.name(key), Err: ErrRequired}
	}
	if err := checkAddress(s); err != nil {
		return "", &FieldError{Field: o.name(key), Err: err}
	}
	return s, nil
}

// boolean returns a boolean member; absent is false.
func (o object) boolean(key string) (bool, error) {
	raw, ok := o.get(key)
	if !ok {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, &FieldError{Field: o.name(key), Err: fmt.Errorf("expected a boolean, got %s", jsonbody.Kind(raw))}
	}
	return b, nil
}

// rawObject returns an object member with its values as raw JSON; absent
// is nil.
func (o object) rawObject(key string) (map[string]json.RawMessage, error) {
	raw, ok := o.get(key)
	if !ok {
		return nil, nil
	}
	sub, err := decodeObject(o.name(key), raw)
	return sub.m, err
}

// array returns an array member's elements; absent is nil, an empty array
// an empty non-nil slice.
func (o object) array(key string) ([]json.RawMessage, error) {
	raw, ok := o.get(key)
	if !ok {
		return nil, nil
	}
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, &FieldError{Field: o.name(key), Err: fmt.Errorf("expected an array, got %s", jsonbody.Kind(raw))}
	}
	if elems == nil {
		elems = []json.RawMessage{}
	}
	return elems, nil
}

// elementObject decodes element i of the array member key as an object.
func (o object) elementObject(key string, i int, raw json.RawMessage) (object, error) {
	return decodeObject(o.name(key)+"["+strconv.Itoa(i)+"]", raw)
}

// mailbox reads an {email, name} member; absent is nil.
func (o object) mailbox(key string) (*Mailbox, error) {
	raw, ok := o.get(key)
	if !ok {
		return nil, nil
	}
	m, err := decodeObject(o.name(key), raw)
	if err != nil {
		return nil, err
	}
	var mb Mailbox
	if mb.Email, err = m.requiredAddress("email"); err != nil {
		return nil, err
	}
	if mb.Name, err = m.str("name"); err != nil {
		return nil, err
	}
	return &mb, nil
}

// decodeObject decodes raw as a JSON object found at path.
func decodeObject(path string, raw json.RawMessage) (object, error) {
	o := object{path: path}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &o.m) != nil {
		return o, &FieldError{Field: path, Err: fmt.Errorf("expected an object, got %s", jsonbody.Kind(raw))}
	}
	return o, nil
}

// describeJSONError rewords a syntax error in the body.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("invalid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// generatedByBody are header fields that only the body structure may set.
var generatedByBody = []string{"Content-Type", "Content-Transfer-Encoding", "MIME-Version"}

// checkHeaderName accepts an RFC 5322 field name that hookd does not
// reserve for the body structure.
func checkHeaderName(name string) error {
	if name == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < '!' || c > '~' || c == ':' {
			return fmt.Errorf("%q is not a valid header name", name)
		}
	}
	for _, reserved := range generatedByBody {
		if strings.EqualFold(name, reserved) {
			return fmt.Errorf("%q is set by hookd from the body parts", name)
		}
	}
	return nil
}

// checkHeaderValue refuses line breaks and control characters, which would
// end the header early or corrupt it.
func checkHeaderValue(v string) error {
	for _, r := range v {
		if r == '\r' || r == '\n' {
			return errors.New("must not contain line breaks")
		}
		if r < ' ' && r != '\t' || r == 0x7f {
			return fmt.Errorf("must not contain the control character %q", r)
		}
	}
	return nil
}

// maxParamLen bounds the attachment values that end up as header
// parameters, so that their header lines stay well under 998 bytes.
const maxParamLen = 255

// checkLength refuses attachment values longer than maxParamLen.
func checkLength(v string) error {
	if len(v) > maxParamLen {
		return fmt.Errorf("longer than %d bytes", maxParamLen)
	}
	return nil
}

// checkFileName accepts a file name without control characters.
func checkFileName(name string) error {
	if err := checkLength(name); err != nil {
		return err
	}
	return checkHeaderValue(name)
}

// checkMediaType accepts a media type such as "image/png" or
// "text/plain; charset=utf-8"; multipart types are refused since an
// attachment is encoded as one opaque part.
func checkMediaType(ct string) error {
	if err := checkLength(ct); err != nil {
		return err
	}
	if err := checkHeaderValue(ct); err != nil {
		return err
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%q is not a media type: %w", ct, err)
	}
	major, minor, ok := strings.Cut(mediaType, "/")
	if !ok || major == "" || minor == "" {
		return fmt.Errorf("%q is not a media type of the form type/subtype", ct)
	}
	if major == "multipart" {
		return fmt.Errorf("%q: multipart attachments are not supported", ct)
	}
	return nil
}

// checkContentID accepts a Content-ID with or without its angle brackets.
func checkContentID(cid string) error {
	if err := checkLength(cid); err != nil {
		return err
	}
	bare := trimAngles(cid)
	if bare == "" {
		return errors.New("empty content id")
	}
	for _, r := range bare {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return fmt.Errorf("character %q in content id %q", r, cid)
		}
	}
	return nil
}

// trimAngles removes one pair of surrounding angle brackets.
func trimAngles(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// decodeBase64 decodes attachment data, ignoring line breaks and other
// ASCII whitespace and accepting missing padding.
func decodeBase64(data string) ([]byte, error) {
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, data)
	enc := base64.StdEncoding
	if len(compact)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out, err := enc.DecodeString(compact)
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return nil, fmt.Errorf("invalid base64 at byte %d (whitespace removed)", int64(corrupt))
		}
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return out, nil
}
