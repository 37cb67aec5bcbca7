package cluster

import "strconv"

// FNV-64a parameters.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// score is member's rendezvous weight for partition p: FNV-64a of
// "member/p", put through a 64-bit finalizer because FNV alone varies too
// little in its high bits between keys that differ only at the end.
func score(member string, p int) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(member); i++ {
		h ^= uint64(member[i])
		h *= fnvPrime64
	}
	h ^= '/'
	h *= fnvPrime64
	var buf [20]byte
	for _, b := range strconv.AppendInt(buf[:0], int64(p), 10) {
		h ^= uint64(b)
		h *= fnvPrime64
	}
	// splitmix64 finalizer.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// winner returns the member that owns partition p: the one with the
// highest score, ties going to the greater id. Every node computes the
// same winner from the same member set, and a member joining or leaving
// moves only the partitions it wins or won. "" when members is empty.
func winner(members []string, p int) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		s := score(m, p)
		if best == "" || s > bestScore || (s == bestScore && m > best) {
			best, bestScore = m, s
		}
	}
	return best
}
