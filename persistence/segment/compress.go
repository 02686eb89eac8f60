package segment

import (
	"slices"

	"github.com/klauspost/compress/zstd"
)

// How a frame's entries are compressed depends on their size; measured on typical entries (~870
// bytes each; BenchmarkCompressFrame):
//
//   - up to storedFrameMax: deletes and updates, ids and counters that do not compress. A stored
//     zstd frame costs nothing to make, where the compressor costs 5-20 µs however small its input.
//   - up to smallFrameMax: one put, what a commit mostly holds at moderate rates. The dictionary
//     makes them small (one put: ~330 bytes instead of ~540); without entropy coding (building
//     Huffman and FSE tables is most of the work for so few bytes) one put costs ~40% less time
//     (14-16 µs instead of 23-26) for 6% more bytes (two puts: ~20% less time, 8% more bytes).
//   - up to dictFrameMax: a few puts, with the dictionary and entropy coding.
//   - larger frames have their own history to match against: starting from the dictionary costs
//     a fixed ~10 µs (the encoder's tables are reset to the dictionary's) that their few saved bytes
//     do not repay (27 puts: 68 bytes each with it, 76 without, in ~63 µs instead of ~48).
const (
	smallFrameMax = 1536
	dictFrameMax  = 8 << 10
)

// dictWindow is the window of the encoders with the dictionary: a power of two at least the
// dictionary's size and dictFrameMax (compress_test.go checks it).
const dictWindow = 32 << 10

// encoders are the writer's compressors, one per kind of frame above.
type encoders struct {
	small, dict, plain *zstd.Encoder
}

func newEncoders() (encoders, error) {
	// Each encoder keeps a history buffer the size of its window (plus a block, 128 KiB). The large
	// frames' encoder has a 1 MiB window (matches reach at most 1 MiB back, the default frame size)
	// instead of the default 4 MiB; the dictionary's encoders see at most the dictionary and
	// dictFrameMax bytes, which dictWindow covers, so a larger window would be a megabyte of heap
	// each that no match ever reaches.
	base := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false)}
	with := func(opts ...zstd.EOption) []zstd.EOption { return slices.Concat(base, opts) }
	dict, window := zstd.WithEncoderDictRaw(dictV1ID, dictV1), zstd.WithWindowSize(dictWindow)
	var e encoders
	var err error
	if e.small, err = zstd.NewWriter(nil, with(dict, window, zstd.WithNoEntropyCompression(true))...); err != nil {
		return e, err
	}
	if e.dict, err = zstd.NewWriter(nil, with(dict, window)...); err != nil {
		return e, err
	}
	e.plain, err = zstd.NewWriter(nil, with(zstd.WithWindowSize(1<<20))...)
	return e, err
}

// compress appends raw, compressed as a zstd frame, to dst.
func (e encoders) compress(raw, dst []byte) []byte {
	switch {
	case len(raw) <= storedFrameMax:
		return appendStoredZstd(dst, raw)
	case len(raw) <= smallFrameMax:
		return e.small.EncodeAll(raw, dst)
	case len(raw) <= dictFrameMax:
		return e.dict.EncodeAll(raw, dst)
	default:
		return e.plain.EncodeAll(raw, dst)
	}
}
