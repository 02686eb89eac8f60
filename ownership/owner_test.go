package ownership

import (
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
)

// TestOwnerPinned: the owners below were computed once and written here. Every member of a
// cluster, of any version, must compute them alike, so a change to the weight function fails.
func TestOwnerPinned(t *testing.T) {
	abc := []string{"mx-a", "mx-b", "mx-c"}
	for _, c := range []struct {
		queue string
		ids   []string
		want  string
	}{
		{"outlook.com", abc, "mx-c"},
		{"yahoo.com", abc, "mx-a"},
		{"mail.ru", abc, "mx-b"},
		{"orange.fr", abc, "mx-c"},
		{"web.de", abc, "mx-a"},
		{"example.com", []string{"a", "b", "c"}, "a"},
		{"campaign:tenant@yahoo.com", []string{"a", "b", "c"}, "a"},
		{"q", []string{"node-1", "node-2", "node-3", "node-4", "node-5"}, "node-5"},
		{"a", []string{"m1", "m2"}, "m2"},
		{"b", []string{"m1", "m2"}, "m1"},
		{"", []string{"x", "y"}, "x"},
		{"hotmail.com", []string{"solo"}, "solo"},
		{"hotmail.com", nil, ""},
	} {
		if got := Owner(c.queue, c.ids); got != c.want {
			t.Errorf("Owner(%q, %q) = %q, want %q", c.queue, c.ids, got, c.want)
		}
		// The order of ids and duplicates in it do not matter.
		rev := slices.Clone(c.ids)
		slices.Reverse(rev)
		rev = append(rev, c.ids...)
		if got := Owner(c.queue, rev); got != c.want {
			t.Errorf("Owner(%q, %q) = %q, want %q", c.queue, rev, got, c.want)
		}
	}
}

// TestWeightFunction: the weight is FNV-1a 64 (as hash/fnv computes it) over id, 0, queue, then
// the splitmix64 finaliser; the finaliser and a few weights are pinned.
func TestWeightFunction(t *testing.T) {
	// splitmix64 seeded with 0 first outputs mix(0x9e3779b97f4a7c15) = 0xe220a8397b1dcdaf.
	if got := mix(0x9e3779b97f4a7c15); got != 0xe220a8397b1dcdaf {
		t.Errorf("mix(golden gamma) = %#x, want the splitmix64 reference 0xe220a8397b1dcdaf", got)
	}
	for _, c := range []struct {
		id, queue string
		want      uint64
	}{
		{"a", "example.com", 0xd68714d926341f54},
		{"", "", 0x25fc6dd36ce04b20},
		{"node-1", "q", 0x45f755cd432248c6},
		{"mx-a", "outlook.com", 0x15d0e4c6f3509abc},
	} {
		if got := weight(c.id, c.queue); got != c.want {
			t.Errorf("weight(%q, %q) = %#x, want %#x", c.id, c.queue, got, c.want)
		}
		h := fnv.New64a()
		h.Write([]byte(c.id + "\x00" + c.queue))
		if got, ref := weight(c.id, c.queue), mix(h.Sum64()); got != ref {
			t.Errorf("weight(%q, %q) = %#x; hash/fnv gives %#x", c.id, c.queue, got, ref)
		}
	}
	// The 0 byte separates id from queue: moving a byte across it changes the weight.
	if weight("ab", "c") == weight("a", "bc") {
		t.Error(`weight("ab", "c") == weight("a", "bc")`)
	}
}

