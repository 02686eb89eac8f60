// Package message is hookd's shared vocabulary: the JSON log record, the
// message a log hook builds from it, and the small value types both are made
// of. It depends on the standard library only, and every other hookd package
// may depend on it.
//
// Where the types sit in the pipeline:
//
//	disposition event
//	      │
//	      ▼
//	  LogRecord ──AppendJSON──▶ body / "log_record" meta     (record.go, record_encode.go)
//	      │  ▲
//	      │  └─DecodeRecord── POST /api/log/v1, spool replay  (record_decode.go)
//	      ▼
//	NewHookMessage ──▶ Message{ID SpoolID, Sender/Recipients Address, Meta, Body}
//	      │
//	      ▼
//	Message.QueueName ──▶ "C:T@D!R" ──ParseQueueName──▶ get_queue_config(D, T, C, R)
//
// Building a hook message, in the order SPEC-kumomta.md §4 gives (callers
// must keep it):
//
//  1. Skip records whose ReceptionProtocol is "LogRecord" (loop prevention).
//  2. Render the body (template, or rec.AppendJSON plus a trailing "\n").
//  3. Call NewHookMessage(rec, gen.New(now), body): it parses the envelope
//     (failing with "no recips!?" when there are no recipients) and seeds
//     the meta with the captured record meta, "log_record" and
//     "reception_protocol".
//  4. Let the policy decide; then file the message under Message.QueueName.
//
// Capturing for a logger: CaptureMeta selects meta values and, after
// ParseHeaders on the body, CaptureHeaders selects headers, with KumoMTA's
// exact and wildcard rules.
//
// The encoders write exactly what KumoMTA writes: field order, null versus
// omitted fields, one-or-many recipients, line breaks in response content
// flattened to spaces, and RFC 3339 times with 0, 3, 6 or 9 fractional
// digits. Durations use humantime's text form (ParseDuration,
// FormatDuration); spool ids are version 1 UUIDs (IDGen, SpoolID); queue
// names follow KumoMTA's campaign:tenant@domain!routing syntax (QueueName).
//
// Every JSON text hookd writes takes its strings from AppendJSONString, the
// rule of KumoMTA's kumo.serde.json_encode (serde_json): only ", \ and
// U+0000-U+001F are escaped; AppendCompactJSON and MarshalJSON bring raw
// values and encoding/json's output to the same bytes (jsonstring.go).
//
// Nothing here reads the clock: functions that need the time take it as an
// argument.
package message
