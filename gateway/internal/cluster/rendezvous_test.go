package cluster

import (
	"fmt"
	"testing"
)

func members(n int) []string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = fmt.Sprintf("gw-%d", i)
	}
	return ms
}

func owners(ms []string, partitions int) []string {
	out := make([]string, partitions)
	for p := range out {
		out[p] = winner(ms, p)
	}
	return out
}

func TestWinnerDeterministicAndOrderFree(t *testing.T) {
	t.Parallel()
	ms := members(5)
	reversed := []string{ms[4], ms[3], ms[2], ms[1], ms[0]}
	for p := range MaxPartitions {
		if a, b := winner(ms, p), winner(reversed, p); a != b {
			t.Fatalf("partition %d: winner %q, reversed member order %q", p, a, b)
		}
	}
	if w := winner(nil, 0); w != "" {
		t.Errorf("winner of no members = %q", w)
	}
}

func TestWinnerBalance(t *testing.T) {
	t.Parallel()
	const partitions = MaxPartitions
	for _, n := range []int{2, 3, 5, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			count := map[string]int{}
			for _, o := range owners(members(n), partitions) {
				count[o]++
			}
			fair := partitions / n
			for _, m := range members(n) {
				if c := count[m]; c < fair*7/10 || c > fair*13/10 {
					t.Errorf("%s owns %d of %d partitions, fair share %d", m, c, partitions, fair)
				}
			}
		})
	}
}

// TestWinnerMovesOnlyWhatMust checks the property the handover relies
// on: a member joining takes partitions only for itself, and a member
// leaving gives up only its own.
func TestWinnerMovesOnlyWhatMust(t *testing.T) {
	t.Parallel()
	const partitions = MaxPartitions
	for n := 1; n <= 6; n++ {
		before := owners(members(n), partitions)
		after := owners(members(n+1), partitions)
		joined := members(n + 1)[n]
		moved := 0
		for p := range partitions {
			if before[p] != after[p] {
				moved++
				if after[p] != joined {
					t.Fatalf("%d→%d members: partition %d moved %s→%s, not to the new member", n, n+1, p, before[p], after[p])
				}
			}
		}
		if want := partitions / (n + 1); moved < want*7/10 || moved > want*13/10 {
			t.Errorf("%d→%d members moved %d partitions, want about %d", n, n+1, moved, want)
		}
		// Leaving is the reverse: only the leaver's partitions move.
		for p := range partitions {
			if after[p] != joined && before[p] != after[p] {
				t.Fatalf("%d→%d members: partition %d of a staying member moved", n+1, n, p)
			}
		}
	}
}

func BenchmarkWinner(b *testing.B) {
	ms := members(5)
	for i := 0; b.Loop(); i++ {
		winner(ms, i%MaxPartitions)
	}
}
