package message

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Records are text: hookd refuses one whose JSON holds invalid UTF-8 or a \u escape of an unpaired
// surrogate, rather than replacing them with U+FFFD as encoding/json does. What reaches a policy, the
// spool and a webhook is then exactly what the producer sent. (serde_json, which KumoMTA's
// kumo.serde.json_decode uses, refuses unpaired surrogate escapes the same way.)

// StrictText reports whether raw, a piece of well-formed JSON, is valid UTF-8 whose escapes name no
// unpaired surrogate: what every JSON document hookd accepts must be.
func StrictText(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c >= utf8.RuneSelf || c == '\\' {
			return utf8.Valid(raw[i:]) && strictEscapes(raw[i:])
		}
	}
	return true
}

// strictEscapes reports whether every \u escape in raw that names a surrogate is half of a pair.
func strictEscapes(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' || i+6 > len(raw) {
			i++ // an escaped character: skip it (it may be a backslash)
			continue
		}
		r := hex4(raw[i+2:])
		i += 5
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r >= 0xdc00 || i+7 > len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
			return false // a low surrogate first, or a high one with nothing after it
		}
		if lo := hex4(raw[i+3:]); lo < 0xdc00 || lo > 0xdfff {
			return false
		}
		i += 6
	}
	return true
}

// strictRecord finds the member of a record whose text is not strict: its name, "" when all are.
func strictRecord(b []byte, v *[numRecordFields][]byte) (field string, ok bool) {
	if StrictText(b) {
		return "", true
	}
	for f, raw := range v {
		if !StrictText(raw) {
			return recordFields[f], false
		}
	}
	return "a member hookd does not read", false
}
