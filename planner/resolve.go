package planner

// Step 1 of DESIGN.md §4: expand demands into tasks, resolving sampling rules
// by coordinated draws (see sampling.go for the draw itself).
//
// Rules Resolve follows, beyond the doc comment:
//
//   - A demand is considered when its window [From, To] overlaps the horizon
//     [in.From, in.To]; its tasks get the intersection as their window. A
//     demand entirely outside the horizon (or with From > To) is skipped
//     without an Unplaced entry: it belongs to another cycle, and its draw is
//     made in that cycle.
//   - An announced demand (AnnounceDays > 0) gets a window starting no
//     earlier than the publish day (Input.PublishDay, else in.From) plus its
//     notice. When that leaves nothing, or a sample too few working days
//     while its window goes on after the horizon, the demand is postponed
//     (see postpone): no tasks, no draw, Unplaced entries with
//     ReasonNoticePeriod or ReasonDeferred.
//   - Item ids are deduplicated per demand; an unknown one gives one Unplaced
//     (demand, item, ReasonUnknownItem) with USCC empty.
//   - A demand may carry a list target, a sample rule or both; both are
//     resolved and duplicate tasks (same business, item, demand) are merged.
//     List entries are deduplicated.
//   - Refusals of a list entry are reported per (demand, business, item): a
//     business unknown to the registry (ReasonUnknownTarget), and for
//     non-complaint demands the exclusions below. When the demand has no known
//     item, one entry with ItemID 0 is reported instead, so no refusal is lost.
//   - Exclusions (never for Source == complaint nor FollowUp demands): the 无事不扰 list
//     (ReasonLeaveAlone); the yearly cap (ReasonYearlyCap: the demand's
//     department has Policy.YearlyCap or more visits to the business in the
//     calendar year of in.From, dated before in.From; 0 = no cap); the
//     cool-down (ReasonCooldown: a visit dated in [in.From − CooldownDays,
//     in.From) covered one of the demand's items). They are checked in that
//     order and the first that applies is the reason. In a sample population
//     the whole business is excluded (and recorded in Draw.Excluded); for a
//     list target, leave-alone and the cap refuse every item, while the
//     cool-down refuses only the items recently inspected. Key-list businesses
//     are not exempt from the cap and the cool-down.
//   - Population of a sample rule: businesses matching all non-empty filters
//     (regions with their sub-regions, industries, the scenario's industries,
//     risk codes); a ScenarioID missing from in.Scenarios matches nothing.
//     Weight = Policy.RiskWeights[risk], 1 when missing or not a positive
//     finite number. Key-list (重点) members are taken outside the random
//     draw: recorded in Draw.Certain (key order), not in the frame, always
//     inspected, and not counted in n.
//   - n = Count if Count > 0, else round(Ratio × frame size) with a minimum of
//     1, capped at the frame size; the frame is the population after
//     exclusions, without the key list. A population with neither frame nor
//     key list gives Unplaced{DemandID, ReasonEmptyPopulation} and a recorded
//     draw with an empty result.
//   - Businesses listed twice in in.Businesses: the first entry counts.

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Resolve expands every demand of in into tasks: list targets directly; sample
// rules by a draw over the filtered population. It returns the tasks (sorted
// deterministically: by USCC, then item, then demand), the draws (one per
// sample demand, Kind DrawTargets, in demand order), and the unplaced entries
// for tasks/demands it refused, each with a Reason constant from types.go.
func Resolve(in *Input) (tasks []Task, draws []Draw, unplaced []Unplaced) {
	r := newResolver(in)
	listed := 0
	for _, d := range in.Demands {
		listed += len(d.Businesses) * len(d.ItemIDs)
	}
	r.tasks = make([]resTask, 0, listed)
	for di := range in.Demands {
		d := &in.Demands[di]
		if d.From > d.To || d.To < in.From || d.From > in.To {
			continue
		}
		lo, hi := max(d.From, in.From), min(d.To, in.To)
		if d.AnnounceDays > 0 {
			lo = max(lo, r.publishDay+Day(d.AnnounceDays))
		}
		r.win[di] = [2]Day{lo, hi}
		items := r.demandItems(d)
		if why := r.postpone(d, lo, hi); why != "" {
			r.refuseDemand(d, items, why)
			continue
		}
		if d.Sample != nil {
			if f, ok := in.Frozen[d.ID]; ok {
				draws = append(draws, r.sampleFrozen(di, d, items, f))
			} else if in.Frozen != nil {
				r.refuseDemand(d, items, ReasonDeferred)
				continue
			} else {
				draws = append(draws, r.sample(di, d, items))
			}
		}
		if len(d.Businesses) > 0 {
			r.list(di, d, items)
		}
	}
	return r.sortedTasks(), draws, r.unplaced
}

