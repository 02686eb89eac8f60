package segment

import (
	"slices"

	"github.com/klauspost/compress/zstd"
)

// How a frame's entries are compressed depends on their size and on why they are written; measured
// on typical entries (~870 bytes each; BenchmarkCompressFrame):
//
//   - up to storedFrameMax: deletes and updates, ids and counters that do not compress. A stored
//     zstd frame costs nothing to make, where the compressor costs 5-20 µs however small its input.
//   - a fresh commit up to fastFrameMax (one to a few dozen puts, what the writer commits at any
//     rate short of a burst): LZ matching without entropy coding and without the dictionary. Building the Huffman and
//     FSE tables, or resetting the encoder to the dictionary's tables, is most of the work for so few
//     bytes: one put costs ~5 µs instead of 15-22 (~680 bytes instead of 330-540), two puts ~7 µs
//     instead of 18-30, 27 puts ~37 µs instead of ~55 (90 bytes each instead of 76). Most fresh puts
//     are deleted within seconds, so their density hardly matters, and the writer's CPU is taken
//     from the deliveries on a busy node.
//   - compaction's moves up to denseFrameMax: the live puts that stay, so density matters; they are
//     compressed against the dictionary, with entropy coding (one put: ~330 bytes).
//   - larger frames of either kind (bursts, backlogs) have their own history to match against, and
//     entropy coding is cheap per put there: no dictionary (starting from it costs a fixed ~10 µs that their few saved
//     bytes do not repay: 27 puts, 68 bytes each with it, 76 without, in ~63 µs instead of ~48).
const (
	denseFrameMax = 8 << 10
	fastFrameMax  = 64 << 10
)

// dictWindow is the window of the dictionary encoder: a power of two at least the dictionary's size
// and denseFrameMax; the fast encoder's covers fastFrameMax (compress_test.go checks both).
const dictWindow = 32 << 10

// encoders are the writer's compressors, one per kind of frame above.
type encoders struct {
	fast, dict, plain *zstd.Encoder
}

func newEncoders() (encoders, error) {
	// Each encoder keeps a history buffer the size of its window (plus a block, 128 KiB). The large
	// frames' encoder has a 1 MiB window (matches reach at most 1 MiB back, the default frame size)
	// instead of the default 4 MiB; the other two see at most fastFrameMax bytes, or the
	// dictionary and denseFrameMax bytes, which their windows cover: a larger window would be
	// heap that no match ever reaches.
	base := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false)}
	with := func(opts ...zstd.EOption) []zstd.EOption { return slices.Concat(base, opts) }
	dict, window := zstd.WithEncoderDictRaw(dictV1ID, dictV1), zstd.WithWindowSize(dictWindow)
	var e encoders
	var err error
	if e.fast, err = zstd.NewWriter(nil, with(zstd.WithWindowSize(fastFrameMax), zstd.WithNoEntropyCompression(true))...); err != nil {
		return e, err
	}
	if e.dict, err = zstd.NewWriter(nil, with(dict, window)...); err != nil {
		return e, err
	}
	e.plain, err = zstd.NewWriter(nil, with(zstd.WithWindowSize(1<<20))...)
	return e, err
}

// compress appends raw, compressed as a zstd frame, to dst; dense is for entries that are kept
// (compaction's moves).
func (e encoders) compress(raw, dst []byte, dense bool) []byte {
	switch {
	case len(raw) <= storedFrameMax:
		return appendStoredZstd(dst, raw)
	case len(raw) <= fastFrameMax && !dense:
		return e.fast.EncodeAll(raw, dst)
	case len(raw) <= denseFrameMax:
		return e.dict.EncodeAll(raw, dst)
	default:
		return e.plain.EncodeAll(raw, dst)
	}
}
