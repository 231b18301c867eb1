package planner

// Coordinated random sampling (DESIGN.md §4 step 1) and the verification of
// recorded target draws (step 2).
//
// Every function here is a pure function of its arguments, so that anyone who
// holds the revealed year key can recompute a published draw. The exact
// arithmetic is part of the contract and is spelled out below; an independent
// verifier must follow it to reproduce draws bit for bit.
//
// # Permanent random numbers
//
// u_b = PRN(yearKey, salt, uscc): the first 8 bytes of
// HMAC-SHA256(yearKey, msg), msg = uscc when salt is "" and salt+"/"+uscc
// otherwise, read as a big-endian uint64 x; u_b = float64(x) / 2^64 (the
// conversion rounds to nearest, as in any IEEE 754 language). For
// x ≥ 2^64 − 2^10 that rounds to exactly 1, so u_b is then clamped to the
// largest float64 below 1 (a 2^-54 event).
//
// # Frames and the key list
//
// A frame is a list of candidates with weights. Resolve takes key-list (重点)
// businesses of a sample population outside the random draw: they are
// recorded in Draw.Certain, not in the frame, and do not use up n; the
// result is they followed by the n drawn from the frame (TargetResult).
// A frame candidate whose Weight is not a positive finite number is still a
// certainty selection that counts toward n (drawn first): draws recorded
// before key-list members were taken apart carried them that way, and
// verify as they were made. docs/draws.md specifies all of it to the byte.
//
// # Inclusion probabilities (sequential Poisson sampling)
//
// Candidates are taken in key order (bytewise; the frame is sorted first if it
// is not). Let n' = min(max(n,0), len(frame)). The certainty members are
// marked π = 1 and m = n' − (number of them). Then, while m > 0: W = the sum
// of the weights of the unmarked candidates, added in key order; λ_b =
// float64(m) * w_b / W for each unmarked b; if m ≥ the number of unmarked
// candidates all of them get π = 1; else every b with λ_b ≥ 1 gets π = 1 and m
// shrinks by their number; if none reached 1 the remaining π_b = λ_b and the
// loop ends.
//
// # The draw
//
// s = shift − ⌊shift⌋ (0 if that rounds to 1). For each candidate with π < 1:
// x_b = u_b + s, minus 1 if x_b ≥ 1; rank_b = x_b / π_b (+Inf when π_b is 0 or
// the quotient is NaN). The result is the certainty members in key order,
// then the m candidates with the smallest (rank, key), in that order.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
)

// PRN is a business's permanent random number u_b in [0,1):
// HMAC-SHA256(yearKey, salt+"/"+uscc) (salt "" → just uscc), first 8 bytes
// big-endian / 2^64, kept below 1 (see the notes at the top of sampling.go).
func PRN(yearKey []byte, salt, uscc string) float64 {
	g := newPRNGen(yearKey, salt)
	return g.u(uscc)
}

// prnGen computes PRNs for one (year key, salt) without allocating per call.
type prnGen struct {
	h   hash.Hash
	msg []byte
	pre int // length of the salt prefix in msg
	sum []byte
}

// prnMax is the largest float64 below 1.
const prnMax = 1 - 0x1p-53

func newPRNGen(yearKey []byte, salt string) *prnGen {
	g := &prnGen{h: hmac.New(sha256.New, yearKey), sum: make([]byte, 0, sha256.Size)}
	if salt != "" {
		g.msg = append(g.msg, salt...)
		g.msg = append(g.msg, '/')
	}
	g.pre = len(g.msg)
	return g
}

func (g *prnGen) u(uscc string) float64 {
	g.msg = append(g.msg[:g.pre], uscc...)
	g.h.Reset()
	g.h.Write(g.msg)
	g.sum = g.h.Sum(g.sum[:0])
	u := float64(binary.BigEndian.Uint64(g.sum[:8])) * 0x1p-64
	if u >= 1 {
		u = prnMax
	}
	return u
}