// postpone says why a demand gets no tasks in this plan although its window
// overlaps the horizon, or "". ReasonNoticePeriod: the announced demand's
// window ends before the business's notice runs out. ReasonDeferred: the
// window goes on after the horizon, and what of it lies inside (after the
// notice) is empty, or for a sample fewer than Policy.MinSampleDays working
// days, onto which the whole sample would otherwise pile; the next plan,
// whose horizon holds more of the window, takes the demand (nothing here is
// recorded as placed or drawn, so it is still open then).
func (r *resolver) postpone(d *Demand, lo, hi Day) string {
	in := r.in
	if lo > hi {
		if d.To > in.To {
			return ReasonDeferred
		}
		return ReasonNoticePeriod
	}
	if d.Sample == nil || d.To <= in.To || in.Policy.MinSampleDays <= 0 || in.Calendar == nil {
		return ""
	}
	n := 0
	for day := lo; day <= hi && n < in.Policy.MinSampleDays; day++ {
		if in.Calendar.IsWorkingDay(day.Time()) {
			n++
		}
	}
	if n < in.Policy.MinSampleDays {
		return ReasonDeferred
	}
	return ""
}

// refuseDemand reports a demand postponed as a whole: one entry per listed
// business (and item) known to the registry, so a planner sees which
// businesses wait, and one demand-level entry for its sample rule.
func (r *resolver) refuseDemand(d *Demand, items []int64, why string) {
	if d.Sample != nil {
		r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, Reason: why})
	}
	seen := make(map[string]bool, len(d.Businesses))
	for _, uscc := range d.Businesses {
		if seen[uscc] {
			continue
		}
		seen[uscc] = true
		if _, ok := r.lookup(uscc); !ok {
			r.refuse(d, uscc, items, ReasonUnknownTarget)
			continue
		}
		r.refuse(d, uscc, items, why)
	}
}

// resTask is a task before materialisation: the business's position in USCC
// order, the item and the demand's index.
type resTask struct {
	pos  int32
	dem  int32
	item int64
}

// resAttr holds a business's attributes as dense indexes.
type resAttr struct {
	region   int32 // dense region index, -1 if not in the tree
	industry int32
	risk     int32
	list     uint8 // resListRandom, resListKey, resListLeaveAlone
}

const (
	resListRandom = iota
	resListKey
	resListLeaveAlone
)

// resVisit is a past visit relevant to caps and cool-downs, compacted.
type resVisit struct {
	date     Day
	dep0, it int32 // histIDs[dep0:it] are its departments, histIDs[it:end] its items
	end      int32
}

