package bench

import (
	"bytes"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

var genBase = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestGeneratorRecordsDecode(t *testing.T) {
	// Every record type, so that each branch of the generator is decoded at least once.
	var all Mix
	for _, rt := range message.RecordTypes() {
		all = append(all, Share{rt, 1})
	}
	g := NewGenerator(7, all, 3, genBase)
	seenTypes := map[message.RecordType]int{}
	ids := map[string]bool{}
	for seq := range 3000 {
		body := g.Body(nil, seq)
		if body[len(body)-1] != '\n' {
			t.Fatalf("record %d: the body does not end in a newline", seq)
		}
		rec, err := message.DecodeRecord(body[:len(body)-1])
		if err != nil {
			t.Fatalf("record %d does not decode: %v\n%s", seq, err, body)
		}
		seenTypes[rec.Type]++
		if again := rec.AppendJSON(nil); !bytes.Equal(again, body[:len(body)-1]) {
			t.Fatalf("record %d does not survive decoding and encoding:\n%s\n%s", seq, body, again)
		}
		if got := string(rec.Headers[SeqHeader]); got != strconv.Quote(strconv.Itoa(seq)) {
			t.Fatalf("record %d: %s header = %s", seq, SeqHeader, got)
		}
		if seqs, bad := scanSeqs(body); len(seqs) != 1 || seqs[0] != seq || bad != 0 {
			t.Fatalf("record %d: the receiver's scan finds %v (%d bad)", seq, seqs, bad)
		}
		if rec.Type == message.Rejection {
			if rec.ID != "" {
				t.Errorf("record %d: a Rejection has id %q; KumoMTA writes none", seq, rec.ID)
			}
			continue
		}
		if len(rec.ID) != 32 || ids[rec.ID] {
			t.Fatalf("record %d: id %q is malformed or repeated", seq, rec.ID)
		}
		ids[rec.ID] = true
		if rec.NodeID == "" || rec.EventTime.IsZero() || rec.Timestamp == 0 || len(rec.Recipient) != 1 {
			t.Errorf("record %d leaves a field for the engine to fill: %s", seq, body)
		}
	}
	if len(seenTypes) != len(message.RecordTypes()) {
		t.Errorf("made %d record types of %d: %v", len(seenTypes), len(message.RecordTypes()), seenTypes)
	}
}

func TestGeneratorSizes(t *testing.T) {
	g := NewGenerator(1, DefaultMix, 4, genBase)
	const n = 5000
	total, smallest, largest := 0, math.MaxInt, 0
	for seq := range n {
		size := len(g.Body(nil, seq))
		total += size
		smallest, largest = min(smallest, size), max(largest, size)
	}
	// KumoMTA's record format alone (field names, nulls, times, nodeid) is about 560 bytes; a
	// realistic outbound record with its response, site, egress and captured headers is 850-1050.
	mean := float64(total) / n
	if mean < 600 || mean > 1100 || smallest < 500 || largest > 1400 {
		t.Errorf("body sizes: mean %.0f, smallest %d, largest %d; want a mean of 600-1100 bytes", mean, smallest, largest)
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a := NewGenerator(3, DefaultMix, 2, genBase)
	b := NewGenerator(3, DefaultMix, 2, genBase)
	other := NewGenerator(4, DefaultMix, 2, genBase)
	differ := 0
	// Out of order on purpose: a record depends on its number only.
	for _, seq := range []int{9, 0, 5, 1, 7, 3, 2, 8, 4, 6} {
		if !bytes.Equal(a.Body(nil, seq), b.Body(nil, seq)) {
			t.Fatalf("record %d differs between two generators with one seed", seq)
		}
		if !bytes.Equal(a.Body(nil, seq), other.Body(nil, seq)) {
			differ++
		}
	}
	if differ == 0 {
		t.Errorf("a different seed makes the same records")
	}
}

func TestGeneratorMixAndQueues(t *testing.T) {
	mix, err := ParseMix("Delivery=6,Bounce=3,TransientFailure=1,Reception=0")
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(1, mix, 5, genBase)
	const n = 20000
	types := map[message.RecordType]int{}
	tenants := map[string]bool{}
	for seq := range n {
		r := g.Record(seq)
		types[r.Type]++
		tenants[string(r.Meta["tenant"])] = true
	}
	want := map[message.RecordType]float64{message.Delivery: 0.6, message.Bounce: 0.3, message.TransientFailure: 0.1}
	for rt, frac := range want {
		if got := float64(types[rt]) / n; math.Abs(got-frac) > 0.02 {
			t.Errorf("%s: %.3f of the records; want %.2f", rt, got, frac)
		}
	}
	if len(types) != len(want) {
		t.Errorf("types made: %v; a weight of zero must make none", types)
	}
	if len(tenants) != 5 {
		t.Errorf("%d distinct tenants; want 5 (--queues)", len(tenants))
	}
	if many := NewGenerator(1, mix, 20, genBase); len(many.tenants) != 20 || many.tenants[8] == many.tenants[0] {
		t.Errorf("20 tenants: %v; want 20 distinct names", many.tenants)
	}
}
