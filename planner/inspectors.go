package planner

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Exclusion reasons of inspector draws.
const (
	ExcludeConflict    = "conflict"     // declared conflict of interest
	ExcludeRecentVisit = "recent_visit" // on one of the business's last N visits
	ExcludeNoTime      = "no_time"      // day already full
)

// visitRand is the generator of one visit's inspector draw: ChaCha8 keyed by
// the cycle seed and the visit, so each draw can be replayed on its own once
// the seed is revealed.
func visitRand(seed [32]byte, visitKey string) *rand.Rand {
	h := sha256.New()
	h.Write(seed[:])
	h.Write([]byte("inspectors\x00"))
	h.Write([]byte(visitKey))
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return rand.New(rand.NewChaCha8(k))
}

// weightedPick picks one candidate with probability proportional to its weight.
func weightedPick(r *rand.Rand, cands []Candidate) int {
	total := 0.0
	for _, c := range cands {
		total += c.Weight
	}
	x := r.Float64() * total
	for i, c := range cands {
		x -= c.Weight
		if x < 0 {
			return i
		}
	}
	return len(cands) - 1
}

// loadWeight makes less-loaded inspectors likelier: an inspector with eight
// hours already this cycle weighs a ninth of an idle one.
func loadWeight(minutes int) float64 {
	return 1 / (1 + float64(minutes)/60)
}

// drawInspectors picks the visit's inspectors for option o: first one
// certified inspector for each domain not yet covered (from the lead team,
// else from the teams of the domain's departments, else any team covering
// the business), then members of the lead team (else of other covering teams)
// until there are MinInspectors. Recused and fully booked inspectors are left
// out. Each pick is a weighted draw recorded in the returned Draw.
//
// When no inspector can be found it returns the reason: ReasonCapacity if a
// certified, unrecused inspector existed but had no time left that day,
// ReasonNoInspectors otherwise. Most calls in a busy cycle fail, so the
// failing path allocates nothing: candidates live in scratch buffers and the
// Draw is built only on success.
func (s *scheduler) drawInspectors(v *pending, key string, o option) ([]int64, Draw, string) {
	b := s.in.Businesses[v.biz]
	pol := s.in.Policy
	need := v.duration + o.travel
	r := visitRand(s.in.Seed, key)

	// Exclusions are marked per inspector with a generation stamp instead of
	// a fresh map per draw.
	s.gen++
	gen := s.gen
	for _, id := range s.ix.conflicts[b.USCC] {
		if i, ok := s.inspOf[id]; ok {
			s.exclGen[i], s.exclWhy[i] = gen, ExcludeConflict
		}
	}
	for _, id := range s.ix.recent[b.USCC] {
		if i, ok := s.inspOf[id]; ok && s.exclGen[i] != gen {
			s.exclGen[i], s.exclWhy[i] = gen, ExcludeRecentVisit
		}
	}
	s.chosen = s.chosen[:0]
	s.steps = s.steps[:0]
	s.stepCands = s.stepCands[:0]
	busy := false // a candidate was left out only for lack of time
	usable := func(i int) bool {
		if s.exclGen[i] == gen || slices.Contains(s.chosen, i) {
			return false
		}
		if s.away(i, o.day) {
			s.exclGen[i], s.exclWhy[i] = gen, ExcludeUnavailable
			return false
		}
		if !pol.Uncapacitated && s.inspUsed[i*s.days+o.day]+need > pol.InspectorDayMinutes {
			s.exclGen[i], s.exclWhy[i] = gen, ExcludeNoTime
			busy = true
			return false
		}
		return true
	}
	pickFrom := func(domain string, teams []int) bool {
		from := len(s.stepCands)
		total := 0.0
		word, mask := 0, uint64(0)
		if domain != "" {
			bit, ok := s.ix.domainBit[domain]
			if !ok {
				return false // nobody holds it
			}
			word, mask = bit/64, 1<<(bit%64)
		}
		for _, ti := range teams {
			if mask != 0 && s.ix.teamHolds[ti][word]&mask == 0 {
				continue // nobody in this team holds the domain
			}
			for _, i := range s.ix.members[ti] {
				if mask != 0 && s.ix.holds[i][word]&mask == 0 {
					continue
				}
				if usable(i) {
					w := loadWeight(s.inspLoad[i])
					s.stepCands = append(s.stepCands, weighted{i, w})
					total += w
				}
			}
		}
		if len(s.stepCands) == from {
			return false
		}
		cands := s.stepCands[from:]
		x := r.Float64() * total
		k := len(cands) - 1
		for j, c := range cands {
			if x -= c.w; x < 0 {
				k = j
				break
			}
		}
		s.chosen = append(s.chosen, cands[k].i)
		s.steps = append(s.steps, step{need: domain, from: from, to: len(s.stepCands), pick: k})
		return true
	}
	pick := func(domain string) bool {
		s.leadTeam[0] = o.team
		if pickFrom(domain, s.leadTeam[:]) {
			return true
		}
		own, rest := s.ownTeams[:0], s.restTeams[:0]
		defer func() { s.ownTeams, s.restTeams = own, rest }()
		for _, ti := range s.ix.cover[b.RegionID] {
			if ti == o.team {
				continue
			}
			t := s.in.Teams[ti]
			if domain != "" && t.Kind == TeamProfessional && slices.Contains(s.ix.domainDept[domain], t.DepartmentID) {
				own = append(own, ti)
			} else {
				rest = append(rest, ti)
			}
		}
		return pickFrom(domain, own) || pickFrom(domain, rest)
	}
	covered := func(domain string) bool {
		for _, i := range s.chosen {
			if s.ix.has(i, domain) {
				return true
			}
		}
		return false
	}
	// The lead team's day pays for every inspector on the visit: stop as soon
	// as the draw has picked more than the day has room for.
	room := math.MaxInt
	if !pol.Uncapacitated {
		td := &s.teamDays[o.team*s.days+o.day]
		room = (s.in.Teams[o.team].DailyCapacityMinutes - td.used) / max(need, 1)
	}
	overRoom := false
	fail := func() ([]int64, Draw, string) {
		switch {
		case overRoom:
			return nil, Draw{}, noRoom
		case busy:
			return nil, Draw{}, ReasonCapacity
		}
		return nil, Draw{}, ReasonNoInspectors
	}
	for _, d := range v.domains {
		if !covered(d) && !pick(d) {
			return fail()
		}
		if overRoom = len(s.chosen) > room; overRoom {
			return fail()
		}
	}
	for len(s.chosen) < pol.MinInspectors {
		if !pick("") {
			return fail()
		}
		if overRoom = len(s.chosen) > room; overRoom {
			return fail()
		}
	}

	draw := Draw{Kind: DrawInspectors, VisitKey: key, Required: slices.Clone(v.domains), N: pol.MinInspectors}
	for _, st := range s.steps {
		cands := make([]Candidate, st.to-st.from)
		for j, c := range s.stepCands[st.from:st.to] {
			cands[j] = Candidate{Key: s.ix.key[c.i], Weight: c.w}
		}
		draw.Steps = append(draw.Steps, DrawStep{Need: st.need, Candidates: cands, Pick: cands[st.pick].Key})
		draw.Result = append(draw.Result, cands[st.pick].Key)
	}
	staff := make([]int64, len(s.chosen))
	for j, i := range s.chosen {
		staff[j] = s.in.Inspectors[i].ID
	}
	// The lead inspector is the first drawn member of the lead team.
	for j, id := range staff {
		if s.in.Inspectors[s.inspOf[id]].TeamID == s.in.Teams[o.team].ID {
			staff[0], staff[j] = staff[j], staff[0]
			break
		}
	}
	draw.FrameHash = stepsHash(draw.Steps)
	for i := range s.exclGen {
		if s.exclGen[i] == gen {
			draw.Excluded = append(draw.Excluded, Exclusion{Key: s.ix.key[i], Reason: s.exclWhy[i]})
		}
	}
	return staff, draw, ""
}