// resolver holds the indexes Resolve builds once. Per-business data is
// indexed by the business's position in USCC order ("pos"), so a scan of
// the population walks memory in order.
type resolver struct {
	in *Input
	// publishDay is Input.PublishDay, or the horizon's first day when unset.
	publishDay Day

	slots  []int32 // hash table of pos+1 by USCC (0 = empty)
	seed   maphash.Seed
	bizOf  []int32   // pos → index into in.Businesses (its first entry)
	uscc   []string  // pos → USCC
	attr   []resAttr // pos → attributes
	weight []float64 // pos → draw weight

	regionPos  map[int64]int32
	childStart []int32 // CSR children of each dense region
	children   []int32
	regionMark []bool // scratch: regions selected by a rule
	regionDFS  []int32
	marked     []int32 // scratch: the regions marked, in marking order
	// Businesses by region (CSR, each list in pos order); the last list
	// holds the businesses whose region is not in the tree.
	memberStart []int32
	members     []int32
	bits        []uint64 // scratch: a set of positions

	industryPos map[string]int32
	riskPos     map[string]int32
	items       map[int64]bool
	scenarios   map[int64]int

	// Relevant history per pos (CSR over in.History): visits before in.From
	// that fall in the year of in.From or in the cool-down window.
	histStart []int32
	hist      []resVisit
	histIDs   []int64 // departments and items of hist, contiguous
	yearStart Day
	coolStart Day
	cooldown  bool

	coordU   []float64 // pos → coordinated PRN, NaN until computed
	coordGen *prnGen

	win      [][2]Day // per demand: window clipped to the horizon
	stamp    []int32  // pos → last demand index+1 that listed it
	tasks    []resTask
	unplaced []Unplaced

	// scratch for draws
	frameBuf []int32
	uBuf     []float64
	piBuf    []float64
	rankBuf  []spsRank
}

