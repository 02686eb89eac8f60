package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/message"
)

// BounceRequest is a validated POST /api/admin/bounce/v1 body.
type BounceRequest struct {
	Criteria Criteria
	Reason   string
	// Expires is the request's expiry resolved against the time given to
	// the parser: "expires" when present, else now + "duration", else
	// now + DefaultDuration. It is always in UTC.
	Expires         time.Time
	SuppressLogging bool
}

// SuspendRequest is a validated POST /api/admin/suspend/v1 body. Its
// Criteria never has a RoutingDomain.
type SuspendRequest struct {
	Criteria Criteria
	Reason   string
	Expires  time.Time // resolved as in BounceRequest
}

// RequestError says which field of a request body was refused, and why.
type RequestError struct {
	Field  string // the JSON field name; "" for the body as a whole
	Reason string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return "request body: " + e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Field sets of the request bodies, as KumoMTA names them.
var (
	bounceFields = []string{"campaign", "tenant", "domain", "routing_domain", "queue_names", "reason",
		"duration", "expires", "suppress_logging"}
	suspendFields = []string{"campaign", "tenant", "domain", "queue_names", "reason", "duration", "expires"}
	cancelFields  = []string{"id"}
)

// ParseBounceRequest validates a bounce request body:
//
//	{"campaign"?, "tenant"?, "domain"?, "routing_domain"?: string|null,
//	 "queue_names"?: [string], "reason": string,
//	 "duration"?: humantime string ("5m", "1h 30m") or seconds (number),
//	 "expires"?: RFC 3339 time, "suppress_logging"?: bool}
//
// null is the same as leaving a field out. "expires" takes precedence over
// "duration" (both are checked). Unknown and repeated fields are errors, as
// is anything after the object. Unlike KumoMTA, which would register an
// entry that never applies, a zero duration and an expiry not after now
// are refused.
func ParseBounceRequest(b []byte, now time.Time) (BounceRequest, error) {
	f, err := readObject(b, bounceFields, nil)
	if err != nil {
		return BounceRequest{}, err
	}
	var req BounceRequest
	if req.Criteria, err = f.criteria(true); err != nil {
		return BounceRequest{}, err
	}
	if req.Reason, err = f.reason(); err != nil {
		return BounceRequest{}, err
	}
	if req.Expires, err = f.expiry(now); err != nil {
		return BounceRequest{}, err
	}
	if req.SuppressLogging, err = f.boolean("suppress_logging"); err != nil {
		return BounceRequest{}, err
	}
	return req, nil
}

// ParseSuspendRequest validates a suspend request body: the fields of a
// bounce request except routing_domain and suppress_logging, which
// KumoMTA's suspend API does not have (it would silently ignore a
// routing_domain, suspending far more than asked; here it is an error).
func ParseSuspendRequest(b []byte, now time.Time) (SuspendRequest, error) {
	f, err := readObject(b, suspendFields, map[string]string{
		"routing_domain":   "not supported by the suspend API; use queue_names to pick queues by their full name",
		"suppress_logging": "only bounce requests have it",
	})
	if err != nil {
		return SuspendRequest{}, err
	}
	var req SuspendRequest
	if req.Criteria, err = f.criteria(false); err != nil {
		return SuspendRequest{}, err
	}
	if req.Reason, err = f.reason(); err != nil {
		return SuspendRequest{}, err
	}
	if req.Expires, err = f.expiry(now); err != nil {
		return SuspendRequest{}, err
	}
	return req, nil
}

// ParseCancelRequest validates a DELETE body, {"id": "<uuid>"}, and returns
// the id in the hyphenated lowercase form; any UUID spelling is accepted.
func ParseCancelRequest(b []byte) (string, error) {
	f, err := readObject(b, cancelFields, nil)
	if err != nil {
		return "", err
	}
	id, err := f.requiredString("id")
	if err != nil {
		return "", err
	}
	u, perr := message.ParseSpoolID(id)
	if perr != nil {
		return "", &RequestError{"id", fmt.Sprintf("%q is not a UUID", id)}
	}
	return u.Hyphenated(), nil
}

// fields holds the raw values of a request object by name.
type fields map[string]json.RawMessage

// readObject splits a JSON object into its fields, refusing anything
// that is not exactly one object with known, distinct keys.
func readObject(b []byte, allowed []string, refused map[string]string) (fields, error) {
	bodyErr := func(format string, args ...any) error {
		return &RequestError{Reason: fmt.Sprintf(format, args...)}
	}
	malformed := func(err error) error {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return bodyErr("malformed JSON: unexpected end of input")
		}
		return bodyErr("malformed JSON: %v", err)
	}
	if !utf8.Valid(b) {
		return nil, bodyErr("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, bodyErr("empty; expected a JSON object")
	}
	if err != nil {
		return nil, malformed(err)
	}
	if tok != json.Delim('{') {
		return nil, bodyErr("expected a JSON object")
	}
	f := make(fields)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, bodyErr("malformed JSON: expected a field name")
		}
		if why, ok := refused[key]; ok {
			return nil, &RequestError{key, why}
		}
		if !contains(allowed, key) {
			return nil, &RequestError{key, "unknown field; expected " + strings.Join(allowed, ", ")}
		}
		if _, dup := f[key]; dup {
			return nil, &RequestError{key, "given more than once"}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		f[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bodyErr("unexpected data after the JSON object")
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// get returns the raw value of name, or nil when it is absent or null.
func (f fields) get(name string) json.RawMessage {
	raw := f[name]
	if raw == nil || string(raw) == "null" {
		return nil
	}
	return raw
}

func (f fields) optString(name string) (*string, error) {
	raw := f.get(name)
	if raw == nil {
		return nil, nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, &RequestError{name, "expected a string or null"}
	}
	return &s, nil
}

func (f fields) requiredString(name string) (string, error) {
	if _, ok := f[name]; !ok {
		return "", &RequestError{name, "missing (required)"}
	}
	s, err := f.optString(name)
	if err != nil || s == nil {
		return "", &RequestError{name, "expected a string"}
	}
	return *s, nil
}

// reason reads the required reason. KumoMTA accepts an empty one.
func (f fields) reason() (string, error) { return f.requiredString("reason") }

func (f fields) boolean(name string) (bool, error) {
	raw := f.get(name)
	if raw == nil {
		return false, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, &RequestError{name, "expected true, false or null"}
	}
	return v, nil
}

func (f fields) criteria(routing bool) (Criteria, error) {
	var c Criteria
	var err error
	if c.Campaign, err = f.optString("campaign"); err != nil {
		return Criteria{}, err
	}
	if c.Tenant, err = f.optString("tenant"); err != nil {
		return Criteria{}, err
	}
	if c.Domain, err = f.optString("domain"); err != nil {
		return Criteria{}, err
	}
	if routing {
		if c.RoutingDomain, err = f.optString("routing_domain"); err != nil {
			return Criteria{}, err
		}
	}
	if c.QueueNames, err = f.queueNames(); err != nil {
		return Criteria{}, err
	}
	return c, nil
}

// queueNames reads queue_names; an empty list is the same as none.
func (f fields) queueNames() ([]string, error) {
	raw := f.get("queue_names")
	if raw == nil {
		return nil, nil
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, &RequestError{"queue_names", "expected an array of queue names"}
	}
	var names []string
	for i, item := range items {
		var name string
		if item[0] != '"' || json.Unmarshal(item, &name) != nil {
			return nil, &RequestError{fmt.Sprintf("queue_names[%d]", i), "expected a string"}
		}
		names = append(names, name)
	}
	return names, nil
}

// expiry resolves "expires" and "duration" against now.
func (f fields) expiry(now time.Time) (time.Time, error) {
	d, hasDuration, err := f.duration()
	if err != nil {
		return time.Time{}, err
	}
	raw := f.get("expires")
	if raw == nil {
		if !hasDuration {
			d = DefaultDuration
		}
		return now.Add(d).UTC(), nil
	}
	const example = "2025-01-02T15:04:05Z"
	var text string
	if raw[0] != '"' || json.Unmarshal(raw, &text) != nil {
		return time.Time{}, &RequestError{"expires", "expected an RFC 3339 time such as " + strconv.Quote(example)}
	}
	t, perr := time.Parse(time.RFC3339, text)
	if perr != nil {
		return time.Time{}, &RequestError{"expires",
			fmt.Sprintf("%q is not an RFC 3339 time such as %q", text, example)}
	}
	t = t.UTC()
	if !t.After(now) {
		return time.Time{}, &RequestError{"expires", fmt.Sprintf("%s is not in the future", text)}
	}
	if t.Year() > 9999 {
		return time.Time{}, &RequestError{"expires", fmt.Sprintf("%s is after the year 9999", text)}
	}
	return t, nil
}

// duration reads "duration": humantime text, or a number of seconds
// (integer or fraction), as KumoMTA's duration_serde does.
func (f fields) duration() (time.Duration, bool, error) {
	raw := f.get("duration")
	if raw == nil {
		return 0, false, nil
	}
	fail := func(reason string) (time.Duration, bool, error) {
		return 0, false, &RequestError{"duration", reason}
	}
	var d time.Duration
	switch c := raw[0]; {
	case c == '"':
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return fail("expected a duration such as \"5m\" or a number of seconds")
		}
		parsed, err := message.ParseDuration(text)
		if err != nil {
			return fail(err.Error())
		}
		d = parsed
	case c == '-' || '0' <= c && c <= '9':
		secs, err := strconv.ParseFloat(string(raw), 64)
		if err != nil && !math.IsInf(secs, 0) || math.IsNaN(secs) {
			return fail(fmt.Sprintf("%s is not a number of seconds", raw))
		}
		if secs < 0 {
			return fail("must not be negative")
		}
		// float64(math.MaxInt64) is 2^63, so anything below it converts safely.
		ns := math.Round(secs * float64(time.Second))
		if ns >= float64(math.MaxInt64) {
			return fail(fmt.Sprintf("%s seconds is too long (at most %s)", raw, message.FormatDuration(math.MaxInt64)))
		}
		d = time.Duration(ns)
	default:
		return fail("expected a duration such as \"5m\" or a number of seconds")
	}
	if d == 0 {
		return fail("must be greater than 0")
	}
	return d, true, nil
}
