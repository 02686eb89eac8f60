package persistence

import "errors"

// ErrNotV1 is MetaValue's answer for meta in the first (JSON) form, which it does not scan.
var ErrNotV1 = errors.New("meta is not in the binary form")

// MetaValue checks the structure of meta in the binary form (EncodeMeta) and returns the stored
// value of key, without decoding the message and without allocating: a session that only sends a
// message's body reads no more of its meta than this. It reads the stored members only: "log_record"
// kept as the body (every log hook's message) is not one of them. An error means DecodeMessage fails too; DecodeMessage may still
// fail where MetaValue does not (an address that does not parse).
func MetaValue(meta []byte, key string) (value []byte, found bool, err error) {
	if len(meta) == 0 || meta[0] != metaV1 {
		return nil, false, ErrNotV1
	}
	if len(meta) < 2 {
		return nil, false, errShortMeta
	}
	r := metaReader{b: meta[2:]}
	r.bytes() // the sender
	for n := r.count(); n > 0 && r.err == nil; n-- {
		r.bytes()
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		k, v := r.bytes(), r.bytes()
		if r.err == nil && !found && string(k) == key {
			value, found = v, true
		}
	}
	switch {
	case r.err != nil:
		return nil, false, r.err
	case len(r.b) != 0:
		return nil, false, errTrailingMeta
	}
	return value, found, nil
}

var errTrailingMeta = errors.New("bytes after the last member")