func newResolver(in *Input) *resolver {
	r := &resolver{
		in:          in,
		regionPos:   make(map[int64]int32, len(in.Regions)),
		industryPos: map[string]int32{},
		riskPos:     map[string]int32{},
		items:       make(map[int64]bool, len(in.Items)),
		scenarios:   make(map[int64]int, len(in.Scenarios)),
		win:         make([][2]Day, len(in.Demands)),
		publishDay:  in.PublishDay,
	}
	if r.publishDay == 0 {
		r.publishDay = in.From
	}

	// Region tree: dense indexes and children lists, built once.
	for _, g := range in.Regions {
		if _, dup := r.regionPos[g.ID]; !dup {
			r.regionPos[g.ID] = int32(len(r.regionPos))
		}
	}
	nr := len(r.regionPos)
	r.childStart = make([]int32, nr+1)
	parentOf := func(g Region) (int32, bool) {
		if g.ParentID == g.ID {
			return 0, false
		}
		p, ok := r.regionPos[g.ParentID]
		return p, ok
	}
	counted := make([]bool, nr)
	for _, g := range in.Regions {
		self := r.regionPos[g.ID]
		if counted[self] {
			continue
		}
		counted[self] = true
		if p, ok := parentOf(g); ok {
			r.childStart[p+1]++
		}
	}
	for i := 0; i < nr; i++ {
		r.childStart[i+1] += r.childStart[i]
	}
	r.children = make([]int32, r.childStart[nr])
	fill := slices.Clone(r.childStart[:nr])
	clear(counted)
	for _, g := range in.Regions {
		self := r.regionPos[g.ID]
		if counted[self] {
			continue
		}
		counted[self] = true
		if p, ok := parentOf(g); ok {
			r.children[fill[p]] = self
			fill[p]++
		}
	}
	r.regionMark = make([]bool, nr)

	for _, it := range in.Items {
		r.items[it.ID] = true
	}
	for i, s := range in.Scenarios {
		if _, dup := r.scenarios[s.ID]; !dup {
			r.scenarios[s.ID] = i
		}
	}

	// Businesses in USCC order; the first entry of a repeated USCC counts.
	// Entries compare by their first 16 bytes as integers, then in full;
	// they hold no pointers, so sorting them costs no write barriers.
	type entry struct {
		key resKey
		bi  int32
	}
	entries := make([]entry, len(in.Businesses))
	size := 0
	for i := range in.Businesses {
		u := in.Businesses[i].USCC
		entries[i] = entry{resKeyOf(u), int32(i)}
		size += len(u)
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := a.key.compare(b.key); c != 0 {
			return c
		}
		if c := strings.Compare(in.Businesses[a.bi].USCC, in.Businesses[b.bi].USCC); c != 0 {
			return c
		}
		return cmp.Compare(a.bi, b.bi)
	})
	entries = slices.CompactFunc(entries, func(a, b entry) bool {
		return a.key == b.key && in.Businesses[a.bi].USCC == in.Businesses[b.bi].USCC
	})
	// All USCCs in one string, in USCC order: the population scans, frame
	// hashes and PRNs then read memory in order.
	var arena strings.Builder
	arena.Grow(size)
	for _, e := range entries {
		arena.WriteString(in.Businesses[e.bi].USCC)
	}
	all := arena.String()
	nb := len(entries)
	r.bizOf = make([]int32, nb)
	r.uscc = make([]string, nb)
	r.attr = make([]resAttr, nb)
	r.weight = make([]float64, nb)
	r.coordU = make([]float64, nb)
	r.stamp = make([]int32, nb)
	off := 0
	for p, e := range entries {
		b := &in.Businesses[e.bi]
		u := all[off : off+len(b.USCC)]
		off += len(b.USCC)
		r.bizOf[p] = e.bi
		r.uscc[p] = u
		a := resAttr{region: -1, industry: resDenseIndex(r.industryPos, b.Industry), risk: resDenseIndex(r.riskPos, b.Risk)}
		if g, ok := r.regionPos[b.RegionID]; ok {
			a.region = g
		}
		switch b.List {
		case ListKey:
			a.list = resListKey
		case ListLeaveAlone:
			a.list = resListLeaveAlone
		}
		r.attr[p] = a
		w, ok := in.Policy.RiskWeights[b.Risk]
		if !ok || certainWeight(w) {
			w = 1
		}
		r.weight[p] = w
		r.coordU[p] = math.NaN()
	}

	r.buildSlots()

	// Businesses by region, for populations restricted to a few regions.
	r.memberStart = make([]int32, nr+2)
	for _, a := range r.attr {
		r.memberStart[resBucket(a.region, nr)+1]++
	}
	for i := 0; i <= nr; i++ {
		r.memberStart[i+1] += r.memberStart[i]
	}
	r.members = make([]int32, nb)
	slot := slices.Clone(r.memberStart[:nr+1])
	for p, a := range r.attr {
		g := resBucket(a.region, nr)
		r.members[slot[g]] = int32(p)
		slot[g]++
	}
	r.bits = make([]uint64, (nb+63)/64)

	// History relevant to caps and cool-downs, grouped by business.
	y := in.From.Time().Year()
	r.yearStart = DayOf(time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC))
	r.cooldown = in.Policy.CooldownDays > 0
	r.coolStart = in.From - Day(max(0, in.Policy.CooldownDays))
	relevant := func(v *PastVisit) bool {
		return v.Date < in.From && (v.Date >= r.yearStart || (r.cooldown && v.Date >= r.coolStart))
	}
	r.histStart = make([]int32, nb+1)
	histPos := make([]int32, len(in.History))
	for i := range in.History {
		v := &in.History[i]
		histPos[i] = -1
		if !relevant(v) {
			continue
		}
		if p, ok := r.lookup(v.USCC); ok {
			histPos[i] = p
			r.histStart[p+1]++
		}
	}
	for i := 0; i < nb; i++ {
		r.histStart[i+1] += r.histStart[i]
	}
	byPos := make([]int32, r.histStart[nb])
	next := slices.Clone(r.histStart[:nb])
	ids := 0
	for i, p := range histPos {
		if p >= 0 {
			byPos[next[p]] = int32(i)
			next[p]++
			ids += len(in.History[i].DepartmentIDs) + len(in.History[i].ItemIDs)
		}
	}
	r.hist = make([]resVisit, len(byPos))
	r.histIDs = make([]int64, 0, ids)
	for k, vi := range byPos {
		v := &in.History[vi]
		rv := resVisit{date: v.Date, dep0: int32(len(r.histIDs))}
		r.histIDs = append(r.histIDs, v.DepartmentIDs...)
		rv.it = int32(len(r.histIDs))
		r.histIDs = append(r.histIDs, v.ItemIDs...)
		rv.end = int32(len(r.histIDs))
		r.hist[k] = rv
	}
	return r
}

// resKey is the first 16 bytes of a USCC as two big-endian integers (zero
// padded): its order agrees with the order of the strings, ties aside.
type resKey struct{ hi, lo uint64 }

