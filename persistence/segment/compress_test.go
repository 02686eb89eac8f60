package segment

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestDictWindowLosesNoMatch: the fast and dictionary encoders, with their small windows, compress
// every frame they are given (up to fastFrameMax and denseFrameMax) as small as with a 1 MiB window,
// and what they make decodes.
func TestDictWindowLosesNoMatch(t *testing.T) {
	if dictWindow < len(dictV1)+denseFrameMax {
		t.Fatalf("dictWindow %d does not cover the dictionary (%d bytes) and a frame of %d", dictWindow, len(dictV1), denseFrameMax)
	}
	encs, err := newEncoders()
	if err != nil {
		t.Fatal(err)
	}
	wide := func(opts ...zstd.EOption) *zstd.Encoder {
		base := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1 << 20)}
		e, err := zstd.NewWriter(nil, append(base, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	wideFast, wideDict := wide(zstd.WithNoEntropyCompression(true)), wide(zstd.WithEncoderDictRaw(dictV1ID, dictV1))
	dec, err := zstd.NewReader(nil, zstd.WithDecoderDictRaw(dictV1ID, dictV1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	es := benchEntries(90)
	var raw []byte
	frames := 0
	for _, e := range es {
		raw = appendEntry(raw, &entry{kind: kindPut, id: e.ID, queue: []byte(e.Queue), meta: e.Meta, body: e.Body})
		if len(raw) > fastFrameMax {
			break
		}
		frames++
		for _, v := range []struct {
			name     string
			enc, ref *zstd.Encoder
			max      int
		}{{"fast", encs.fast, wideFast, fastFrameMax}, {"dict", encs.dict, wideDict, denseFrameMax}} {
			if len(raw) > v.max {
				continue
			}
			got, want := v.enc.EncodeAll(raw, nil), v.ref.EncodeAll(raw, nil)
			if len(got) > len(want) {
				t.Errorf("%s: %d raw bytes compress to %d with the small window, %d with 1 MiB", v.name, len(raw), len(got), len(want))
			}
			if back, err := dec.DecodeAll(got, nil); err != nil || !bytes.Equal(back, raw) {
				t.Fatalf("%s: %d raw bytes: round trip failed: %v", v.name, len(raw), err)
			}
		}
	}
	if frames < 40 {
		t.Fatalf("only %d frames compared", frames)
	}
}
