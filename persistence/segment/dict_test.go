package segment

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

var updateDict = flag.Bool("update-dict", false, "write dict_v1.bin from dictContent (never for a released format)")

// dictV1SHA256 pins dict_v1.bin: frames on disk need exactly these bytes to decode.
const dictV1SHA256 = "97001e67d1620c5720ff5207648400fab788b03200cca19c69fd0a81196a970f"

// dictContent builds the dictionary's content: spool entries of synthetic log-hook messages, one
// per common record type, with values unlike the benchmarks' (so that they measure what real
// records gain, not a copy of themselves).
func dictContent() []byte {
	t := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	str := func(s string) *string { return &s }
	var out []byte
	for i, rt := range []message.RecordType{message.Delivery, message.TransientFailure, message.Bounce,
		message.Reception, message.Expiration, message.AdminBounce, message.Delivery, message.Feedback} {
		var id message.SpoolID
		for j := range id {
			id[j] = byte(0x11*i + 7*j)
		}
		rec := &message.LogRecord{Type: rt, ID: fmt.Sprintf("%032x", id[:]),
			Sender:    "bounce-" + fmt.Sprint(1000+i) + "@mail.northwind.example",
			Recipient: message.Recipients{fmt.Sprintf("person%d@mailbox.example.net", 40+i)},
			Queue:     "spring:northwind@mailbox.example.net", Site: "mx1.mailbox.example.net",
			Size: uint64(5120 + 97*i), Timestamp: t.Unix(), EventTime: t, Created: t.Unix() - 3,
			CreatedTime: t.Add(-3 * time.Second), NumAttempts: uint16(i % 3), BounceClassification: "Uncategorized",
			EgressPool: str("pool-a"), EgressSource: str("source-1"),
			Meta:              map[string]json.RawMessage{"tenant": json.RawMessage(`"northwind"`), "campaign": json.RawMessage(`"spring"`)},
			Headers:           map[string]json.RawMessage{"Subject": json.RawMessage(`"Your order has shipped"`)},
			PeerAddress:       &message.PeerAddress{Name: "mx1.mailbox.example.net", Addr: "203.0.113.25"},
			ReceptionProtocol: str("ESMTP"), DeliveryProtocol: str("ESMTP"),
			NodeID: "8d3e2f10-7a4b-4c5d-9e6f-0a1b2c3d4e5f", SessionID: "3c2b1a09-8f7e-4d6c-b5a4-392817161514",
			TLSCipher: "TLS13_AES_256_GCM_SHA384", TLSProtocolVersion: "TLSv1_3"}
		switch rt {
		case message.Delivery:
			rec.Response = message.Response{Code: 250, Content: "2.0.0 OK  1710408413 queued as 4TvXyZ1abc"}
		case message.TransientFailure:
			rec.Response = message.Response{Code: 451, Enhanced: &message.EnhancedCode{Class: 4, Subject: 7, Detail: 1},
				Content: "Try again later", Command: str("RCPT TO:<person41@mailbox.example.net>\r\n")}
		case message.Bounce:
			rec.Response = message.Response{Code: 550, Enhanced: &message.EnhancedCode{Class: 5, Subject: 1, Detail: 1},
				Content: "5.1.1 The email account that you tried to reach does not exist"}
			rec.BounceClassification = "InvalidRecipient"
		case message.Reception:
			rec.Response = message.Response{Code: 250}
			rec.DeliveryProtocol, rec.Site = nil, ""
			rec.SourceAddress = json.RawMessage(`{"address":"198.51.100.7:41234","server":"192.0.2.1:25","protocol":"ESMTP"}`)
		case message.Expiration:
			rec.Response = message.Response{Code: 551, Enhanced: &message.EnhancedCode{Class: 5, Subject: 4, Detail: 7},
				Content: "Next delivery time would be 3 days after creation, which exceeds max_age=3 days"}
		case message.AdminBounce:
			rec.Response = message.Response{Code: 551, Content: "Administrator bounced with: campaign cancelled"}
			rec.BounceClassification = "AdministrativeBounce"
		case message.Feedback:
			rec.FeedbackReport = json.RawMessage(`{"feedback_type":"abuse","user_agent":"FBL/1.0","version":1}`)
		}
		body := append(rec.AppendJSON(nil), '\n')
		m, err := message.NewHookMessage(rec, id, body)
		if err != nil {
			panic(err)
		}
		m.Meta.SetString("queue", "northwind@webhook.log_hook")
		meta, err := persistence.EncodeMeta(m)
		if err != nil {
			panic(err)
		}
		out = appendEntry(out, &entry{kind: kindPut, id: id, queue: []byte("northwind@webhook.log_hook"), meta: meta, body: body})
		out = appendEntry(out, &entry{kind: kindUpdate, id: id, attempts: uint16(i), due: t.UnixNano()})
	}
	return out
}

