package message

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNode = [6]byte{0x03, 0x11, 0x22, 0x33, 0x44, 0x55}

func TestIDGenNew(t *testing.T) {
	now := time.Date(2024, 11, 8, 15, 30, 12, 123_456_700, time.UTC)
	t.Run("makes a version 1 RFC 4122 UUID", func(t *testing.T) {
		id := NewIDGen(testNode).New(now)
		if id.Version() != 1 {
			t.Errorf("version = %d", id.Version())
		}
		if id[8]&0xc0 != 0x80 {
			t.Errorf("variant bits = %#x, want 10xxxxxx", id[8])
		}
		if [6]byte(id[10:]) != testNode {
			t.Errorf("node = %x, want %x", id[10:], testNode)
		}
	})
	t.Run("embeds the time to 100ns precision", func(t *testing.T) {
		id := NewIDGen(testNode).New(now)
		if got := id.Created(); !got.Equal(now) || got.Location() != time.UTC {
			t.Errorf("Created() = %v, want %v in UTC", got, now)
		}
		sub := now.Add(99) // below the 100ns resolution
		if got := NewIDGen(testNode).New(sub).Created(); !got.Equal(now) {
			t.Errorf("Created() = %v, want %v (truncated)", got, now)
		}
	})
	t.Run("lays out the timestamp fields as RFC 4122 says", func(t *testing.T) {
		// 2024-11-08T15:30:12.1234567Z is 0x1EF9DE6584CB087 100ns ticks after
		// 1582-10-15 (checked with Python's uuid module): time_low 584cb087,
		// time_mid 9de6, version 1 + time_hi 1ef, variant + clock sequence
		// 9234, node 031122334455.
		id := newIDGenSeq(testNode, 0x1234).New(now)
		if got, want := id.String(), "584cb087"+"9de6"+"11ef"+"9234"+"031122334455"; got != want {
			t.Errorf("id = %s, want %s", got, want)
		}
	})
}

func TestIDGenUniqueness(t *testing.T) {
	now := time.Date(2024, 11, 8, 15, 30, 12, 123_456_700, time.UTC)
	t.Run("stays unique when the same time repeats", func(t *testing.T) {
		g := NewIDGen(testNode)
		seen := make(map[SpoolID]bool)
		prev := time.Time{}
		for range 1000 {
			id := g.New(now)
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
			if c := id.Created(); !c.After(prev) {
				t.Fatalf("created time %v did not advance past %v", c, prev)
			}
			prev = id.Created()
		}
	})
	t.Run("stays unique when the clock goes backwards", func(t *testing.T) {
		g := NewIDGen(testNode)
		a := g.New(now)
		b := g.New(now.Add(-time.Hour))
		if a == b || !b.Created().After(a.Created()) {
			t.Errorf("ids %s then %s; created %v then %v", a, b, a.Created(), b.Created())
		}
	})
	t.Run("stays unique across goroutines", func(t *testing.T) {
		g := NewIDGen(testNode)
		var mu sync.Mutex
		seen := make(map[SpoolID]bool)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 500 {
					id := g.New(now)
					mu.Lock()
					if seen[id] {
						t.Errorf("duplicate id %s", id)
					}
					seen[id] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 2000 {
			t.Errorf("got %d distinct ids, want 2000", len(seen))
		}
	})
}

func TestIDGenClockLimits(t *testing.T) {
	t.Run("clamps times before the UUID epoch", func(t *testing.T) {
		id := NewIDGen(testNode).New(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC))
		// Timestamp 0 is bumped to 1 (100ns): a generator never issues a
		// timestamp that is not after the last one, and starts at 0.
		want := time.Date(1582, 10, 15, 0, 0, 0, 100, time.UTC)
		if got := id.Created(); !got.Equal(want) {
			t.Errorf("Created() = %v, want %v", got, want)
		}
	})
	t.Run("clamps times past the 60-bit clock and stays unique", func(t *testing.T) {
		g := NewIDGen(testNode)
		far := time.Date(6000, 1, 1, 0, 0, 0, 0, time.UTC)
		a, b := g.New(far), g.New(far)
		if a == b {
			t.Errorf("duplicate id %s", a)
		}
		if a.Created().Year() != 5236 {
			t.Errorf("Created() = %v, want the year 5236 limit", a.Created())
		}
	})
	t.Run("keeps times before 1970 exact", func(t *testing.T) {
		old := time.Date(1969, 7, 20, 20, 17, 40, 500, time.UTC)
		if got := NewIDGen(testNode).New(old).Created(); !got.Equal(old) {
			t.Errorf("Created() = %v, want %v", got, old)
		}
	})
}

func TestRandomNode(t *testing.T) {
	t.Run("sets the multicast bit", func(t *testing.T) {
		for range 20 {
			if n := RandomNode(); n[0]&0x01 == 0 {
				t.Fatalf("node %x lacks the multicast bit", n)
			}
		}
	})
}