// noRoom is drawInspectors' failure when the lead team's day cannot pay for
// the inspectors the visit needs (as opposed to the certified inspectors
// being booked up, ReasonCapacity).
const noRoom = "no_room"

// weighted is a candidate inspector (by index) and its weight.
type weighted struct {
	i int
	w float64
}

// step is one pick of a draw in progress: the candidates are
// scheduler.stepCands[from:to].
type step struct {
	need     string
	from, to int
	pick     int
}

// stepsHash is the hex SHA-256 of an inspector draw's steps: each step's need
// and its candidates in order (key and the IEEE-754 bits of the weight). The
// candidates are the frame of an inspector draw, so no separate frame is kept.
func stepsHash(steps []DrawStep) string {
	n := 0
	for _, st := range steps {
		n += len(st.Need) + 2
		for _, c := range st.Candidates {
			n += len(c.Key) + 9
		}
	}
	buf := make([]byte, 0, n)
	for _, st := range steps {
		buf = append(buf, st.Need...)
		buf = append(buf, 0)
		for _, c := range st.Candidates {
			buf = append(buf, c.Key...)
			buf = append(buf, 0)
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(c.Weight))
		}
		buf = append(buf, '\n')
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// VerifyInspectorDraw replays a recorded inspector draw with the revealed cycle
// seed: every step's pick must be what the generator gives over the recorded
// candidates, and the result the picks in order.
func VerifyInspectorDraw(d Draw, seed [32]byte) (ok bool, recomputed []string, reason string) {
	if d.Kind != DrawInspectors {
		return false, nil, "not an inspector draw"
	}
	if stepsHash(d.Steps) != d.FrameHash {
		return false, nil, "frame hash does not match the recorded candidates"
	}
	r := visitRand(seed, d.VisitKey)
	for i, st := range d.Steps {
		if len(st.Candidates) == 0 {
			return false, recomputed, fmt.Sprintf("step %d has no candidates", i+1)
		}
		k := weightedPick(r, st.Candidates)
		recomputed = append(recomputed, st.Candidates[k].Key)
		if st.Candidates[k].Key != st.Pick {
			return false, recomputed, fmt.Sprintf("step %d: the seed picks %s, the record says %s", i+1, st.Candidates[k].Key, st.Pick)
		}
	}
	if !slices.Equal(recomputed, d.Result) {
		return false, recomputed, "the result is not the sequence of picks"
	}
	return true, recomputed, ""
}

// onePick draws one of cands for the draw keyed key (a replacement or an
// addition to a visit already on the calendar) and records it as a one-step
// inspector draw: what it had to hold (need, required), the candidates and
// the exclusions (inspector index -> reason, keys by index) in index order.
func onePick(seed [32]byte, key, need string, required []string, cands []Candidate, excluded map[int]string, keys []string) (int, Draw) {
	k := weightedPick(visitRand(seed, key), cands)
	steps := []DrawStep{{Need: need, Candidates: cands, Pick: cands[k].Key}}
	draw := Draw{Kind: DrawInspectors, VisitKey: key, N: 1, Required: required, Steps: steps,
		FrameHash: stepsHash(steps), Result: []string{cands[k].Key}}
	ex := make([]int, 0, len(excluded))
	for i := range excluded {
		ex = append(ex, i)
	}
	slices.Sort(ex)
	for _, i := range ex {
		draw.Excluded = append(draw.Excluded, Exclusion{Key: keys[i], Reason: excluded[i]})
	}
	return k, draw
}
