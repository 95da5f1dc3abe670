// Package textsim finds the known name that a mistyped one was probably
// meant to be, for the "did you mean ...?" of wirelab's errors: a Lua
// method or module field (package lua), a command or a bundled script
// (package main).
package textsim

import "strings"

// Suggest returns the candidate closest to name, or "" when none is close
// enough to be a likely slip: an edit distance (insertions, deletions,
// substitutions and swaps of neighbours, case ignored) of at most a third
// of name's length, at least 1 and at most 3. The name itself is never
// suggested; of equally close candidates the first in byte order wins.
func Suggest(name string, candidates []string) string {
	best, bestD := "", 0
	limit := max(1, min(3, len(name)/3))
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := EditDistance(lname, strings.ToLower(c))
		if d > limit || c == name {
			continue
		}
		if best == "" || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// EditDistance is the optimal string alignment distance of a and b, over
// bytes: the fewest insertions, deletions, substitutions and swaps of
// neighbouring bytes that turn a into b. Strings longer than 64 bytes are
// not compared byte by byte (a name that long is no slip): their distance
// is 0 when equal, else the longer length.
func EditDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
