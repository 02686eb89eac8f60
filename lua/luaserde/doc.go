// Package luaserde implements the `kumo.serde` Lua module (JSON, TOML and
// YAML helpers) for hookd policy scripts, plus the Lua <-> JSON conversions
// that other hookd packages reuse on their hot paths.
//
// Where it sits in the pipeline:
//
//	logger --record--> hook (Lua) --msg--> queue --batch--> conn (Lua) --> HTTP
//	                     |                                   |
//	                     +-- kumo.json_encode / json_parse --+   (this package)
//	                     +-- ToJSON / FromJSON (Go callers) -+
//
// Mapping between Lua and JSON:
//
//   - nil <-> null. Because Lua tables cannot hold nil, a JSON null inside an
//     object makes the key vanish, and one inside an array leaves a hole.
//   - booleans and strings map directly; strings are written by hookd's one
//     rule for JSON text (message.AppendJSONString: only ", \ and U+0000 to
//     U+001F escaped, everything else raw UTF-8), as KumoMTA's serde_json
//     writes them. A Lua string that is not valid UTF-8 is bytes to KumoMTA
//     (mlua serialises it with serialize_bytes) and is encoded, as there, as
//     the array of its byte values: "a\xff" as [97,255]; as an object key it
//     is an error. (The TOML and YAML encoders write U+FFFD for each bad
//     byte instead.) Decoding JSON, invalid UTF-8 becomes U+FFFD.
//   - numbers: Lua numbers are float64. Whole numbers encode without a
//     fraction (3, not 3.0); NaN and infinities cannot be encoded. Integers
//     keep their exact value up to 2^53, the limit of float64.
//   - a table whose keys are exactly 1..n (n >= 1) encodes as an array;
//     every other table, including the empty one, encodes as an object.
//     Number keys of objects become strings ("1", "2.5"). A table that has
//     both the number key 1 and the string key "1" cannot be represented and
//     is an error, as are keys of any other type (booleans, tables, ...).
//   - userdata encodes only when its Value implements [JSONMarshaler];
//     functions, threads, channels and other userdata are errors.
//   - tables nested deeper than [MaxDepth] and tables that contain
//     themselves are errors, never a stack overflow.
//
// The caller's contract:
//
//  1. Call [Open] once per LState, after the `kumo` table exists.
//  2. Lua functions raise Lua errors (never Go panics) on bad input.
//  3. [ToJSON], [AppendJSON] and [FromJSON] are safe to call from any
//     goroutine that owns the LState the values belong to; they keep no
//     state between calls.
package luaserde
