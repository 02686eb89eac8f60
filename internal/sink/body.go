package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// errEmptyBody is returned for a body that holds no JSON value at all.
var errEmptyBody = errors.New("request body is empty")

// recordError says which record of a request body is malformed.
type recordError struct {
	index int
	err   error
}

func (e *recordError) Error() string {
	return fmt.Sprintf("record %d: %v", e.index, e.err)
}

func (e *recordError) Unwrap() error { return e.err }

// ndjsonTypes are the Content-Type values that announce one JSON object per
// line.
var ndjsonTypes = map[string]bool{
	"application/x-ndjson": true,
	"application/ndjson":   true,
}

// isNDJSON reports whether a Content-Type header value announces NDJSON.
func isNDJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType, _, _ = strings.Cut(contentType, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	}
	return ndjsonTypes[mediaType]
}

// splitRecords splits a request body into its records, each a JSON object.
//
// The body is one object, an array of objects, or a stream of objects
// (NDJSON: one per line, though any whitespace between them is accepted).
// When ndjson is true (the Content-Type said so), every top-level value must
// be an object and a top-level array is an error. The error of a malformed
// body is a *recordError naming the index of the first bad record.
func splitRecords(body []byte, ndjson bool) ([]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errEmptyBody
	}
	if trimmed[0] == '[' && !ndjson {
		return splitArray(body)
	}
	return splitStream(body)
}

// splitStream reads a sequence of top-level objects.
func splitStream(body []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var out []json.RawMessage
	for i := 0; ; i++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, &recordError{index: i, err: describeJSONError(err)}
		}
		if err := wantObject(raw); err != nil {
			return nil, &recordError{index: i, err: err}
		}
		out = append(out, raw)
	}
}

// splitArray reads one top-level array of objects and nothing after it.
func splitArray(body []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening bracket
		return nil, &recordError{index: 0, err: describeJSONError(err)}
	}
	var out []json.RawMessage
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &recordError{index: i, err: describeJSONError(err)}
		}
		if err := wantObject(raw); err != nil {
			return nil, &recordError{index: i, err: err}
		}
		out = append(out, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, &recordError{index: len(out), err: describeJSONError(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &recordError{
			index: len(out),
			err:   fmt.Errorf("unexpected data after the array at byte %d", dec.InputOffset()),
		}
	}
	return out, nil
}

// wantObject checks that a well-formed JSON value is an object.
func wantObject(raw json.RawMessage) error {
	if len(raw) > 0 && raw[0] == '{' {
		return nil
	}
	return fmt.Errorf("expected a JSON object, got %s", jsonKind(raw))
}

// jsonKind names the kind of a well-formed JSON value.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// describeJSONError rewords decoder errors for a person reading a 400.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("unexpected end of input")
	default:
		return err
	}
}
