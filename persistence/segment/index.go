package segment

import (
	"encoding/binary"
	"math/bits"
	"runtime"

	"github.com/hookd/hookd/internal/offheap"
	"github.com/hookd/hookd/message"
)

// loc is where an entry lives: segment, frame offset, index within the frame.
type loc struct {
	seg uint32 // segments are numbered from 1; 0 marks an empty index cell
	off uint32
	idx uint16
}

// slot is what the store keeps in memory per live message: where its put is, where its latest
// update is (0 = none), its queue (an interned name), and its current attempts and due time (folded
// into the put when compaction moves it). It has no 8-byte field, so it packs into 24 bytes.
type slot struct {
	put      loc
	attempts uint16
	updSeg   uint32
	queue    uint32
	due      dueSecs
}

// dueSecs is a due time in whole unix seconds (0 = due at once): what recovery needs, in 4 bytes
// (good until 2106).
type dueSecs uint32

func toDueSecs(nanos int64) dueSecs {
	if nanos <= 0 {
		return 0
	}
	return dueSecs((nanos + 1e9 - 1) / 1e9) // round up: never earlier than asked
}

func (d dueSecs) nanos() int64 { return int64(d) * 1e9 }

// cell is one place of the index table: 40 bytes, no pointers.
type cell struct {
	id message.SpoolID
	s  slot
}

// index maps live messages to their slots: 64 shards, each an open-addressing hash table with
// linear probing, deletion by backward shift, growth by a quarter and shrinking once mostly empty.
// A million messages cost 47-59 MB instead of the ~110 MB of a Go map of the same entries; since a
// shard resizes alone, a resize holds a second copy of 1/64 of the index rather than of all of it;
// and a backlog that drained gives its memory back.
//
// The cells live outside the Go heap (internal/offheap): they hold no pointers, and on the heap a
// million of them would let the collector's goal grow by their size again. Each table frees its
// old cells when it resizes; the index's cleanup frees the last ones once the index is unreachable.
type index struct {
	shards [indexShards]table
	n      int
	owned  *ownedCells
}

// ownedCells are the current cells of every shard, apart from the index so that the cleanup that
// frees them does not keep the index reachable.
type ownedCells [indexShards][]cell

// table is one shard: cells homed by the hash bits below the shard bits.
type table struct {
	cells []cell
	n     int
	own   *[]cell // this shard's place in the index's ownedCells
}

const (
	indexShardBits = 6
	indexShards    = 1 << indexShardBits
	tableMinCap    = 16
	indexMaxLoad   = 0.85 // a full shard grows by a quarter: back to a load of 0.68
	indexMinLoad   = 0.2  // a shard this empty shrinks to a load of 0.5
)

func newIndex() *index {
	x := &index{owned: &ownedCells{}}
	for i := range x.shards {
		t := &x.shards[i]
		t.own = &x.owned[i]
		t.setCells(offheap.MustMake[cell](tableMinCap))
	}
	runtime.AddCleanup(x, func(o *ownedCells) {
		for i := range o {
			offheap.Free(o[i])
		}
	}, x.owned)
	return x
}

// setCells makes cells the table's, freeing the ones it replaces.
func (x *table) setCells(cells []cell) {
	old := x.cells
	x.cells = cells
	*x.own = cells
	offheap.Free(old)
}

func hashID(id message.SpoolID) uint64 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(id[8:]), 29)
	h ^= h >> 33 // splitmix64 finaliser: spreads the time and node bits of v1 ids
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// shard picks an id's table by the top bits of its hash.
func (x *index) shard(id message.SpoolID) *table { return &x.shards[hashID(id)>>(64-indexShardBits)] }

func (x *index) get(id message.SpoolID) (slot, bool) { return x.shard(id).get(id) }

func (x *index) set(id message.SpoolID, s slot) {
	t := x.shard(id)
	n := t.n
	t.set(id, s)
	x.n += t.n - n
}

func (x *index) del(id message.SpoolID) {
	t := x.shard(id)
	n := t.n
	t.del(id)
	x.n += t.n - n
}

func (x *index) len() int { return x.n }

func (x *index) each(fn func(message.SpoolID, slot)) {
	for i := range x.shards {
		x.shards[i].each(fn)
	}
}

// home is the cell an id hashes to: a multiply-shift range reduction of the hash bits the shard
// choice left (so the table size need not be a power of two).
func (x *table) home(id message.SpoolID) int {
	hi, _ := bits.Mul64(hashID(id)<<indexShardBits, uint64(len(x.cells)))
	return int(hi)
}

func (x *table) find(id message.SpoolID) (int, bool) {
	n := len(x.cells)
	for i := x.home(id); ; i++ {
		if i == n {
			i = 0
		}
		c := &x.cells[i]
		if c.s.put.seg == 0 {
			return i, false
		}
		if c.id == id {
			return i, true
		}
	}
}

func (x *table) get(id message.SpoolID) (slot, bool) {
	i, ok := x.find(id)
	if !ok {
		return slot{}, false
	}
	return x.cells[i].s, true
}

func (x *table) set(id message.SpoolID, s slot) {
	i, ok := x.find(id)
	if ok {
		x.cells[i].s = s
		return
	}
	if float64(x.n+1) > indexMaxLoad*float64(len(x.cells)) {
		x.resize(len(x.cells) + len(x.cells)/4)
		i, _ = x.find(id)
	}
	x.cells[i] = cell{id: id, s: s}
	x.n++
}

// resize rehashes the table into n cells.
func (x *table) resize(n int) {
	old := x.cells
	x.cells = offheap.MustMake[cell](n)
	for i := range old {
		if old[i].s.put.seg != 0 {
			j, _ := x.find(old[i].id)
			x.cells[j] = old[i]
		}
	}
	cells := x.cells
	x.cells = old
	x.setCells(cells)
}

// del removes id and shifts back the entries that probed past it, so no tombstones are needed.
func (x *table) del(id message.SpoolID) {
	hole, ok := x.find(id)
	if !ok {
		return
	}
	n := len(x.cells)
	for j := hole + 1; ; j++ {
		if j == n {
			j = 0
		}
		c := &x.cells[j]
		if c.s.put.seg == 0 {
			break
		}
		if h := x.home(c.id); between(h, hole, j) {
			continue // it cannot move before its home
		}
		x.cells[hole] = *c
		hole = j
	}
	x.cells[hole] = cell{}
	x.n--
	if len(x.cells) > tableMinCap && float64(x.n) < indexMinLoad*float64(len(x.cells)) {
		x.resize(max(tableMinCap, x.n*2)) // a drained backlog hands its memory back
	}
}

// between reports whether h lies cyclically in (hole, j]: an entry homed there must stay after hole.
func between(h, hole, j int) bool {
	if hole <= j {
		return h > hole && h <= j
	}
	return h > hole || h <= j
}

func (x *table) each(fn func(message.SpoolID, slot)) {
	for i := range x.cells {
		if x.cells[i].s.put.seg != 0 {
			fn(x.cells[i].id, x.cells[i].s)
		}
	}
}
