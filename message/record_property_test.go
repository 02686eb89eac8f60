package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The mirror types below describe the record to encoding/json with struct
// tags. They are the reflection-based reference the hand-written encoder is
// checked against; they share no encoding code with it.

type mirrorRecord struct {
	Type                 string                     `json:"type"`
	ID                   string                     `json:"id"`
	Sender               string                     `json:"sender"`
	Recipient            mirrorRecipients           `json:"recipient"`
	Queue                string                     `json:"queue"`
	Site                 string                     `json:"site"`
	Size                 uint64                     `json:"size"`
	Response             mirrorResponse             `json:"response"`
	PeerAddress          *mirrorPeer                `json:"peer_address"`
	Timestamp            int64                      `json:"timestamp"`
	EventTime            mirrorTime                 `json:"event_time"`
	Created              int64                      `json:"created"`
	CreatedTime          mirrorTime                 `json:"created_time"`
	NumAttempts          uint16                     `json:"num_attempts"`
	BounceClassification string                     `json:"bounce_classification"`
	EgressPool           *string                    `json:"egress_pool"`
	EgressSource         *string                    `json:"egress_source"`
	SourceAddress        json.RawMessage            `json:"source_address"`
	FeedbackReport       json.RawMessage            `json:"feedback_report"`
	Meta                 map[string]json.RawMessage `json:"meta"`
	Headers              map[string]json.RawMessage `json:"headers"`
	DeliveryProtocol     *string                    `json:"delivery_protocol"`
	ReceptionProtocol    *string                    `json:"reception_protocol"`
	NodeID               string                     `json:"nodeid"`
	TLSCipher            string                     `json:"tls_cipher,omitempty"`
	TLSProtocolVersion   string                     `json:"tls_protocol_version,omitempty"`
	TLSPeerSubjectName   []string                   `json:"tls_peer_subject_name,omitempty"`
	ProviderName         string                     `json:"provider_name,omitempty"`
	SessionID            string                     `json:"session_id,omitempty"`
}

type mirrorResponse struct {
	Code     uint16          `json:"code"`
	Enhanced *mirrorEnhanced `json:"enhanced_code"`
	Content  string          `json:"content"`
	Command  *string         `json:"command"`
}

type mirrorEnhanced struct {
	Class   uint8  `json:"class"`
	Subject uint16 `json:"subject"`
	Detail  uint16 `json:"detail"`
}

type mirrorPeer struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	IsSecure bool   `json:"is_secure,omitempty"`
}

type mirrorRecipients []string

func (m mirrorRecipients) MarshalJSON() ([]byte, error) {
	if len(m) == 1 {
		return marshalNoHTML(m[0])
	}
	return marshalNoHTML(append([]string{}, m...))
}

type mirrorTime time.Time

// MarshalJSON pads RFC3339Nano's trimmed fraction up to 3, 6 or 9 digits.
func (m mirrorTime) MarshalJSON() ([]byte, error) {
	s := time.Time(m).UTC().Format(time.RFC3339Nano)
	s = strings.TrimSuffix(s, "Z")
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		digits := len(s) - dot - 1
		width := (digits + 2) / 3 * 3
		s += strings.Repeat("0", width-digits)
	}
	return []byte(`"` + s + `Z"`), nil
}

