package message

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// SpoolID identifies a message in the spool. It is an RFC 4122 version 1
// UUID whose 60-bit timestamp records when the message was created; its text
// form is 32 lowercase hex digits without dashes ("simple" UUID form). The
// text is not time-ordered, because the low bits of the timestamp come
// first.
type SpoolID [16]byte

// gregorianOffset is the number of 100ns intervals between the UUID epoch
// (1582-10-15T00:00:00Z) and the unix epoch.
const gregorianOffset = 0x01B21DD213814000

// maxTimestamp is the largest 60-bit UUID timestamp.
const maxTimestamp = 1<<60 - 1

// IDGen issues version 1 spool ids for one node. It is safe for concurrent
// use.
type IDGen struct {
	mu       sync.Mutex
	node     [6]byte
	clockSeq uint16 // 14 bits
	last     uint64 // the last timestamp issued
}

// NewIDGen returns a generator for the given node id (normally a MAC
// address). A random clock sequence is chosen. For a node id that is not a
// real MAC address use RandomNode, which sets the multicast bit as RFC 4122
// §4.5 requires.
func NewIDGen(node [6]byte) *IDGen {
	var seq [2]byte
	_, _ = rand.Read(seq[:]) // crypto/rand.Read never fails
	return newIDGenSeq(node, binary.BigEndian.Uint16(seq[:]))
}

func newIDGenSeq(node [6]byte, clockSeq uint16) *IDGen {
	return &IDGen{node: node, clockSeq: clockSeq & 0x3fff}
}

// RandomNode returns six random bytes with the multicast bit set, for use as
// a node id when no MAC address is available.
func RandomNode() [6]byte {
	var node [6]byte
	_, _ = rand.Read(node[:])
	node[0] |= 0x01
	return node
}

// New returns a fresh id carrying the timestamp of now. Ids are unique even
// when now repeats or goes backwards: a timestamp not after the last one
// issued is replaced by the last one plus 100ns. Times before 1582-10-15
// are clamped to the UUID epoch.
func (g *IDGen) New(now time.Time) SpoolID {
	ts := uuidTimestamp(now)
	g.mu.Lock()
	if ts <= g.last {
		ts = g.last + 1
	}
	if ts > maxTimestamp {
		// The 60-bit clock is exhausted (year 5236); keep ids unique by
		// moving to another clock sequence, as RFC 4122 does when a clock
		// cannot advance.
		g.clockSeq = (g.clockSeq + 1) & 0x3fff
		ts = maxTimestamp
	}
	g.last = ts
	seq, node := g.clockSeq, g.node
	g.mu.Unlock()
	return makeV1(ts, seq, node)
}

// uuidTimestamp converts t to 100ns intervals since the UUID epoch, clamped
// to [0, maxTimestamp]. It avoids UnixNano, which overflows after 2262.
func uuidTimestamp(t time.Time) uint64 {
	const secondsBeforeUnix = gregorianOffset / 10_000_000
	sec := t.Unix()
	if sec < -secondsBeforeUnix {
		return 0
	}
	const maxSeconds = maxTimestamp / 10_000_000
	since := uint64(sec + secondsBeforeUnix)
	if since > maxSeconds {
		return maxTimestamp
	}
	ts := since*10_000_000 + uint64(t.Nanosecond()/100)
	return min(ts, maxTimestamp)
}

func makeV1(ts uint64, seq uint16, node [6]byte) SpoolID {
	var id SpoolID
	binary.BigEndian.PutUint32(id[0:4], uint32(ts))
	binary.BigEndian.PutUint16(id[4:6], uint16(ts>>32))
	binary.BigEndian.PutUint16(id[6:8], uint16(ts>>48)&0x0fff|0x1000)
	id[8] = byte(seq>>8)&0x3f | 0x80
	id[9] = byte(seq)
	copy(id[10:], node[:])
	return id
}

// ParseSpoolID accepts any common UUID spelling, in any letter case:
// 32 hex digits, the hyphenated 8-4-4-4-12 form, the hyphenated form in
// braces, or "urn:uuid:" followed by the hyphenated form.
func ParseSpoolID(s string) (SpoolID, error) {
	text := s
	switch {
	case len(text) == 38 && text[0] == '{' && text[37] == '}':
		text = text[1:37]
	case len(text) == 45 && strings.EqualFold(text[:9], "urn:uuid:"):
		text = text[9:]
	}
	var id SpoolID
	switch len(text) {
	case 32:
		if _, err := hex.Decode(id[:], []byte(text)); err != nil {
			return SpoolID{}, fmt.Errorf("invalid spool id %q: not hexadecimal", s)
		}
		return id, nil
	case 36:
		if text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-' {
			return SpoolID{}, fmt.Errorf("invalid spool id %q: misplaced dashes", s)
		}
		simple := text[0:8] + text[9:13] + text[14:18] + text[19:23] + text[24:]
		if _, err := hex.Decode(id[:], []byte(simple)); err != nil {
			return SpoolID{}, fmt.Errorf("invalid spool id %q: not hexadecimal", s)
		}
		return id, nil
	}
	return SpoolID{}, fmt.Errorf("invalid spool id %q: expected 32 hex digits or a hyphenated UUID", s)
}

// String returns the id as 32 lowercase hex digits.
func (id SpoolID) String() string {
	return hex.EncodeToString(id[:])
}

// Hyphenated returns the id in the 8-4-4-4-12 UUID form.
func (id SpoolID) Hyphenated() string {
	s := id.String()
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// Version returns the UUID version number from the id.
func (id SpoolID) Version() int { return int(id[6] >> 4) }

// Created returns the creation time embedded in a version 1 id, in UTC, to
// 100ns precision. Ids of other versions carry no time: Created returns the
// zero time for them.
func (id SpoolID) Created() time.Time {
	if id.Version() != 1 {
		return time.Time{}
	}
	ts := uint64(binary.BigEndian.Uint32(id[0:4])) |
		uint64(binary.BigEndian.Uint16(id[4:6]))<<32 |
		uint64(binary.BigEndian.Uint16(id[6:8])&0x0fff)<<48
	delta := int64(ts) - gregorianOffset // may be negative before 1970
	sec, rem := delta/10_000_000, delta%10_000_000
	return time.Unix(sec, rem*100).UTC()
}

// IsZero reports whether every byte of the id is zero.
func (id SpoolID) IsZero() bool { return id == SpoolID{} }

// MarshalText implements encoding.TextMarshaler with String().
func (id SpoolID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSpoolID.
func (id *SpoolID) UnmarshalText(b []byte) error {
	parsed, err := ParseSpoolID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}
