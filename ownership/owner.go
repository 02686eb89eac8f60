package ownership

// Member is one live member of a cluster: its --cluster-id and the incarnation of this run of it
// (a member restarted after a crash comes back with a new incarnation). IDs are not empty.
type Member struct {
	ID          string
	Incarnation uint64
}

// The 64-bit FNV-1a parameters.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// Owner returns the member ID that owns queue among ids by rendezvous (highest random weight)
// hashing: the ID with the greatest weight for the queue; of two IDs with the same weight, the
// smaller (by byte comparison). It returns "" when ids is empty. Duplicates in ids do not matter.
//
// The weight of an ID for a queue is fixed, because every member must compute it alike, in every
// version and on every platform:
//
//	h := 64-bit FNV-1a (offset 14695981039346656037, prime 1099511628211) over
//	     the bytes of id, one 0 byte, and the bytes of queue
//	h ^= h >> 30; h *= 0xbf58476d1ce4e5b9
//	h ^= h >> 27; h *= 0x94d049bb133111eb
//	h ^= h >> 31
//	weight = h
//
// The three lines after the hash are the splitmix64 finaliser (without splitmix64's added
// constant), with multiplication modulo 2^64. The FNV-1a hash is what hash/fnv.New64a computes.
func Owner(queue string, ids []string) string {
	return pick(queue, ids, weight)
}

// pick is Owner with the weight function as an argument, so that the tie-break can be tested.
func pick(queue string, ids []string, w func(id, queue string) uint64) string {
	best, bestW := "", uint64(0)
	for i, id := range ids {
		wi := w(id, queue)
		if i == 0 || wi > bestW || (wi == bestW && id < best) {
			best, bestW = id, wi
		}
	}
	return best
}

// weight is the rendezvous weight of id for queue, as documented on Owner.
func weight(id, queue string) uint64 {
	h := fnvString(fnvOffset, id)
	h = fnvByte(h, 0)
	h = fnvString(h, queue)
	return mix(h)
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvByte(h uint64, b byte) uint64 {
	h ^= uint64(b)
	return h * fnvPrime
}

func fnvUint64(h, v uint64) uint64 {
	for shift := 56; shift >= 0; shift -= 8 {
		h = fnvByte(h, byte(v>>shift))
	}
	return h
}

// mix is the splitmix64 finaliser.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// viewID is the ID of a view of members, which must be sorted by ID with no ID twice: 64-bit
// FNV-1a over, for each member in order, the length of its ID as 8 bytes big-endian, the bytes of
// the ID and the incarnation as 8 bytes big-endian; then the splitmix64 finaliser, as for Owner.
// A result of 0 is replaced by 1, so that 0 never names a view.
func viewID(members []Member) uint64 {
	h := fnvOffset
	for _, m := range members {
		h = fnvUint64(h, uint64(len(m.ID)))
		h = fnvString(h, m.ID)
		h = fnvUint64(h, m.Incarnation)
	}
	if id := mix(h); id != 0 {
		return id
	}
	return 1
}