func TestDictionaryIsPinned(t *testing.T) {
	if *updateDict {
		if err := os.WriteFile("dict_v1.bin", dictContent(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("dict_v1.bin written; pin its hash in dictV1SHA256")
	}
	sum := sha256.Sum256(dictV1)
	if got := hex.EncodeToString(sum[:]); got != dictV1SHA256 {
		t.Fatalf("dict_v1.bin has changed (sha256 %s): frames written with it would no longer decode", got)
	}
	if !bytes.Equal(dictV1, dictContent()) {
		t.Log("note: dictContent() no longer makes dict_v1.bin (the encoders changed); the pinned file stays")
	}
}

// TestFramesWithoutTheDictionaryStillDecode: segments written before the dictionary existed (plain
// zstd frames) are replayed and loaded as before, beside frames that use it.
func TestFramesWithoutTheDictionaryStillDecode(t *testing.T) {
	dir := t.TempDir()
	plain, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	old := entryN(1)
	raw := appendEntry(nil, &entry{kind: kindPut, id: old.ID, queue: []byte(old.Queue), meta: old.Meta, body: old.Body})
	payload := plain.EncodeAll(raw, nil)
	file := append(encodeHeader(), appendFrameHeader(nil, payload)...)
	file = append(file, payload...)
	if err := os.WriteFile(filepath.Join(dir, "0000000001.seg"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	putSync(t, s, entryN(2)) // written with the dictionary
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if rep := s.Report(); rep.Live != 2 || len(rep.Repairs) != 0 {
		t.Fatalf("recovered %d messages with repairs %q, want 2 and none", rep.Live, rep.Repairs)
	}
	for _, e := range []*persistence.Entry{entryN(1), entryN(2)} {
		got, err := s.Load(e.ID)
		if err != nil || !bytes.Equal(got.Body, e.Body) {
			t.Fatalf("message %s: %v", e.ID, err)
		}
	}
}

// TestSmallFramesUseTheDictionary: a frame of one message that compaction keeps is compressed
// against the dictionary, and far smaller for it; a fresh one is compressed fast, smaller than its
// entries and larger than the kept one.
func TestSmallFramesUseTheDictionary(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	e := benchEntries(1)[0]
	raw := appendEntry(nil, &entry{kind: kindPut, id: e.ID, queue: []byte(e.Queue), meta: e.Meta, body: e.Body})
	dense, fast := s.encs.compress(raw, nil, true), s.encs.compress(raw, nil, false)
	plain, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false))
	without := plain.EncodeAll(raw, nil)
	if len(dense)*4 > len(without)*3 {
		t.Errorf("one %d-byte entry compresses to %d bytes with the dictionary, %d without: want at least 25%% less",
			len(raw), len(dense), len(without))
	}
	if len(fast) >= len(raw)*9/10 || len(fast) <= len(dense) {
		t.Errorf("one %d-byte entry compresses fast to %d bytes (dense %d): want less than 90%% and more than dense",
			len(raw), len(fast), len(dense))
	}
	for _, frame := range [][]byte{dense, fast} {
		if back, err := s.dec.DecodeAll(frame, nil); err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("round trip: %v", err)
		}
	}
}

// TestFrameCompression: a fresh frame up to fastFrameMax is compressed without the dictionary or
// entropy coding, a larger one with entropy coding, a frame of deletes is stored uncompressed; all of
// them replay after a restart.
func TestFrameCompression(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	small := benchEntries(3)
	large := *small[1]
	large.Body = bytes.Repeat(small[1].Body, 2*fastFrameMax/len(small[1].Body))
	for _, e := range []*persistence.Entry{small[0], &large, small[2]} {
		putSync(t, s, e) // a frame each
	}
	s.Delete(small[2].ID)
	flush(t, s)
	s.Close()
	type frame struct {
		size   int
		dict   uint32
		stored bool
	}
	var got []frame
	for _, p := range framePayloads(t, dir) {
		raw, err := s.dec.DecodeAll(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		var h zstd.Header
		if err := h.Decode(p); err != nil {
			t.Fatal(err)
		}
		got = append(got, frame{len(raw), h.DictionaryID, bytes.Equal(p, appendStoredZstd(nil, raw))})
	}
	ok := len(got) == 4 &&
		got[0].size <= fastFrameMax && got[0].dict == 0 && !got[0].stored &&
		got[1].size > fastFrameMax && got[1].dict == 0 && !got[1].stored &&
		got[3].size <= storedFrameMax && got[3].stored
	if !ok {
		t.Fatalf("frames %+v: want a small and a large one without a dictionary, a put, then a stored delete", got)
	}
	s = open(t, dir)
	defer s.Close()
	for _, e := range []*persistence.Entry{small[0], &large} {
		got, err := s.Load(e.ID)
		if err != nil || !bytes.Equal(got.Body, e.Body) {
			t.Fatalf("message %s after a restart: %v", e.ID, err)
		}
	}
	if _, err := s.Load(small[2].ID); err == nil {
		t.Fatal("the deleted message is back after a restart")
	}
}

// TestStoredZstdFrames: the stored frames the writer makes by hand decode with the zstd decoder,
// at every content-size encoding.
func TestStoredZstdFrames(t *testing.T) {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, n := range []int{0, 1, 17, 255, 256, 1000, 0xffff + 256, 0xffff + 257, 128<<10 - 1} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		frame := appendStoredZstd([]byte("x"), p)
		if frame[0] != 'x' {
			t.Fatal("dst overwritten")
		}
		var h zstd.Header
		if err := h.Decode(frame[1:]); err != nil || !h.HasFCS || h.FrameContentSize != uint64(n) {
			t.Fatalf("%d bytes: header %+v, %v", n, h, err)
		}
		got, err := dec.DecodeAll(frame[1:], nil)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: decoded %d bytes, %v", n, len(got), err)
		}
	}
}

