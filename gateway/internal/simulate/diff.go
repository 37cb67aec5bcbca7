package simulate

import (
	"slices"
	"strings"
	"time"
)

// DiffLine is one decision of a comparison of two runs: Side is '=' for a
// decision both took, '-' for one only the first (A) took, '+' for one
// only the second (B) took.
type DiffLine struct {
	Side     byte
	Decision Decision
}

// String is the decision in the diff form: "- 2026-01-05T10:00:00Z ...";
// decisions both took are written with two spaces.
func (l DiffLine) String() string {
	side := l.Side
	if side == '=' {
		side = ' '
	}
	return string(side) + " " + l.Decision.String()
}

// DiffSummary counts a comparison's lines.
type DiffSummary struct {
	Same, OnlyA, OnlyB int
}

// Diff compares the decisions of two runs over the same input. Two
// decisions are the same when they agree on customer, rule, step,
// channel, outcome, reason and virtual time (message and event ids, being
// derived from them, add nothing; details and variants may differ). The
// lines are in time order, a decision both took once, A's before B's at
// the same instant.
func Diff(a, b []Decision) ([]DiffLine, DiffSummary) {
	inB := map[string][]int{}
	for i, d := range b {
		k := diffKey(d)
		inB[k] = append(inB[k], i)
	}
	matched := make([]bool, len(b))
	var lines []DiffLine
	var sum DiffSummary
	for _, d := range a {
		k := diffKey(d)
		if is := inB[k]; len(is) > 0 {
			matched[is[0]] = true
			inB[k] = is[1:]
			lines = append(lines, DiffLine{Side: '=', Decision: d})
			sum.Same++
			continue
		}
		lines = append(lines, DiffLine{Side: '-', Decision: d})
		sum.OnlyA++
	}
	for i, d := range b {
		if !matched[i] {
			lines = append(lines, DiffLine{Side: '+', Decision: d})
			sum.OnlyB++
		}
	}
	slices.SortStableFunc(lines, func(x, y DiffLine) int {
		if c := x.Decision.At.Compare(y.Decision.At); c != 0 {
			return c
		}
		if c := strings.Compare(x.Decision.Customer, y.Decision.Customer); c != 0 {
			return c
		}
		return sideOrder(x.Side) - sideOrder(y.Side)
	})
	return lines, sum
}

func sideOrder(s byte) int {
	switch s {
	case '=':
		return 0
	case '-':
		return 1
	}
	return 2
}

func diffKey(d Decision) string {
	return strings.Join([]string{d.Customer, d.Rule, d.Step, d.Channel, d.Outcome, d.Reason,
		d.At.UTC().Format(time.RFC3339Nano)}, "\x00")
}
