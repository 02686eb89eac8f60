// Package jsonbody splits request bodies that carry JSON records: one object, an array of objects,
// or NDJSON. The HTTP API and the test receiver share it, so both accept and refuse the same bodies.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// ErrEmptyBody is returned for a body that holds no JSON value at all.
var ErrEmptyBody = errors.New("no records: the request body is empty")

// RecordError says which record of a request body is malformed.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d: %v", e.Index, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ndjsonTypes are the Content-Type values that announce one JSON object per
// line.
var ndjsonTypes = map[string]bool{
	"application/x-ndjson":    true,
	"application/ndjson":      true,
	"application/jsonl":       true,
	"application/jsonlines":   true,
	"application/x-jsonlines": true,
}

// IsNDJSON reports whether a Content-Type header value announces NDJSON.
func IsNDJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType, _, _ = strings.Cut(contentType, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	}
	return ndjsonTypes[mediaType]
}

// Split splits a request body into its records, each a JSON object.
//
// The body is one object, an array of objects, or a stream of objects
// (NDJSON: one per line, though any whitespace between them is accepted).
// When ndjson is true (the Content-Type said so), every top-level value must
// be an object and a top-level array is an error. The error of a malformed
// body is a *RecordError naming the index of the first bad record.
func Split(body []byte, ndjson bool) ([]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, ErrEmptyBody
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
			return nil, &RecordError{Index: i, Err: DescribeError(err)}
		}
		if err := wantObject(raw); err != nil {
			return nil, &RecordError{Index: i, Err: err}
		}
		out = append(out, raw)
	}
}

// splitArray reads one top-level array of objects and nothing after it.
func splitArray(body []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening bracket
		return nil, &RecordError{Index: 0, Err: DescribeError(err)}
	}
	var out []json.RawMessage
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &RecordError{Index: i, Err: DescribeError(err)}
		}
		if err := wantObject(raw); err != nil {
			return nil, &RecordError{Index: i, Err: err}
		}
		out = append(out, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, &RecordError{Index: len(out), Err: DescribeError(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &RecordError{
			Index: len(out),
			Err:   fmt.Errorf("unexpected data after the array at byte %d", dec.InputOffset()),
		}
	}
	return out, nil
}

// wantObject checks that a well-formed JSON value is an object.
func wantObject(raw json.RawMessage) error {
	if len(raw) > 0 && raw[0] == '{' {
		return nil
	}
	return fmt.Errorf("expected a JSON object, got %s", Kind(raw))
}

// Kind names the kind of a well-formed JSON value.
func Kind(raw json.RawMessage) string {
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

// DescribeError rewords decoder errors for a person reading a 400.
func DescribeError(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("malformed JSON: unexpected end of input")
	default:
		return err
	}
}
