package planner

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Randomness no one controls alone (docs/draws.md §3.8). A plan's target
// frames are resolved and their hashes committed in public first; then a
// value the operator does not control alone (entered by an independent
// witness, or a public lottery number named in advance) fixes the shift,
// and only then are the frames drawn from. Knowing every permanent random
// number (the operator holds the year key) no longer tells the operator who
// a frame will select, because the shift is not known when the frame is.

// FrozenDraw is a target draw's frame as committed before its randomness was
// fixed: the plan run after the witness value draws from exactly this, not
// from the registry as it is by then.
type FrozenDraw struct {
	Frame    []Candidate
	Certain  []string
	Excluded []Exclusion
	N        int
	Salt     string
}

// CommittedDraw is one target draw's line in a plan's frame commitment.
type CommittedDraw struct {
	DemandID  int64
	FrameHash string // hex SHA-256 of the frame (§3.4)
	N         int
	// CertainHash is CertainHash of the key list taken outside the draw.
	CertainHash string
}

// CommitmentText is the canonical text whose SHA-256 is a plan's frame
// commitment (docs/draws.md §3.8). Draws are written in demand-id order.
func CommitmentText(planID int64, year int, rotation, jitter float64, source string, draws []CommittedDraw) string {
	ds := slices.Clone(draws)
	slices.SortFunc(ds, func(a, b CommittedDraw) int { return cmpInt64(a.DemandID, b.DemandID) })
	var b strings.Builder
	b.WriteString("inspectonce frame commitment v1\n")
	b.WriteString("plan " + strconv.FormatInt(planID, 10) + "\n")
	b.WriteString("year " + strconv.Itoa(year) + "\n")
	b.WriteString("rotation " + strconv.FormatFloat(rotation, 'g', -1, 64) + "\n")
	b.WriteString("jitter " + strconv.FormatFloat(jitter, 'g', -1, 64) + "\n")
	b.WriteString("source " + oneLine(source) + "\n")
	for _, d := range ds {
		b.WriteString(strconv.FormatInt(d.DemandID, 10))
		b.WriteByte('\t')
		b.WriteString(d.FrameHash)
		b.WriteByte('\t')
		b.WriteString(strconv.Itoa(d.N))
		b.WriteByte('\t')
		b.WriteString(d.CertainHash)
		b.WriteByte('\n')
	}
	return b.String()
}

// CertainHash is the hex SHA-256 of a key list, each key followed by "\n".
func CertainHash(keys []string) string {
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Commitment is the hex SHA-256 of CommitmentText.
func Commitment(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}

// WitnessFraction turns the witness value into a fraction in [0, 1), bound to
// the commitment it was entered after: the first 8 bytes of
// SHA-256(commitment hex ‖ "\n" ‖ value), read as in §2.
func WitnessFraction(commitment, value string) float64 {
	s := sha256.Sum256([]byte(commitment + "\n" + value))
	u := float64(binary.BigEndian.Uint64(s[:8])) * 0x1p-64
	if u >= 1 {
		u = prnMax
	}
	return u
}

// WitnessShift is the shift a committed plan draws with:
// frac(rotation + jitter × r). jitter 1 makes the shift uniform whatever the
// rotation (full unpredictability, no rotation across cycles); a smaller
// jitter keeps more of the rotation and lets the operator predict more.
func WitnessShift(rotation, jitter, r float64) float64 {
	return unitFrac(rotation + jitter*r)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// oneLine keeps a free-text source on its one line of the commitment.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// CommitmentRecord is a plan's frame commitment as published.
type CommitmentRecord struct {
	PlanID           int64
	Year             int
	Rotation, Jitter float64
	Source           string
	Body             string
	Commitment       string
	Lines            []CommittedDraw
	// Value is nil while it is awaited; R and Shift are what was recorded
	// with it.
	Value    *string
	R, Shift *float64
}

// DrawUse is what a verifier knows of a target draw made under a
// commitment: its record's frame hash, n and shift, and, once the draw is
// public, its key list (Closed).
type DrawUse struct {
	DemandID  int64
	FrameHash string
	N         int
	Shift     float64
	Closed    bool
	Certain   []string
}

// VerifyCommitment checks a plan's commitment against its own text, its
// value, the plan's shift and the target draws made (each from a frame as
// committed, at the plan's shift; every committed frame drawn). It returns
// what differs, in words, or nothing. That each draw's frame hashes to its
// recorded hash is VerifyTargetDraw's check.
func VerifyCommitment(c CommitmentRecord, planShift float64, draws []DrawUse) []string {
	var bad []string
	if want := CommitmentText(c.PlanID, c.Year, c.Rotation, c.Jitter, c.Source, c.Lines); want != c.Body {
		bad = append(bad, "the commitment's text is not the canonical text of its plan, rotation, jitter, source and frame lines")
	}
	if got := Commitment(c.Body); got != c.Commitment {
		bad = append(bad, "the commitment's text hashes to "+got+", not the published "+c.Commitment)
	}
	if c.Value == nil {
		return append(bad, "no value has been entered: the draws are not fixed yet")
	}
	r := WitnessFraction(c.Commitment, *c.Value)
	shift := WitnessShift(c.Rotation, c.Jitter, r)
	if c.R == nil || *c.R != r {
		bad = append(bad, "the recorded r is not the fraction the value gives ("+strconv.FormatFloat(r, 'g', -1, 64)+")")
	}
	if c.Shift == nil || *c.Shift != shift {
		bad = append(bad, "the recorded shift is not frac(rotation + jitter × r) = "+strconv.FormatFloat(shift, 'g', -1, 64))
	}
	if planShift != shift {
		bad = append(bad, "the plan's shift "+strconv.FormatFloat(planShift, 'g', -1, 64)+" is not the shift the value gives ("+
			strconv.FormatFloat(shift, 'g', -1, 64)+")")
	}
	lines := make(map[int64]CommittedDraw, len(c.Lines))
	for _, l := range c.Lines {
		lines[l.DemandID] = l
	}
	drawn := map[int64]bool{}
	for _, d := range draws {
		id := strconv.FormatInt(d.DemandID, 10)
		l, ok := lines[d.DemandID]
		switch {
		case !ok:
			bad = append(bad, "demand "+id+" was drawn from a frame the commitment does not name")
			continue
		case d.FrameHash != l.FrameHash:
			bad = append(bad, "demand "+id+" was drawn from another frame than the one committed")
		case d.N != l.N:
			bad = append(bad, "demand "+id+" drew "+strconv.Itoa(d.N)+", the commitment says n = "+strconv.Itoa(l.N))
		case d.Closed && CertainHash(d.Certain) != l.CertainHash:
			bad = append(bad, "demand "+id+"'s key list is not the committed one")
		case d.Shift != planShift:
			bad = append(bad, "demand "+id+" was drawn at another shift than its plan's")
		}
		drawn[d.DemandID] = true
	}
	for _, l := range c.Lines {
		if !drawn[l.DemandID] {
			bad = append(bad, "the committed frame of demand "+strconv.FormatInt(l.DemandID, 10)+" was never drawn")
		}
	}
	return bad
}