// marshalNoHTML is the reference encoding: encoding/json without HTML
// escaping, then serdeStrings for the escapes of printable characters it
// writes (U+2028, U+2029, \ufffd, and those inside raw values).
func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return serdeStrings(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

func toMirror(r *LogRecord) mirrorRecord {
	m := mirrorRecord{
		Type: string(r.Type), ID: r.ID, Sender: r.Sender, Recipient: mirrorRecipients(r.Recipient),
		Queue: r.Queue, Site: r.Site, Size: r.Size,
		Response: mirrorResponse{
			Code:    r.Response.Code,
			Content: strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(r.Response.Content),
			Command: r.Response.Command,
		},
		Timestamp: r.Timestamp, EventTime: mirrorTime(r.EventTime),
		Created: r.Created, CreatedTime: mirrorTime(r.CreatedTime),
		NumAttempts: r.NumAttempts, BounceClassification: r.BounceClassification,
		EgressPool: r.EgressPool, EgressSource: r.EgressSource,
		SourceAddress: r.SourceAddress, FeedbackReport: r.FeedbackReport,
		Meta: r.Meta, Headers: r.Headers,
		DeliveryProtocol: r.DeliveryProtocol, ReceptionProtocol: r.ReceptionProtocol,
		NodeID: r.NodeID, TLSCipher: r.TLSCipher, TLSProtocolVersion: r.TLSProtocolVersion,
		TLSPeerSubjectName: r.TLSPeerSubjectName, ProviderName: r.ProviderName, SessionID: r.SessionID,
	}
	if e := r.Response.Enhanced; e != nil {
		m.Response.Enhanced = &mirrorEnhanced{e.Class, e.Subject, e.Detail}
	}
	if p := r.PeerAddress; p != nil {
		m.PeerAddress = &mirrorPeer{p.Name, p.Addr, p.IsSecure}
	}
	if m.Meta == nil {
		m.Meta = map[string]json.RawMessage{}
	}
	if m.Headers == nil {
		m.Headers = map[string]json.RawMessage{}
	}
	return m
}

// recordGen makes random records whose strings are full of characters that
// need escaping.
type recordGen struct{ rng *rand.Rand }

var tricky = []string{
	"a", "Z", "0", " ", `"`, `\`, "/", "<", ">", "&", "\n", "\r", "\r\n", "\t", "\x00", "\x1f", "\x7f",
	"é", "✓", "𝄞", "\u2028", "\u2029", "\xff", "\xe2\x82", "\ufeff", "@", "{", "}",
}

func (g recordGen) str() string {
	n := g.rng.IntN(12)
	var b strings.Builder
	for range n {
		b.WriteString(tricky[g.rng.IntN(len(tricky))])
	}
	return b.String()
}

func (g recordGen) optStr() *string {
	if g.rng.IntN(3) == 0 {
		return nil
	}
	s := g.str()
	return &s
}

func (g recordGen) strs(max int) []string {
	n := g.rng.IntN(max + 1)
	if n == 0 && g.rng.IntN(2) == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func (g recordGen) time() time.Time {
	sec := g.rng.Int64N(4_000_000_000)
	var ns int64
	switch g.rng.IntN(4) {
	case 1:
		ns = g.rng.Int64N(1000) * 1_000_000
	case 2:
		ns = g.rng.Int64N(1_000_000) * 1_000
	case 3:
		ns = g.rng.Int64N(1_000_000_000)
	}
	return time.Unix(sec, ns).In(time.FixedZone("X", g.rng.IntN(48)*1800-12*3600))
}

// value returns a random JSON value, pretty-printed so that the encoder
// has whitespace to remove.
func (g recordGen) value(depth int) any {
	switch k := g.rng.IntN(7); {
	case k == 0 || depth > 2:
		return g.str()
	case k == 1:
		return g.rng.Float64() * 1e6
	case k == 2:
		return g.rng.IntN(2) == 0
	case k == 3:
		return nil
	case k == 4:
		return []any{g.value(depth + 1), g.value(depth + 1)}
	default:
		return map[string]any{g.str(): g.value(depth + 1), "k": g.value(depth + 1)}
	}
}

func (g recordGen) raw() json.RawMessage {
	if g.rng.IntN(3) == 0 {
		return nil
	}
	b, err := json.MarshalIndent(g.value(0), " ", "\t")
	if err != nil {
		panic(err)
	}
	return b
}

func (g recordGen) rawMap() map[string]json.RawMessage {
	if g.rng.IntN(4) == 0 {
		return nil
	}
	m := make(map[string]json.RawMessage)
	for range g.rng.IntN(5) {
		v := g.raw()
		if v == nil {
			v = json.RawMessage("null")
		}
		m[g.str()] = v
	}
	return m
}

func (g recordGen) record() *LogRecord {
	r := &LogRecord{
		Type: RecordType(g.str()), ID: g.str(), Sender: g.str(), Recipient: Recipients(g.strs(3)),
		Queue: g.str(), Site: g.str(), Size: g.rng.Uint64(),
		Response:  Response{Code: uint16(g.rng.UintN(1000)), Content: g.str(), Command: g.optStr()},
		Timestamp: g.rng.Int64() - 1<<62, EventTime: g.time(),
		Created: g.rng.Int64(), CreatedTime: g.time(),
		NumAttempts: uint16(g.rng.UintN(1 << 16)), BounceClassification: g.str(),
		EgressPool: g.optStr(), EgressSource: g.optStr(),
		SourceAddress: g.raw(), FeedbackReport: g.raw(),
		Meta: g.rawMap(), Headers: g.rawMap(),
		DeliveryProtocol: g.optStr(), ReceptionProtocol: g.optStr(), NodeID: g.str(),
		TLSCipher: g.str(), TLSProtocolVersion: g.str(), TLSPeerSubjectName: g.strs(2),
		ProviderName: g.str(), SessionID: g.str(),
	}
	if g.rng.IntN(2) == 0 {
		r.Response.Enhanced = &EnhancedCode{uint8(g.rng.UintN(256)), uint16(g.rng.UintN(1 << 16)),
			uint16(g.rng.UintN(1 << 16))}
	}
	if g.rng.IntN(2) == 0 {
		r.PeerAddress = &PeerAddress{Name: g.str(), Addr: g.str(), IsSecure: g.rng.IntN(2) == 0}
	}
	return r
}

func TestAppendJSONMatchesReflectionReference(t *testing.T) {
	g := recordGen{rand.New(rand.NewPCG(1, 2))}
	for i := range 3000 {
		r := g.record()
		want, err := marshalNoHTML(toMirror(r))
		if err != nil {
			t.Fatalf("record %d: reference encoder failed: %v", i, err)
		}
		got := r.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d differs from encoding/json\n got: %q\nwant: %q", i, got, want)
		}
		var back LogRecord
		if err := back.UnmarshalJSON(got); err != nil {
			t.Fatalf("record %d: output does not decode: %v", i, err)
		}
		if back.Size != r.Size || back.Timestamp != r.Timestamp || !back.EventTime.Equal(r.EventTime) {
			t.Fatalf("record %d: numbers or times changed in decoding", i)
		}
	}
}

// benchRecord is a plain Delivery record of about 600 bytes (692; an empty
// record alone takes 482).
func benchRecord() *LogRecord {
	return &LogRecord{
		Type: Delivery, ID: goldenID, Sender: "news@example.com", Recipient: Recipients{"user@example.org"},
		Queue: "example.org", Site: "mx.example.org", Size: 812,
		Response:  Response{Code: 250, Content: "ok <queued>"},
		Timestamp: goldenEvent.Unix(), EventTime: goldenEvent,
		Created: goldenCreated.Unix(), CreatedTime: goldenCreated,
		BounceClassification: "Uncategorized",
		Meta:                 rawMeta("tenant", `"acme"`),
		DeliveryProtocol:     strp("ESMTP"), ReceptionProtocol: strp("HTTP"),
		NodeID: goldenNode,
	}
}

func TestBenchRecordSize(t *testing.T) {
	if n := len(benchRecord().AppendJSON(nil)); n < 550 || n > 700 {
		t.Errorf("benchmark record is %d bytes, want about 600", n)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := benchRecord()
	mirror := toMirror(r)
	b.Run(fmt.Sprintf("hand-written/%dB", len(r.AppendJSON(nil))), func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			buf = r.AppendJSON(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("encoding-json-mirror", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(&mirror); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(buf.Len()))
	})
}

func BenchmarkDecodeRecord(b *testing.B) {
	raw := benchRecord().AppendJSON(nil)
	for _, bc := range []struct {
		name   string
		decode func([]byte) (*LogRecord, error)
	}{
		{fmt.Sprintf("scanner/%dB", len(raw)), DecodeRecord},
		{"encoding-json-oracle", oracleDecodeRecord},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