func resKeyOf(s string) resKey {
	var b [16]byte
	copy(b[:], s)
	return resKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a resKey) compare(b resKey) int {
	if a.hi != b.hi {
		return cmp.Compare(a.hi, b.hi)
	}
	return cmp.Compare(a.lo, b.lo)
}

// lookup returns the pos of a USCC: open addressing over r.slots.
func (r *resolver) lookup(uscc string) (int32, bool) {
	mask := uint64(len(r.slots) - 1)
	for i := maphash.String(r.seed, uscc) & mask; ; i = (i + 1) & mask {
		p := r.slots[i] - 1
		if p < 0 {
			return -1, false
		}
		if r.uscc[p] == uscc {
			return p, true
		}
	}
}

// buildSlots fills the lookup table; its layout depends on a random seed,
// the lookups do not.
func (r *resolver) buildSlots() {
	size := 16
	for size < 2*len(r.uscc) {
		size <<= 1
	}
	r.seed = maphash.MakeSeed()
	r.slots = make([]int32, size)
	mask := uint64(size - 1)
	for p, u := range r.uscc {
		i := maphash.String(r.seed, u) & mask
		for r.slots[i] != 0 {
			i = (i + 1) & mask
		}
		r.slots[i] = int32(p) + 1
	}
}

// resBucket is the members list of a dense region (nr: outside the tree).
func resBucket(region int32, nr int) int {
	if region < 0 {
		return nr
	}
	return int(region)
}

func resDenseIndex(m map[string]int32, s string) int32 {
	if i, ok := m[s]; ok {
		return i
	}
	i := int32(len(m))
	m[s] = i
	return i
}

// demandItems returns the demand's known item ids, deduplicated in order, and
// reports unknown ones.
func (r *resolver) demandItems(d *Demand) []int64 {
	items := make([]int64, 0, len(d.ItemIDs))
	var unknown []int64
	for _, id := range d.ItemIDs {
		if slices.Contains(items, id) || slices.Contains(unknown, id) {
			continue
		}
		if r.items[id] {
			items = append(items, id)
		} else {
			unknown = append(unknown, id)
			r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, ItemID: id, Reason: ReasonUnknownItem})
		}
	}
	return items
}

// capReached reports whether dept has used up its yearly visits to the
// business at pos p.
func (r *resolver) capReached(p int32, dept int64) bool {
	limit := r.in.Policy.YearlyCap
	if limit <= 0 {
		return false
	}
	count := 0
	for _, v := range r.hist[r.histStart[p]:r.histStart[p+1]] {
		if v.date >= r.yearStart && slices.Contains(r.histIDs[v.dep0:v.it], dept) {
			count++
		}
	}
	return count >= limit
}

// cooled reports whether the business at pos p had a visit in the cool-down
// window that covered one of items.
func (r *resolver) cooled(p int32, items ...int64) bool {
	if !r.cooldown {
		return false
	}
	for _, v := range r.hist[r.histStart[p]:r.histStart[p+1]] {
		if v.date < r.coolStart {
			continue
		}
		for _, it := range r.histIDs[v.it:v.end] {
			if slices.Contains(items, it) {
				return true
			}
		}
	}
	return false
}

// exclusion returns why the business at pos p may not be drawn for a
// non-complaint demand of dept over items, or "".
func (r *resolver) exclusion(p int32, dept int64, items []int64) string {
	if r.attr[p].list == resListLeaveAlone {
		return ReasonLeaveAlone
	}
	if r.histStart[p] == r.histStart[p+1] {
		return ""
	}
	switch {
	case r.capReached(p, dept):
		return ReasonYearlyCap
	case r.cooled(p, items...):
		return ReasonCooldown
	}
	return ""
}

// refuse records a refused list entry per item (ItemID 0 when there is none).
func (r *resolver) refuse(d *Demand, uscc string, items []int64, reason string) {
	if len(items) == 0 {
		r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, USCC: uscc, Reason: reason})
		return
	}
	for _, it := range items {
		r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, USCC: uscc, ItemID: it, Reason: reason})
	}
}

