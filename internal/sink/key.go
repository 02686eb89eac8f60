package sink

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// digest is the fixed-size form of a dedup key that the seen-set stores.
// 16 bytes of SHA-256 make an accidental collision negligible (about 2^-64
// even after billions of records) while keeping the set small.
type digest [16]byte

// keyFields are the fields of a log record that identify it.
type keyFields struct {
	Type      json.RawMessage `json:"type"`
	ID        json.RawMessage `json:"id"`
	EventTime json.RawMessage `json:"event_time"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// recordKey returns the dedup key of one record and its "type" field.
//
// A log record's id is the spool id of the MESSAGE it is about, so the
// Reception and the Delivery of one message share it, as do the
// TransientFailures of its retries. The key is therefore
// type + "/" + id + "/" + event_time (the textual timestamp when there is no
// event_time): a record delivered twice by an at-least-once sender has the
// same key, two different events about one message do not.
//
// A record without a non-empty string id (a Rejection, or anything that is
// not a log record) is keyed by "sha256:" and the hash of its compacted
// JSON, so only byte-for-byte repeats count as duplicates.
func recordKey(raw json.RawMessage) (key, recordType string) {
	var f keyFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return hashKey(raw), ""
	}
	recordType = jsonString(f.Type)
	id := jsonString(f.ID)
	if id == "" {
		return hashKey(raw), recordType
	}
	when := jsonString(f.EventTime)
	if when == "" && len(f.Timestamp) > 0 && string(f.Timestamp) != "null" {
		when = jsonString(f.Timestamp)
		if when == "" {
			when = string(f.Timestamp) // a number, kept as written
		}
	}
	return recordType + "/" + id + "/" + when, recordType
}

// hashKey keys a record by the SHA-256 of its compacted JSON, so that the
// same record sent pretty-printed and on one line is still one record.
func hashKey(raw json.RawMessage) string {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		compact.Reset()
		compact.Write(raw)
	}
	sum := sha256.Sum256(compact.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// digestOf returns the fixed-size form of a key.
func digestOf(key string) digest {
	sum := sha256.Sum256([]byte(key))
	var d digest
	copy(d[:], sum[:])
	return d
}

// jsonString returns the value of a JSON string, or "" for anything else.
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return ""
	}
	return s
}