func TestParseSpoolID(t *testing.T) {
	const simple = "d7ef132b5d7711eea8c8000c29c33806"
	tests := []struct{ name, in string }{
		{"32 lowercase hex digits", simple},
		{"32 uppercase hex digits", strings.ToUpper(simple)},
		{"the hyphenated form", "d7ef132b-5d77-11ee-a8c8-000c29c33806"},
		{"the braced form", "{D7EF132B-5D77-11EE-A8C8-000C29C33806}"},
		{"the URN form", "urn:uuid:d7ef132b-5d77-11ee-a8c8-000c29c33806"},
		{"the URN form in capitals", "URN:UUID:d7ef132b-5d77-11ee-a8c8-000c29c33806"},
	}
	for _, tc := range tests {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			id, err := ParseSpoolID(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != simple {
				t.Errorf("String() = %s, want %s", id, simple)
			}
			if id.Hyphenated() != "d7ef132b-5d77-11ee-a8c8-000c29c33806" {
				t.Errorf("Hyphenated() = %s", id.Hyphenated())
			}
		})
	}
	bad := []struct{ name, in, why string }{
		{"the empty string", "", "expected 32 hex digits"},
		{"31 digits", simple[:31], "expected 32 hex digits"},
		{"a non-hex digit", "g" + simple[1:], "not hexadecimal"},
		{"misplaced dashes", "d7ef132b5-d77-11ee-a8c8-000c29c33806", "misplaced dashes"},
		{"a dash in a digit position", "d7ef132b-5d77-11ee-a8c8--00c29c33806", "not hexadecimal"},
		{"braces around the simple form", "{" + simple + "}", "expected 32 hex digits"},
		{"an unclosed brace", "{d7ef132b-5d77-11ee-a8c8-000c29c33806 ", "expected 32 hex digits"},
	}
	for _, tc := range bad {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if _, err := ParseSpoolID(tc.in); err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("ParseSpoolID(%q) error = %v, want one mentioning %q", tc.in, err, tc.why)
			}
		})
	}
}

func TestSpoolIDValues(t *testing.T) {
	t.Run("the zero id is zero", func(t *testing.T) {
		var id SpoolID
		if !id.IsZero() || id.String() != strings.Repeat("0", 32) {
			t.Errorf("zero id: IsZero %v String %s", id.IsZero(), id)
		}
	})
	t.Run("a generated id is not zero", func(t *testing.T) {
		if NewIDGen(testNode).New(time.Unix(0, 0)).IsZero() {
			t.Error("generated id reported zero")
		}
	})
	t.Run("ids of other versions have no creation time", func(t *testing.T) {
		v4, _ := ParseSpoolID("6ba7b810-9dad-41d1-80b4-00c04fd430c8")
		if !v4.Created().IsZero() {
			t.Errorf("v4 Created() = %v, want the zero time", v4.Created())
		}
	})
	t.Run("String re-parses to the same id", func(t *testing.T) {
		id := NewIDGen(RandomNode()).New(time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC))
		back, err := ParseSpoolID(id.String())
		if err != nil || back != id {
			t.Errorf("ParseSpoolID(%s) = %s, %v", id, back, err)
		}
	})
	t.Run("round-trips through JSON text", func(t *testing.T) {
		id := newIDGenSeq(testNode, 7).New(time.Unix(1_700_000_000, 0))
		b, err := json.Marshal(map[string]SpoolID{"id": id})
		if err != nil || string(b) != `{"id":"`+id.String()+`"}` {
			t.Fatalf("json.Marshal = %s, %v", b, err)
		}
		var out map[string]SpoolID
		if err := json.Unmarshal(b, &out); err != nil || out["id"] != id {
			t.Errorf("json.Unmarshal = %v, %v", out, err)
		}
		if err := json.Unmarshal([]byte(`{"id":"nope"}`), &out); err == nil {
			t.Error("json.Unmarshal accepted a bad id")
		}
	})
}

func FuzzParseSpoolID(f *testing.F) {
	for _, s := range []string{
		"d7ef132b5d7711eea8c8000c29c33806", "d7ef132b-5d77-11ee-a8c8-000c29c33806",
		"{d7ef132b-5d77-11ee-a8c8-000c29c33806}", "urn:uuid:d7ef132b-5d77-11ee-a8c8-000c29c33806", "", "{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSpoolID(s)
		if err != nil {
			return
		}
		for _, text := range []string{id.String(), id.Hyphenated()} {
			back, err := ParseSpoolID(text)
			if err != nil || back != id {
				t.Fatalf("%q parsed to %s but %q re-parses to %s, %v", s, id, text, back, err)
			}
		}
		_ = id.Created() // must not panic for any bytes
	})
}