// TestOwnerTieBreak: of IDs with the same weight, the smaller wins, wherever it is in ids.
func TestOwnerTieBreak(t *testing.T) {
	flat := func(id, queue string) uint64 { return 7 }
	for _, ids := range [][]string{{"b", "a", "c"}, {"c", "b", "a"}, {"a", "c"}, {"z", "y", "x", "a"}} {
		if got := pick("q", ids, flat); got != "a" {
			t.Errorf("pick with equal weights over %q = %q, want a", ids, got)
		}
	}
	// Two equal highest weights above a lower one: the smaller of the two.
	two := func(id, queue string) uint64 {
		if id == "a" {
			return 1
		}
		return 9
	}
	if got := pick("q", []string{"a", "d", "c"}, two); got != "c" {
		t.Errorf("pick = %q, want c (tied with d at the highest weight, and smaller)", got)
	}
	// The highest weight wins over a smaller ID, and a zero weight is still a weight.
	high := func(id, queue string) uint64 {
		if id == "z" {
			return 2
		}
		return 0
	}
	if got := pick("q", []string{"a", "z", "b"}, high); got != "z" {
		t.Errorf("pick = %q, want z", got)
	}
	if got := pick("q", []string{"b", "a"}, func(string, string) uint64 { return 0 }); got != "a" {
		t.Errorf("pick with zero weights = %q, want a", got)
	}
}

func queues(n int) []string {
	qs := make([]string, n)
	for i := range qs {
		qs[i] = fmt.Sprintf("tenant%d@domain%d.example", i%37, i)
	}
	return qs
}

// TestOwnerSpread: 10k queues over 3 members give each between 25% and 42% of them.
func TestOwnerSpread(t *testing.T) {
	ids := []string{"hookd-1", "hookd-2", "hookd-3"}
	count := map[string]int{}
	qs := queues(10000)
	for _, q := range qs {
		count[Owner(q, ids)]++
	}
	for _, id := range ids {
		if share := float64(count[id]) / float64(len(qs)); share < 0.25 || share > 0.42 {
			t.Errorf("%s owns %.1f%% of the queues, want 25%%..42%% (%v)", id, 100*share, count)
		}
	}
	if len(count) != len(ids) {
		t.Errorf("owners %v, want only %q", count, ids)
	}
}

// TestMinimalMovement: a member that joins takes queues only to itself; a member that goes gives
// away only its own queues.
func TestMinimalMovement(t *testing.T) {
	qs := queues(10000)
	for _, c := range []struct {
		name        string
		before, now []string
	}{
		{"join", []string{"a", "b", "c"}, []string{"a", "b", "c", "d"}},
		{"join one", []string{"a"}, []string{"a", "b"}},
		{"leave", []string{"a", "b", "c", "d"}, []string{"a", "c", "d"}},
		{"leave to one", []string{"a", "b"}, []string{"b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			moved := 0
			for _, q := range qs {
				from, to := Owner(q, c.before), Owner(q, c.now)
				if from == to {
					continue
				}
				moved++
				joined := !slices.Contains(c.before, to)
				gone := !slices.Contains(c.now, from)
				if !joined && !gone {
					t.Fatalf("%s moved from %s to %s, neither of which joined or went", q, from, to)
				}
				if len(c.now) > len(c.before) && !joined {
					t.Fatalf("on a join, %s moved from %s to %s, not to the new member", q, from, to)
				}
				if len(c.now) < len(c.before) && !gone {
					t.Fatalf("on a leave, %s moved away from %s, which stayed", q, from)
				}
			}
			// About 1/n of the queues move; far fewer than all, and some.
			if moved == 0 || moved > len(qs)*6/10 {
				t.Errorf("%d of %d queues moved", moved, len(qs))
			}
		})
	}
}

// TestViewIDPinned: the view ID is part of the protocol between members, so it is pinned too.
func TestViewIDPinned(t *testing.T) {
	for _, c := range []struct {
		members []Member
		want    uint64
	}{
		{nil, 0xf52a15e9a9b5e89b},
		{[]Member{{"a", 1}}, 0xd6f3d64b72e09682},
		{[]Member{{"a", 1}, {"b", 2}}, 0xbfb1c17487949b9b},
	} {
		if got := viewID(c.members); got != c.want {
			t.Errorf("viewID(%v) = %#x, want %#x", c.members, got, c.want)
		}
	}
	// The length prefix keeps IDs apart: {"ab"} and {"a","b"} differ even with equal bytes.
	if viewID([]Member{{"a", 0}, {"b", 0}}) == viewID([]Member{{"ab", 0}}) {
		t.Error("viewID confuses {a, b} with {ab}")
	}
}