// TestCompactionMovesAreDense: fresh puts are written without the dictionary; the puts compaction
// moves, which stay, are compressed against it.
func TestCompactionMovesAreDense(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, func(o *Options) { o.MaxSegmentSize = 4096; o.CompactBelow = 0.5 })
	defer s.Close()
	for i := range 60 {
		putSync(t, s, entryN(i))
		if i%10 != 3 {
			s.Delete(entryN(i).ID)
		}
	}
	flush(t, s)
	withDict := func() int {
		n := 0
		for _, p := range framePayloads(t, dir) {
			var h zstd.Header
			if err := h.Decode(p); err != nil {
				t.Fatal(err)
			}
			if h.DictionaryID == dictV1ID {
				n++
			}
		}
		return n
	}
	if n := withDict(); n != 0 {
		t.Fatalf("%d fresh frames use the dictionary", n)
	}
	if moved := s.CompactOnce(); moved == 0 {
		t.Fatal("compaction moved nothing")
	}
	flush(t, s)
	if n := withDict(); n == 0 {
		t.Fatal("no moved frame uses the dictionary")
	}
	for i := 3; i < 60; i += 10 {
		if e, err := s.Load(entryN(i).ID); err != nil || !bytes.Equal(e.Body, entryN(i).Body) {
			t.Fatalf("message %d after compaction: %v", i, err)
		}
	}
}
