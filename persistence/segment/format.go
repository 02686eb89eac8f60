package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/hookd/hookd/message"
)

// On-disk layout (see ../FORMAT.md):
//
//	file   := header frame*
//	header := "HOOKDSEG" version:u16le codec:u8 reserved:[5]
//	frame  := magic:u32le length:u32le crc32c:u32le payload:[length]
//	payload (after zstd decompression) := entry*
//	entry  := kind:u8 id:[16] fields-of-kind
const (
	fileMagic       = "HOOKDSEG"
	formatVersion   = 1
	codecZstd       = 1
	headerSize      = 16
	frameMagic      = 0x31464b48 // "HKF1" little-endian
	frameHeaderSize = 12
	// maxFrame bounds a frame's compressed and uncompressed size; anything larger is corrupt.
	maxFrame = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Entry kinds.
const (
	kindPut    = 1 // a message: attempts, due, queue, meta, body
	kindUpdate = 2 // new attempts and due of a stored message
	kindDelete = 3 // the message is finished
)

// entry is one decoded record of a frame.
type entry struct {
	kind     byte
	id       message.SpoolID
	attempts uint16
	due      int64 // unix nanoseconds; 0 = due at once
	queue    []byte
	meta     []byte
	body     []byte
}

func encodeHeader() []byte {
	h := make([]byte, headerSize)
	copy(h, fileMagic)
	binary.LittleEndian.PutUint16(h[8:], formatVersion)
	h[10] = codecZstd
	return h
}

// checkHeader validates a file header.
func checkHeader(h []byte) error {
	if len(h) < headerSize {
		return errShortHeader
	}
	if string(h[:8]) != fileMagic {
		return errors.New("not a hookd segment (bad magic)")
	}
	if v := binary.LittleEndian.Uint16(h[8:]); v != formatVersion {
		return fmt.Errorf("segment format version %d is not supported (this hookd reads version %d)", v, formatVersion)
	}
	if h[10] != codecZstd {
		return fmt.Errorf("unknown segment codec %d", h[10])
	}
	return nil
}

var errShortHeader = errors.New("segment header is incomplete")

// appendFrameHeader writes the header of a frame whose payload is p.
func appendFrameHeader(dst, p []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, frameMagic)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(p, crcTable))
}

// frameAt checks a frame header read at some offset and returns the payload length it announces.
func frameAt(h []byte) (length int, crc uint32, ok bool) {
	if len(h) < frameHeaderSize || binary.LittleEndian.Uint32(h) != frameMagic {
		return 0, 0, false
	}
	n := binary.LittleEndian.Uint32(h[4:])
	if n == 0 || n > maxFrame {
		return 0, 0, false
	}
	return int(n), binary.LittleEndian.Uint32(h[8:]), true
}

func appendEntry(dst []byte, e *entry) []byte {
	dst = append(dst, e.kind)
	dst = append(dst, e.id[:]...)
	switch e.kind {
	case kindPut:
		dst = binary.LittleEndian.AppendUint16(dst, e.attempts)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.due))
		dst = appendBytes(dst, e.queue)
		dst = appendBytes(dst, e.meta)
		dst = appendBytes(dst, e.body)
	case kindUpdate:
		dst = binary.LittleEndian.AppendUint16(dst, e.attempts)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.due))
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errEntry = errors.New("malformed entry")

// decodeEntries parses a decompressed payload. Byte slices in the entries alias p.
func decodeEntries(p []byte, out []entry) ([]entry, error) {
	for len(p) > 0 {
		var e entry
		if len(p) < 17 {
			return out, errEntry
		}
		e.kind = p[0]
		copy(e.id[:], p[1:17])
		p = p[17:]
		switch e.kind {
		case kindPut, kindUpdate:
			if len(p) < 10 {
				return out, errEntry
			}
			e.attempts = binary.LittleEndian.Uint16(p)
			e.due = int64(binary.LittleEndian.Uint64(p[2:]))
			p = p[10:]
			if e.kind == kindUpdate {
				break
			}
			var ok bool
			if e.queue, p, ok = cutBytes(p); !ok {
				return out, errEntry
			}
			if e.meta, p, ok = cutBytes(p); !ok {
				return out, errEntry
			}
			if e.body, p, ok = cutBytes(p); !ok {
				return out, errEntry
			}
		case kindDelete:
		default:
			return out, errEntry
		}
		out = append(out, e)
	}
	return out, nil
}

func cutBytes(p []byte) (b, rest []byte, ok bool) {
	n, k := binary.Uvarint(p)
	// k > 1 with a last byte of zero is an overlong length, which the writer never makes: each
	// entry has exactly one encoding.
	if k <= 0 || k > 1 && p[k-1] == 0 || n > uint64(len(p)-k) {
		return nil, p, false
	}
	end := k + int(n)
	return p[k:end:end], p[end:], true
}

func dueTime(nanos int64) time.Time {
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos).UTC()
}

func dueNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// storedFrameMax is the largest frame (entries before compression) written as a stored zstd frame:
// a few deletes or updates are ids and counters that do not compress, and a stored frame costs
// nothing to make, where running the compressor costs 10-20 µs however small its input.
const storedFrameMax = 255

// appendStoredZstd appends p, shorter than 128 KiB (one zstd block), as a zstd frame holding one
// raw block, which any zstd decoder reads: the magic number, a frame header descriptor announcing a
// single segment and the size of the content-size field, the content size, then the last block's
// header (type raw, p's size) and p itself.
func appendStoredZstd(dst, p []byte) []byte {
	n := len(p)
	dst = binary.LittleEndian.AppendUint32(dst, 0xFD2FB528)
	const singleSegment = 1 << 5
	switch {
	case n <= 0xff:
		dst = append(dst, singleSegment, byte(n))
	case n <= 0xffff+256:
		dst = binary.LittleEndian.AppendUint16(append(dst, 1<<6|singleSegment), uint16(n-256))
	default:
		dst = binary.LittleEndian.AppendUint32(append(dst, 2<<6|singleSegment), uint32(n))
	}
	bh := uint32(n)<<3 | 1 // Block_Size, Block_Type 0 (raw), Last_Block
	dst = append(dst, byte(bh), byte(bh>>8), byte(bh>>16))
	return append(dst, p...)
}