// list resolves a list target.
func (r *resolver) list(di int, d *Demand, items []int64) {
	exempt := d.Source == SourceComplaint || d.FollowUp
	var unknownSeen map[string]bool
	for _, uscc := range d.Businesses {
		p, ok := r.lookup(uscc)
		if !ok {
			if unknownSeen[uscc] {
				continue
			}
			if unknownSeen == nil {
				unknownSeen = map[string]bool{}
			}
			unknownSeen[uscc] = true
			r.refuse(d, uscc, items, ReasonUnknownTarget)
			continue
		}
		if r.stamp[p] == int32(di+1) {
			continue
		}
		r.stamp[p] = int32(di + 1)
		if !exempt {
			if r.attr[p].list == resListLeaveAlone {
				r.refuse(d, uscc, items, ReasonLeaveAlone)
				continue
			}
			if r.capReached(p, d.DepartmentID) {
				r.refuse(d, uscc, items, ReasonYearlyCap)
				continue
			}
		}
		for _, it := range items {
			if !exempt && r.cooled(p, it) {
				r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, USCC: uscc, ItemID: it, Reason: ReasonCooldown})
				continue
			}
			r.tasks = append(r.tasks, resTask{pos: p, dem: int32(di), item: it})
		}
	}
}

// resMatcher holds one sample rule's filters as dense lookups (nil = no filter).
type resMatcher struct {
	regions    bool
	rawRegions []int64
	industry   []bool
	risk       []bool
}

func (r *resolver) newResMatcher(s *SampleRule) resMatcher {
	var m resMatcher
	if len(s.RegionIDs) > 0 {
		m.regions = true
		m.rawRegions = s.RegionIDs
		clear(r.regionMark)
		r.marked = r.marked[:0]
		for _, id := range s.RegionIDs {
			p, ok := r.regionPos[id]
			if !ok || r.regionMark[p] {
				continue
			}
			r.regionMark[p] = true
			r.marked = append(r.marked, p)
			stack := append(r.regionDFS[:0], p)
			for len(stack) > 0 {
				g := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, c := range r.children[r.childStart[g]:r.childStart[g+1]] {
					if !r.regionMark[c] {
						r.regionMark[c] = true
						r.marked = append(r.marked, c)
						stack = append(stack, c)
					}
				}
			}
			r.regionDFS = stack
		}
	}
	if len(s.Industries) > 0 || s.ScenarioID != 0 {
		m.industry = make([]bool, len(r.industryPos))
		for i := range m.industry {
			m.industry[i] = true
		}
		restrict := func(allowed []string) {
			keep := make([]bool, len(m.industry))
			for _, ind := range allowed {
				if p, ok := r.industryPos[ind]; ok {
					keep[p] = true
				}
			}
			for i := range m.industry {
				m.industry[i] = m.industry[i] && keep[i]
			}
		}
		if len(s.Industries) > 0 {
			restrict(s.Industries)
		}
		if s.ScenarioID != 0 {
			var allowed []string
			if si, ok := r.scenarios[s.ScenarioID]; ok {
				allowed = r.in.Scenarios[si].Industries
			}
			restrict(allowed)
		}
	}
	if len(s.RiskCodes) > 0 {
		m.risk = make([]bool, len(r.riskPos))
		for _, code := range s.RiskCodes {
			if p, ok := r.riskPos[code]; ok {
				m.risk[p] = true
			}
		}
	}
	return m
}

func (r *resolver) matches(m *resMatcher, p int32) bool {
	a := &r.attr[p]
	if m.industry != nil && !m.industry[a.industry] {
		return false
	}
	if m.risk != nil && !m.risk[a.risk] {
		return false
	}
	if m.regions {
		if a.region >= 0 {
			return r.regionMark[a.region]
		}
		return slices.Contains(m.rawRegions, r.in.Businesses[r.bizOf[p]].RegionID)
	}
	return true
}

