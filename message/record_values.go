package message

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// valueReader decodes raw JSON values, already checked by the scanner,
// into record fields. It keeps the first error and ignores every call after
// it; nil (an absent member) and null decode to zero values.
//
// To spare the allocator, the strings of a record share one allocation, and
// so do its raw values: the string decoders gather the text of all strings
// in text and note in pieces which string each part is for, and finish
// hands the parts out. No string is set before finish runs.
type valueReader struct {
	err     error
	text    strings.Builder
	pieces  [24]textPiece
	npieces int         // pieces in use
	more    []textPiece // the pieces that did not fit
	spare   []string    // strings for optStr to point to
	raws    []byte      // the raw values kept so far
	rawRoom int         // the capacity to give raws: enough for all of them
}

type textPiece struct {
	dst        *string
	start, end int
}

// finish sets the strings decoded so far.
func (d *valueReader) finish() {
	all := d.text.String()
	for _, p := range d.pieces[:d.npieces] {
		*p.dst = all[p.start:p.end]
	}
	for _, p := range d.more {
		*p.dst = all[p.start:p.end]
	}
}

// setText arranges for *dst to be set to the text of a JSON string, given
// its body (the bytes between the quotes).
func (d *valueReader) setText(dst *string, body []byte) {
	start := d.text.Len()
	if plainString(body) {
		d.text.Write(body)
	} else {
		var buf [64]byte
		d.text.Write(appendUnquoted(buf[:0], body))
	}
	end := d.text.Len()
	switch {
	case end == start:
	case d.npieces < len(d.pieces):
		d.pieces[d.npieces] = textPiece{dst, start, end}
		d.npieces++
	default:
		d.more = append(d.more, textPiece{dst, start, end})
	}
}

// use reports whether raw is to be decoded: there was no error yet, and
// raw is present and not null.
func (d *valueReader) use(raw []byte) bool {
	return d.err == nil && len(raw) > 0 && raw[0] != 'n'
}

func (d *valueReader) str(field string, raw []byte, dst *string) {
	if !d.use(raw) {
		return
	}
	if raw[0] != '"' {
		d.err = expected(field, "string", raw)
		return
	}
	d.setText(dst, raw[1:len(raw)-1])
}

func (d *valueReader) optStr(field string, raw []byte) *string {
	if !d.use(raw) {
		return nil
	}
	if raw[0] != '"' {
		d.err = expected(field, "string", raw)
		return nil
	}
	if len(d.spare) == 0 {
		d.spare = make([]string, 5) // a record has five optional strings
	}
	p := &d.spare[0]
	d.spare = d.spare[1:]
	d.setText(p, raw[1:len(raw)-1])
	return p
}

// recordType decodes "type", sharing the constants' text when it names
// one of them.
func (d *valueReader) recordType(raw []byte) RecordType {
	if !d.use(raw) {
		return ""
	}
	if raw[0] != '"' {
		d.err = expected("type", "string", raw)
		return ""
	}
	body := raw[1 : len(raw)-1]
	for _, t := range recordTypes {
		if string(body) == string(t) {
			return t
		}
	}
	return RecordType(unquote(body))
}

func (d *valueReader) boolean(field string, raw []byte) bool {
	if !d.use(raw) {
		return false
	}
	if raw[0] != 't' && raw[0] != 'f' {
		d.err = expected(field, "boolean", raw)
	}
	return raw[0] == 't'
}

// number reports whether raw is to be decoded as a number, and sets the
// error when it is present and neither a number nor null.
func (d *valueReader) number(field string, raw []byte) bool {
	if !d.use(raw) {
		return false
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		d.err = expected(field, "number", raw)
		return false
	}
	return true
}

// uint decodes an unsigned integer that fits in bits bits.
func (d *valueReader) uint(field string, raw []byte, bits int) uint64 {
	if !d.number(field, raw) {
		return 0
	}
	n, err := strconv.ParseUint(string(raw), 10, bits)
	switch {
	case err == nil:
		return n
	case errors.Is(err, strconv.ErrRange):
		d.err = fieldErrorf(field, "%s is out of range for u%d", raw, bits)
	default:
		d.err = fieldErrorf(field, "expected an unsigned integer, got %s", raw)
	}
	return 0
}