// NextShift rotates the cycle shift: (prev + fraction) mod 1, always in [0,1).
func NextShift(prev, fraction float64) float64 {
	return unitFrac(prev + fraction)
}

// unitFrac returns x − ⌊x⌋ in [0,1) (0 for NaN and infinities).
func unitFrac(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	f := x - math.Floor(x)
	if f >= 1 { // a tiny negative x rounds up to 1
		f = 0
	}
	return f
}

// FrameHash is the hex SHA-256 of the canonical frame: the candidates sorted
// by key (then by weight), each written "key\tweight\n" with the weight
// formatted by strconv.FormatFloat(w, 'g', -1, 64).
func FrameHash(frame []Candidate) string {
	if !frameSorted(frame) {
		frame = slices.Clone(frame)
		slices.SortStableFunc(frame, func(a, b Candidate) int {
			if c := strings.Compare(a.Key, b.Key); c != 0 {
				return c
			}
			return cmpWeight(a.Weight, b.Weight)
		})
	}
	return frameHashSorted(frame)
}

func cmpWeight(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// frameSorted reports whether the frame is sorted by key with distinct keys
// (the form Resolve records).
func frameSorted(frame []Candidate) bool {
	for i := 1; i < len(frame); i++ {
		if frame[i-1].Key >= frame[i].Key {
			return false
		}
	}
	return true
}

// frameHashSorted hashes a frame already in canonical order. Weights take few
// distinct values, so their formatted text is cached.
func frameHashSorted(frame []Candidate) string {
	h := sha256.New()
	buf := make([]byte, 0, 64<<10)
	var cacheBits [8]uint64
	var cacheText [8]string
	cached := 0
	for _, c := range frame {
		bits := math.Float64bits(c.Weight)
		text := ""
		found := false
		for i := 0; i < cached; i++ {
			if cacheBits[i] == bits {
				text, found = cacheText[i], true
				break
			}
		}
		if !found {
			text = strconv.FormatFloat(c.Weight, 'g', -1, 64)
			slot := cached
			if cached < len(cacheBits) {
				cached++
			} else {
				slot = int(bits % uint64(len(cacheBits)))
			}
			cacheBits[slot], cacheText[slot] = bits, text
		}
		if len(buf)+len(c.Key)+len(text)+2 > cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = append(buf, c.Key...)
		buf = append(buf, '\t')
		buf = append(buf, text...)
		buf = append(buf, '\n')
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

// certainWeight reports whether a weight marks a certainty selection by the
// key-list convention: anything but a positive finite number.
func certainWeight(w float64) bool {
	return !(w > 0) || math.IsInf(w, 1)
}

// InclusionProbabilities returns π_b for drawing n from frame by sequential
// Poisson sampling with certainty selections: λ_b = n·w_b/Σw; any λ_b ≥ 1 is
// taken with certainty (π=1), n shrinks by the number taken, and λ is
// recomputed over the rest until none reaches 1. Candidates with a weight that
// is not a positive finite number (the key-list convention, Weight 0) have π=1
// and count toward n. The result is aligned with frame. Σπ = max(n', number of
// certainty members) with n' = min(n, len(frame)), up to rounding.
func InclusionProbabilities(frame []Candidate, n int) []float64 {
	perm := frameKeyOrder(frame)
	sorted := frame
	if perm != nil {
		sorted = make([]Candidate, len(frame))
		for i, p := range perm {
			sorted[i] = frame[p]
		}
	}
	pi := make([]float64, len(frame))
	inclusionSorted(sorted, n, pi)
	if perm == nil {
		return pi
	}
	out := make([]float64, len(frame))
	for i, p := range perm {
		out[p] = pi[i]
	}
	return out
}

// frameKeyOrder returns nil when frame is sorted by key, else the permutation that
// sorts it (stable, so duplicate keys keep their order).
func frameKeyOrder(frame []Candidate) []int {
	if frameSorted(frame) {
		return nil
	}
	perm := make([]int, len(frame))
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return strings.Compare(frame[a].Key, frame[b].Key) })
	return perm
}

// inclusionSorted fills pi (len(frame)) for a frame in key order and returns
// the number of certainty selections (π = 1) and the number to draw by rank
// among the others (π < 1).
func inclusionSorted(frame []Candidate, n int, pi []float64) (certain, m int) {
	n = max(0, min(n, len(frame)))
	open := 0
	for i, c := range frame {
		if certainWeight(c.Weight) {
			pi[i] = 1
			certain++
		} else {
			pi[i] = 0
			open++
		}
	}
	rest := max(0, n-certain)
	for rest > 0 {
		if rest >= open {
			for i := range pi {
				if pi[i] < 1 {
					pi[i] = 1
					certain++
				}
			}
			return certain, 0
		}
		var w float64
		for i, c := range frame {
			if pi[i] < 1 {
				w += c.Weight
			}
		}
		taken := 0
		fm := float64(rest)
		for i, c := range frame {
			if pi[i] < 1 {
				l := fm * c.Weight / w
				if l >= 1 {
					pi[i] = 1
					taken++
				} else {
					pi[i] = l
				}
			}
		}
		if taken == 0 {
			break
		}
		certain += taken
		open -= taken
		rest -= taken
	}
	if rest == 0 {
		// Certainties used up n: the others are not drawn.
		for i := range pi {
			if pi[i] < 1 {
				pi[i] = 0
			}
		}
	}
	return certain, rest
}

// spsRank is a candidate's rank in a draw.
type spsRank struct {
	r float64
	i int32
}

func spsLess(a, b spsRank) bool { return a.r < b.r || (a.r == b.r && a.i < b.i) }

// drawSorted draws from a frame in key order with distinct keys; u[i] is the
// permanent random number of frame[i]. It returns frame positions in draw
// order. pi and ranks are scratch buffers (len(frame) and any capacity).
func drawSorted(frame []Candidate, u []float64, n int, shift float64, pi []float64, ranks []spsRank) ([]int32, []spsRank) {
	certain, m := inclusionSorted(frame, n, pi)
	out := make([]int32, 0, certain+m)
	for i := range frame {
		if pi[i] >= 1 {
			out = append(out, int32(i))
		}
	}
	if m == 0 {
		return out, ranks
	}
	s := unitFrac(shift)
	ranks = ranks[:0]
	for i := range frame {
		p := pi[i]
		if p >= 1 {
			continue
		}
		x := u[i] + s
		if x >= 1 {
			x--
		}
		r := math.Inf(1)
		if p > 0 {
			if q := x / p; !math.IsNaN(q) {
				r = q
			}
		}
		ranks = append(ranks, spsRank{r, int32(i)})
	}
	spsSelect(ranks, m)
	sel := ranks[:m]
	slices.SortFunc(sel, func(a, b spsRank) int {
		if spsLess(a, b) {
			return -1
		}
		if spsLess(b, a) {
			return 1
		}
		return 0
	})
	for _, it := range sel {
		out = append(out, it.i)
	}
	return out, ranks
}

// spsSelect rearranges a so that a[:k] holds its k smallest items (in
// any order): quickselect with a median-of-three pivot. Items are distinct
// (ties on r are broken by i), so the order is total.
func spsSelect(a []spsRank, k int) {
	if k <= 0 || k >= len(a) {
		return
	}
	lo, hi := 0, len(a)-1
	t := k - 1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if spsLess(a[mid], a[lo]) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if spsLess(a[hi], a[lo]) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if spsLess(a[hi], a[mid]) {
			a[hi], a[mid] = a[mid], a[hi]
		}
		p := a[mid]
		i, j := lo, hi
		for i <= j {
			for spsLess(a[i], p) {
				i++
			}
			for spsLess(p, a[j]) {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case t <= j:
			hi = j
		case t >= i:
			lo = i
		default:
			return
		}
	}
}

// DrawSample draws n keys from frame: the certainty selections, then the rest
// ranked by ((u_b + shift) mod 1) / λ_b ascending (ties by key), where u is
// the PRN function. It returns the drawn keys in draw order (certainties
// first, sorted by key, then by rank): min(n, len(frame)) keys, or all the
// certainty members if they are more (key-list convention: a candidate whose
// Weight is not a positive finite number is always drawn). The frame may be
// in any order; keys are expected to be distinct.
func DrawSample(frame []Candidate, n int, shift float64, u func(key string) float64) []string {
	sorted := frame
	if perm := frameKeyOrder(frame); perm != nil {
		sorted = make([]Candidate, len(frame))
		for i, p := range perm {
			sorted[i] = frame[p]
		}
	}
	us := make([]float64, len(sorted))
	for i, c := range sorted {
		us[i] = u(c.Key)
	}
	pos, _ := drawSorted(sorted, us, n, shift, make([]float64, len(sorted)), nil)
	out := make([]string, len(pos))
	for i, p := range pos {
		out[i] = sorted[p].Key
	}
	return out
}

// TargetResult is a target draw's result: the key-list members certain (in
// key order) followed by DrawSample(frame, n, shift, u).
func TargetResult(certain []string, frame []Candidate, n int, shift float64, u func(key string) float64) []string {
	drawn := DrawSample(frame, n, shift, u)
	return append(slices.Clone(certain), drawn...)
}

// VerifyTargetDraw recomputes a recorded target draw from the revealed year
// key (using d.Salt) and reports whether it gives d.Result exactly; it also
// checks d.FrameHash against d.Frame, that the frame's keys are distinct and
// that no excluded key is in the frame. recomputed is nil when the draw could
// not be recomputed. Checking the year key against its published commitment
// is the caller's job.
func VerifyTargetDraw(d Draw, yearKey []byte) (ok bool, recomputed []string, reason string) {
	if d.Kind != DrawTargets {
		return false, nil, fmt.Sprintf("not a target draw (kind %q)", d.Kind)
	}
	if got := FrameHash(d.Frame); got != d.FrameHash {
		return false, nil, fmt.Sprintf("frame hash mismatch: recorded %s, frame hashes to %s", d.FrameHash, got)
	}
	seen := make(map[string]bool, len(d.Frame))
	for _, c := range d.Frame {
		if seen[c.Key] {
			return false, nil, fmt.Sprintf("frame lists %s twice", c.Key)
		}
		seen[c.Key] = true
	}
	for i, k := range d.Certain {
		switch {
		case seen[k]:
			return false, nil, fmt.Sprintf("key-list %s is also in the frame", k)
		case i > 0 && d.Certain[i-1] >= k:
			return false, nil, fmt.Sprintf("key list not in key order (or repeated) at %s", k)
		}
	}
	certain := make(map[string]bool, len(d.Certain))
	for _, k := range d.Certain {
		certain[k] = true
	}
	for _, e := range d.Excluded {
		if seen[e.Key] || certain[e.Key] {
			return false, nil, fmt.Sprintf("excluded %s (%s) is in the frame or the key list", e.Key, e.Reason)
		}
	}
	g := newPRNGen(yearKey, d.Salt)
	recomputed = TargetResult(d.Certain, d.Frame, d.N, d.Shift, g.u)
	if len(recomputed) != len(d.Result) {
		return false, recomputed, fmt.Sprintf("recorded result has %d keys, recomputed %d", len(d.Result), len(recomputed))
	}
	for i := range recomputed {
		if recomputed[i] != d.Result[i] {
			return false, recomputed, fmt.Sprintf("result differs at position %d: recorded %s, recomputed %s", i+1, d.Result[i], recomputed[i])
		}
	}
	return true, recomputed, ""
}