// population calls fn for every business matching m, in pos (USCC) order.
// A rule restricted to regions visits only their members: it collects them
// in a bit set and reads it in order.
func (r *resolver) population(m *resMatcher, fn func(p int32)) {
	if !m.regions {
		for p := range int32(len(r.uscc)) {
			if r.matches(m, p) {
				fn(p)
			}
		}
		return
	}
	nr := len(r.regionMark)
	clear(r.bits)
	set := func(g int) {
		for _, p := range r.members[r.memberStart[g]:r.memberStart[g+1]] {
			r.bits[p>>6] |= 1 << (p & 63)
		}
	}
	for _, g := range r.marked {
		set(int(g))
	}
	for _, p := range r.members[r.memberStart[nr]:r.memberStart[nr+1]] {
		if slices.Contains(m.rawRegions, r.in.Businesses[r.bizOf[p]].RegionID) {
			r.bits[p>>6] |= 1 << (p & 63)
		}
	}
	for w, word := range r.bits {
		for word != 0 {
			p := int32(w<<6 + bits.TrailingZeros64(word))
			word &= word - 1
			if r.matches(m, p) {
				fn(p)
			}
		}
	}
}

// resSampleSize is n for a frame of size p.
func resSampleSize(s *SampleRule, p int) int {
	var n int
	switch {
	case s.Count > 0:
		n = s.Count
	case s.Ratio >= 1:
		n = p
	case s.Ratio > 0:
		n = int(math.Round(s.Ratio * float64(p)))
		if n < 1 {
			n = 1
		}
	}
	return min(n, p)
}

// sample resolves a sampling rule by a recorded draw.
func (r *resolver) sample(di int, d *Demand, items []int64) Draw {
	in := r.in
	exempt := d.Source == SourceComplaint || d.FollowUp
	m := r.newResMatcher(d.Sample)
	draw := Draw{Kind: DrawTargets, DemandID: d.ID, Shift: in.Shift}
	if in.Policy.Independent {
		draw.Salt = strconv.FormatInt(d.ID, 10)
	}

	r.frameBuf = r.frameBuf[:0]
	r.population(&m, func(p int32) {
		if !exempt {
			if why := r.exclusion(p, d.DepartmentID, items); why != "" {
				draw.Excluded = append(draw.Excluded, Exclusion{Key: r.uscc[p], Reason: why})
				return
			}
		}
		r.frameBuf = append(r.frameBuf, p)
	})
	// Key-list (重点) members are taken outside the random draw, as their
	// own selection: they are not in the frame and do not use up n.
	var certain []int32
	kept := r.frameBuf[:0]
	for _, p := range r.frameBuf {
		if r.attr[p].list == resListKey {
			certain = append(certain, p)
		} else {
			kept = append(kept, p)
		}
	}
	r.frameBuf = kept
	frame := make([]Candidate, len(r.frameBuf))
	for i, p := range r.frameBuf {
		frame[i] = Candidate{Key: r.uscc[p], Weight: r.weight[p]}
	}
	draw.Frame = frame
	draw.FrameHash = frameHashSorted(frame)
	draw.N = resSampleSize(d.Sample, len(frame))
	draw.Certain = make([]string, len(certain))
	for i, p := range certain {
		draw.Certain[i] = r.uscc[p]
		for _, it := range items {
			r.tasks = append(r.tasks, resTask{pos: p, dem: int32(di), item: it})
		}
	}
	if len(frame) == 0 {
		draw.Result = slices.Clone(draw.Certain)
		if len(certain) == 0 {
			r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, Reason: ReasonEmptyPopulation})
		}
		return draw
	}

	r.uBuf = slices.Grow(r.uBuf[:0], len(frame))[:len(frame)]
	if in.Policy.Independent {
		g := newPRNGen(in.YearKey, draw.Salt)
		for i, c := range frame {
			r.uBuf[i] = g.u(c.Key)
		}
	} else {
		if r.coordGen == nil {
			r.coordGen = newPRNGen(in.YearKey, "")
		}
		for i, p := range r.frameBuf {
			u := r.coordU[p]
			if math.IsNaN(u) {
				u = r.coordGen.u(r.uscc[p])
				r.coordU[p] = u
			}
			r.uBuf[i] = u
		}
	}
	r.piBuf = slices.Grow(r.piBuf[:0], len(frame))[:len(frame)]
	var drawn []int32
	drawn, r.rankBuf = drawSorted(frame, r.uBuf, draw.N, in.Shift, r.piBuf, r.rankBuf)
	draw.Result = make([]string, len(draw.Certain), len(draw.Certain)+len(drawn))
	copy(draw.Result, draw.Certain)
	for _, fi := range drawn {
		draw.Result = append(draw.Result, frame[fi].Key)
		pos := r.frameBuf[fi]
		for _, it := range items {
			r.tasks = append(r.tasks, resTask{pos: pos, dem: int32(di), item: it})
		}
	}
	return draw
}