func (d *valueReader) int(field string, raw []byte) int64 {
	if !d.number(field, raw) {
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	switch {
	case err == nil:
		return n
	case errors.Is(err, strconv.ErrRange):
		d.err = fieldErrorf(field, "%s is out of range for i64", raw)
	default:
		d.err = fieldErrorf(field, "expected an integer, got %s", raw)
	}
	return 0
}

func (d *valueReader) time(field string, raw []byte) time.Time {
	if !d.use(raw) {
		return time.Time{}
	}
	if raw[0] != '"' {
		d.err = expected(field, "string", raw)
		return time.Time{}
	}
	body := raw[1 : len(raw)-1]
	var t time.Time
	var err error
	if plainString(body) {
		t, err = time.Parse(time.RFC3339Nano, string(body))
	} else {
		t, err = time.Parse(time.RFC3339Nano, unquote(body))
	}
	if err != nil {
		d.err = fieldErrorf(field, "expected an RFC 3339 time, got %q", unquote(body))
		return time.Time{}
	}
	// RFC 3339 has four-digit years; an offset can push the UTC time out.
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		d.err = fieldErrorf(field, "time %q is outside years 0000-9999 in UTC", unquote(body))
		return time.Time{}
	}
	return t.UTC()
}

// raw keeps any JSON value except null, verbatim.
func (d *valueReader) raw(raw []byte) json.RawMessage {
	if !d.use(raw) {
		return nil
	}
	return d.keep(raw)
}

// keep returns a copy of val.
func (d *valueReader) keep(val []byte) json.RawMessage {
	if d.raws == nil {
		d.raws = make([]byte, 0, max(d.rawRoom, len(val)))
	}
	start := len(d.raws)
	d.raws = append(d.raws, val...)
	return d.raws[start:len(d.raws):len(d.raws)]
}

// object reports whether raw is to be decoded as an object, and sets the
// error when it is present and neither an object nor null.
func (d *valueReader) object(field string, raw []byte) bool {
	if !d.use(raw) {
		return false
	}
	if raw[0] != '{' {
		d.err = expected(field, "object", raw)
		return false
	}
	return true
}

// rawMap decodes an object into its members' raw values.
func (d *valueReader) rawMap(field string, raw []byte) map[string]json.RawMessage {
	if !d.object(field, raw) {
		return nil
	}
	m := make(map[string]json.RawMessage)
	it := members(raw)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		m[unquote(key)] = d.keep(val)
	}
	return m
}

func (d *valueReader) strList(field string, raw []byte) []string {
	if !d.use(raw) {
		return nil
	}
	if raw[0] != '[' {
		d.err = expected(field, "array", raw)
		return nil
	}
	return d.strings(field, raw)
}

// strings decodes an array of strings; an element of any other kind,
// null included, is an error.
func (d *valueReader) strings(field string, arr []byte) []string {
	n := 0
	elements(arr, func(i int, elem []byte) bool {
		if elem[0] != '"' {
			d.err = expected(fmt.Sprintf("%s[%d]", field, i), "string", elem)
			return false
		}
		n++
		return true
	})
	if d.err != nil {
		return nil
	}
	out := make([]string, n)
	elements(arr, func(i int, elem []byte) bool {
		d.setText(&out[i], elem[1:len(elem)-1])
		return true
	})
	return out
}

func (d *valueReader) recipients(field string, raw []byte) Recipients {
	if !d.use(raw) {
		return nil
	}
	switch raw[0] {
	case '"':
		list := make(Recipients, 1)
		d.setText(&list[0], raw[1:len(raw)-1])
		return list
	case '[':
		return Recipients(d.strings(field, raw))
	}
	d.err = expected(field, "string or array", raw)
	return nil
}

func (d *valueReader) response(raw []byte, res *Response) {
	if !d.object("response", raw) {
		return
	}
	var v [4][]byte
	it := members(raw)
	split(&it, responseFields, v[:])
	res.Code = uint16(d.uint("response.code", v[0], 16))
	if d.object("response.enhanced_code", v[1]) {
		var e [3][]byte
		it := members(v[1])
		split(&it, enhancedFields, e[:])
		code := EnhancedCode{
			Class:   uint8(d.uint("response.enhanced_code.class", e[0], 8)),
			Subject: uint16(d.uint("response.enhanced_code.subject", e[1], 16)),
			Detail:  uint16(d.uint("response.enhanced_code.detail", e[2], 16)),
		}
		if d.err == nil {
			res.Enhanced = &code
		}
	}
	d.str("response.content", v[2], &res.Content)
	res.Command = d.optStr("response.command", v[3])
}

func (d *valueReader) peer(raw []byte) *PeerAddress {
	if !d.object("peer_address", raw) {
		return nil
	}
	var v [3][]byte
	it := members(raw)
	split(&it, peerFields, v[:])
	p := new(PeerAddress)
	d.str("peer_address.name", v[0], &p.Name)
	d.str("peer_address.addr", v[1], &p.Addr)
	p.IsSecure = d.boolean("peer_address.is_secure", v[2])
	if d.err != nil {
		return nil
	}
	return p
}
