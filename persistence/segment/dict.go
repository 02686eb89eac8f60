package segment

import (
	_ "embed"
)

// dictV1 is the raw-content zstd dictionary small frames are compressed with: the serialized entries
// of a few synthetic log-hook messages of several record types (see dict_test.go, which made it and
// checks it never changes). Field names, envelope shapes and common values are then already known
// to the compressor, so a frame of one or a few messages gets closer to what a large one achieves:
// a single ~900-byte Delivery record takes ~330 bytes instead of ~540.
//
// Frames name their dictionary by id, so a frame written without one (a large frame, or one from
// before this dictionary existed) decodes too; a different dictionary would need a new id, with
// this one kept for reading.
//
//go:embed dict_v1.bin
var dictV1 []byte

// dictV1ID is the dictionary's id in zstd frame headers: in the range the zstd format leaves to
// private dictionaries (32768 to 2^31-1).
const dictV1ID = 0x486b6401 // "Hkd" 1