// sampleFrozen draws from a frame committed before the randomness was fixed
// (witness.go): the frame, key list, exclusions and n as committed. A member
// gone from the registry since is still drawn (the draw is what was
// committed to) and listed unknown_business rather than visited.
func (r *resolver) sampleFrozen(di int, d *Demand, items []int64, f FrozenDraw) Draw {
	in := r.in
	draw := Draw{Kind: DrawTargets, DemandID: d.ID, Shift: in.Shift, Salt: f.Salt, N: f.N,
		Frame: slices.Clone(f.Frame), Certain: slices.Clone(f.Certain), Excluded: slices.Clone(f.Excluded)}
	draw.FrameHash = FrameHash(draw.Frame)
	var u func(string) float64
	if f.Salt == "" {
		if r.coordGen == nil {
			r.coordGen = newPRNGen(in.YearKey, "")
		}
		u = r.coordGen.u
	} else {
		g := newPRNGen(in.YearKey, f.Salt)
		u = g.u
	}
	draw.Result = TargetResult(draw.Certain, draw.Frame, draw.N, in.Shift, u)
	if len(draw.Result) == 0 && len(draw.Frame) == 0 {
		r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, Reason: ReasonEmptyPopulation})
	}
	for _, key := range draw.Result {
		p, ok := r.lookup(key)
		if !ok {
			for _, it := range items {
				r.unplaced = append(r.unplaced, Unplaced{DemandID: d.ID, USCC: key, ItemID: it, Reason: ReasonUnknownTarget})
			}
			continue
		}
		for _, it := range items {
			r.tasks = append(r.tasks, resTask{pos: p, dem: int32(di), item: it})
		}
	}
	return draw
}

// sortedTasks orders the tasks by USCC, item, demand id (then demand index),
// drops duplicates (the same business, item and demand entry) and
// materialises them. A counting sort by business position places each task,
// a small sort orders each business's tasks.
func (r *resolver) sortedTasks() []Task {
	in := r.in
	start := make([]int32, len(r.uscc)+1)
	for _, t := range r.tasks {
		start[t.pos+1]++
	}
	for i := range len(r.uscc) {
		start[i+1] += start[i]
	}
	sorted := make([]resTask, len(r.tasks))
	next := slices.Clone(start[:len(r.uscc)])
	for _, t := range r.tasks {
		sorted[next[t.pos]] = t
		next[t.pos]++
	}
	r.tasks = nil
	ids := make([]int64, len(in.Demands))
	for i := range in.Demands {
		ids[i] = in.Demands[i].ID
	}
	order := func(a, b resTask) int {
		if a.item != b.item {
			return cmp.Compare(a.item, b.item)
		}
		if ids[a.dem] != ids[b.dem] {
			return cmp.Compare(ids[a.dem], ids[b.dem])
		}
		return cmp.Compare(a.dem, b.dem)
	}
	for p := range r.uscc {
		if start[p+1]-start[p] > 1 {
			slices.SortFunc(sorted[start[p]:start[p+1]], order)
		}
	}
	sorted = slices.Compact(sorted)
	out := make([]Task, len(sorted))
	for i, t := range sorted {
		d := &in.Demands[t.dem]
		w := r.win[t.dem]
		out[i] = Task{
			DemandID:     d.ID,
			DepartmentID: d.DepartmentID,
			USCC:         r.uscc[t.pos],
			ItemID:       t.item,
			From:         w[0],
			To:           w[1],
			Priority:     d.Priority,
			Complaint:    d.Source == SourceComplaint,
		}
	}
	return out
}
