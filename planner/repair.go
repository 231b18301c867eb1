package planner

// Repair of the published calendar (issue 17 part 2): when an inspector goes
// on leave or a township closes, the visits already published on those days
// are repaired with the least change. An inspector who cannot come is
// replaced by a recorded draw under the planner's own rules (certified,
// unrecused, available, with time left, load-weighted); a visit on a closed
// day moves to the nearest working day inside every task's window that keeps
// the business's notice and the capacity of the team and inspectors. What
// cannot be repaired is listed with the reason; nothing is dropped.

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Reasons a visit could not be repaired.
const (
	// RepairNoDay: the visit is on a closed day and no working day in its
	// window (after today and its notice) is open with room for it.
	RepairNoDay = "no_day"
	// RepairNoInspector: an inspector cannot come and no certified,
	// unrecused, available inspector with time left can replace it, on the
	// visit's day or any day it could move to.
	RepairNoInspector = "no_inspector"
	// RepairUnknown: the visit's team, business or inspectors are not in the
	// registry the repair read.
	RepairUnknown = "unknown"
)

// RepairVisit is a published visit the repair must look at: a booked visit
// (named by PlanID and Seq in Input.Booked) with what a move must keep.
type RepairVisit struct {
	PlanID int64
	Seq    int
	// From and To: the window every task of the visit allows, both included
	// (the intersection of its tasks' windows).
	From, To Day
	// NoticeFrom is the earliest day the business's notice allows the visit
	// to move to: today plus the longest announce period of its tasks, or 0
	// for an unannounced visit.
	NoticeFrom Day
	// Domains are the qualification domains its items need, sorted.
	Domains []string
	// BackTo, when set, asks for the visit to go back to that day (a
	// repair's move undone once its cause was lifted): the visit moves there
	// if the day is open, at or after FirstDay and NoticeFrom, and has room,
	// re-drawing inspectors who cannot come; else it is listed (RepairNoDay)
	// and stays where it is.
	BackTo Day
}

// RepairInput is a calendar to repair: the planner's Input over the span a
// repair may move visits in (From..To, Calendar, the registries, History for
// recusal, every visit on the calendar in the span as Booked, the current
// Unavailable and Closures, Policy, and Seed for the draws), the visits to
// look at, and the first day a visit may move to.
type RepairInput struct {
	Input
	Visits []RepairVisit
	// FirstDay is the earliest day a visit may move to (usually tomorrow: the
	// teams of today are already out).
	FirstDay Day
	// DrawPrefix names the cause of the repair in every draw's key, so that
	// two repairs of the same visit draw independently.
	DrawPrefix string
}

// Replacement is one inspector replaced on a visit: Out leaves position Ord
// (0 = the lead), In takes it, drawn by Draw.
type Replacement struct {
	Ord  int
	Out  int64
	In   int64
	Draw Draw
}

// RepairChange is what the repair did to one visit: moved it (To != From)
// and/or replaced inspectors. InspectorIDs is its staff after the change,
// lead first.
type RepairChange struct {
	PlanID       int64
	Seq          int
	USCC         string
	From, To     Day
	Replacements []Replacement
	InspectorIDs []int64
}

// Moved reports whether the change moves the visit to another day.
func (c RepairChange) Moved() bool { return c.From != c.To }

// Unrepaired is a visit the repair could not mend, with the reason and what
// stood in the way; it stays as it was for a coordinator to decide.
type Unrepaired struct {
	PlanID int64
	Seq    int
	USCC   string
	Date   Day
	Reason string
	// Detail names what could not be met, e.g. the inspectors away or the
	// days tried.
	Detail string
}

// RepairResult is the outcome of a repair: the visits changed and the
// visits left as they were with the reason. A visit that needed nothing is
// in neither.
type RepairResult struct {
	Changes    []RepairChange
	Unrepaired []Unrepaired
}

// RepairDrawKey is the VisitKey of the draw replacing position ord of visit
// (planID, seq) of business uscc on day for the repair named prefix: it seeds
// the draw's generator, so `draw verify` replays it with VerifyInspectorDraw.
func RepairDrawKey(prefix, uscc string, day Day, planID int64, seq, ord int) string {
	return fmt.Sprintf("%s/%s/%s/repair:%d.%d#%d", prefix, uscc, day, planID, seq, ord)
}

// repairer holds a repair's running capacity state.
type repairer struct {
	in       *RepairInput
	ix       *index
	wd       workdays
	av       availability
	inspOf   map[int64]int
	days     int
	teamUsed []int // team index × days + day
	inspUsed []int // inspector index × days + day
	inspLoad []int // inspector index: minutes over the span
	parent   map[int64]int64
}

// Repair mends the calendar in.Booked for in.Visits against in.Unavailable
// and in.Closures. Visits are taken in order of date, plan and sequence;
// each change is counted in the capacity the next one sees. It is pure and
// deterministic: the same input and seed give the same result.
func Repair(in *RepairInput) RepairResult {
	r := &repairer{in: in, ix: newIndex(&in.Input), wd: newWorkdays(&in.Input), inspOf: map[int64]int{}, parent: map[int64]int64{}}
	for i, p := range in.Inspectors {
		r.inspOf[p.ID] = i
	}
	for _, g := range in.Regions {
		r.parent[g.ID] = g.ParentID
	}
	r.days = len(r.wd.days)
	r.av = newAvailability(&in.Input, r.ix, r.wd, r.inspOf)
	r.teamUsed = make([]int, len(in.Teams)*r.days)
	r.inspUsed = make([]int, len(in.Inspectors)*r.days)
	r.inspLoad = make([]int, len(in.Inspectors))
	booked := map[[2]int64]int{}
	for i, bv := range in.Booked {
		booked[[2]int64{bv.PlanID, int64(bv.Seq)}] = i
		r.hold(bv, bv.Date, bv.InspectorIDs, +1)
	}

	visits := slices.Clone(in.Visits)
	slices.SortFunc(visits, func(a, b RepairVisit) int {
		ba, bb := in.Booked[booked[[2]int64{a.PlanID, int64(a.Seq)}]], in.Booked[booked[[2]int64{b.PlanID, int64(b.Seq)}]]
		return cmp.Or(cmp.Compare(ba.Date, bb.Date), cmp.Compare(a.PlanID, b.PlanID), cmp.Compare(a.Seq, b.Seq))
	})
	var out RepairResult
	for _, rv := range visits {
		bi, ok := booked[[2]int64{rv.PlanID, int64(rv.Seq)}]
		if !ok {
			continue // not on the calendar any more: nothing to repair
		}
		bv := in.Booked[bi]
		ch, un, changed := r.repairOne(bv, rv)
		switch {
		case un != nil:
			out.Unrepaired = append(out.Unrepaired, *un)
		case changed:
			out.Changes = append(out.Changes, ch)
		}
	}
	return out
}

// hold adds (sign +1) or releases (-1) the minutes of visit bv with staff on
// day.
func (r *repairer) hold(bv BookedVisit, day Day, staff []int64, sign int) {
	d, ok := slices.BinarySearch(r.wd.days, day)
	if !ok {
		return
	}
	need := max(bv.DurationMinutes, 0) + max(bv.TravelMinutes, 0)
	if ti, ok := r.ix.teamOf[bv.TeamID]; ok {
		r.teamUsed[ti*r.days+d] += sign * need * len(staff)
	}
	for _, id := range staff {
		if i, ok := r.inspOf[id]; ok {
			r.inspUsed[i*r.days+d] += sign * need
			r.inspLoad[i] += sign * need
		}
	}
}

// closedFor reports whether visit bv cannot be on working-day index d: its
// lead team's day or its business's region (or one above) is closed.
func (r *repairer) closedFor(bv BookedVisit, d int) bool {
	if !r.av.any {
		return false
	}
	if ti, ok := r.ix.teamOf[bv.TeamID]; ok && r.av.teamOff[ti*r.days+d] {
		return true
	}
	if bi, ok := r.ix.biz[bv.USCC]; ok {
		off := r.av.regionOff[r.in.Businesses[bi].RegionID]
		return off != nil && off[d]
	}
	return false
}

// hitOffCalendar reports whether visit bv, on a day that is not a working
// day, is closed or has an inspector away, read from the closures and
// unavailabilities themselves.
func (r *repairer) hitOffCalendar(bv BookedVisit) bool {
	region := int64(0)
	if bi, ok := r.ix.biz[bv.USCC]; ok {
		region = r.in.Businesses[bi].RegionID
	}
	teams := map[int64]bool{bv.TeamID: true}
	for _, id := range bv.InspectorIDs {
		if i, ok := r.inspOf[id]; ok {
			teams[r.in.Inspectors[i].TeamID] = true
		}
	}
	for _, c := range r.in.Closures {
		if bv.Date < c.From || bv.Date > c.To {
			continue
		}
		if c.TeamID != 0 && teams[c.TeamID] {
			return true
		}
		for x, n := region, 0; x != 0 && n < 64; x, n = r.parent[x], n+1 {
			if c.RegionID != 0 && c.RegionID == x {
				return true
			}
		}
	}
	for _, u := range r.in.Unavailable {
		if bv.Date >= u.From && bv.Date <= u.To && slices.Contains(bv.InspectorIDs, u.InspectorID) {
			return true
		}
	}
	return false
}

// awayOn reports whether inspector index i is away on working-day index d.
func (r *repairer) awayOn(i, d int) bool {
	return r.av.inspOff != nil && r.av.inspOff[i*r.days+d]
}

// repairOne repairs one visit. changed is false when the visit needs
// nothing; un is set when it needs something the repair cannot give.
func (r *repairer) repairOne(bv BookedVisit, rv RepairVisit) (ch RepairChange, un *Unrepaired, changed bool) {
	unrepaired := func(reason, detail string) (RepairChange, *Unrepaired, bool) {
		return RepairChange{}, &Unrepaired{PlanID: bv.PlanID, Seq: bv.Seq, USCC: bv.USCC, Date: bv.Date, Reason: reason, Detail: detail}, false
	}
	if _, ok := r.ix.teamOf[bv.TeamID]; !ok {
		return unrepaired(RepairUnknown, "team "+strconv.FormatInt(bv.TeamID, 10))
	}
	if _, ok := r.ix.biz[bv.USCC]; !ok {
		return unrepaired(RepairUnknown, "business "+bv.USCC)
	}
	for _, id := range bv.InspectorIDs {
		if _, ok := r.inspOf[id]; !ok {
			return unrepaired(RepairUnknown, "inspector "+strconv.FormatInt(id, 10))
		}
	}
	cur, onWorkday := slices.BinarySearch(r.wd.days, bv.Date)
	if !onWorkday {
		// A visit a coordinator moved to a weekend or a holiday: the repair
		// does not know that day's capacity, so it lists the visit rather
		// than pass over it (the caller names only visits its cause hits).
		if bv.Date >= r.in.From && bv.Date <= r.in.To && r.hitOffCalendar(bv) {
			return unrepaired(RepairNoDay, fmt.Sprintf("%s is not a working day (moved there by hand): see to it by hand", bv.Date))
		}
		return RepairChange{}, nil, false
	}
	if rv.BackTo != 0 {
		return r.moveBack(bv, rv)
	}
	closed := r.closedFor(bv, cur)
	var away []int64
	for _, id := range bv.InspectorIDs {
		if r.awayOn(r.inspOf[id], cur) {
			away = append(away, id)
		}
	}
	if !closed && len(away) == 0 {
		return RepairChange{}, nil, false
	}

	// The visit's own minutes are released while its new shape is sought,
	// and held again for what it becomes (or was, if nothing fits).
	r.hold(bv, bv.Date, bv.InspectorIDs, -1)
	if !closed {
		if staff, repl, ok := r.restaff(bv, rv, cur); ok {
			r.hold(bv, bv.Date, staff, +1)
			return RepairChange{PlanID: bv.PlanID, Seq: bv.Seq, USCC: bv.USCC, From: bv.Date, To: bv.Date,
				Replacements: repl, InspectorIDs: staff}, nil, true
		}
	}
	// Move: the nearest open working day in the window, later first on a tie
	// (a later day keeps the notice the business was given).
	lo := max(rv.From, rv.NoticeFrom, r.in.FirstDay)
	var tried []int
	for d := range r.days {
		if day := r.wd.days[d]; d != cur && day >= lo && day <= rv.To && !r.closedFor(bv, d) {
			tried = append(tried, d)
		}
	}
	slices.SortStableFunc(tried, func(a, b int) int {
		da, db := abs(a-cur), abs(b-cur)
		return cmp.Or(cmp.Compare(da, db), cmp.Compare(b, a))
	})
	for _, d := range tried {
		staff, repl, ok := r.restaff(bv, rv, d)
		if !ok {
			continue
		}
		r.hold(bv, r.wd.days[d], staff, +1)
		return RepairChange{PlanID: bv.PlanID, Seq: bv.Seq, USCC: bv.USCC, From: bv.Date, To: r.wd.days[d],
			Replacements: repl, InspectorIDs: staff}, nil, true
	}
	r.hold(bv, bv.Date, bv.InspectorIDs, +1)
	if closed {
		return unrepaired(RepairNoDay, fmt.Sprintf("no open working day from %s to %s has room (%d tried)", lo, rv.To, len(tried)))
	}
	return unrepaired(RepairNoInspector, "away: "+joinIDs(away))
}

// moveBack moves visit bv back to rv.BackTo when that day is open, allowed
// and has room for it.
func (r *repairer) moveBack(bv BookedVisit, rv RepairVisit) (RepairChange, *Unrepaired, bool) {
	if rv.BackTo == bv.Date {
		return RepairChange{}, nil, false
	}
	d, ok := slices.BinarySearch(r.wd.days, rv.BackTo)
	why := ""
	switch {
	case rv.BackTo < r.in.FirstDay || rv.BackTo < rv.NoticeFrom:
		why = "too soon (today or past, or inside the business's notice)"
	case !ok:
		why = "not a working day"
	case r.closedFor(bv, d):
		why = "still closed"
	}
	if why == "" {
		r.hold(bv, bv.Date, bv.InspectorIDs, -1)
		if staff, repl, ok := r.restaff(bv, rv, d); ok {
			r.hold(bv, rv.BackTo, staff, +1)
			return RepairChange{PlanID: bv.PlanID, Seq: bv.Seq, USCC: bv.USCC, From: bv.Date, To: rv.BackTo,
				Replacements: repl, InspectorIDs: staff}, nil, true
		}
		r.hold(bv, bv.Date, bv.InspectorIDs, +1)
		why = "no room for it or its inspectors"
	}
	return RepairChange{}, &Unrepaired{PlanID: bv.PlanID, Seq: bv.Seq, USCC: bv.USCC, Date: bv.Date, Reason: RepairNoDay,
		Detail: fmt.Sprintf("cannot go back to %s: %s", rv.BackTo, why)}, false
}

// restaff returns the visit's staff on working-day index d: every inspector
// who can come (not away, time left) keeps its place, and each who cannot is
// replaced by a draw. ok is false when a replacement cannot be drawn, the
// staff would not cover the visit's domains, or the lead team's day has no
// room.
func (r *repairer) restaff(bv BookedVisit, rv RepairVisit, d int) ([]int64, []Replacement, bool) {
	pol := r.in.Policy
	need := max(bv.DurationMinutes, 0) + max(bv.TravelMinutes, 0)
	fits := func(i int) bool {
		return pol.Uncapacitated || r.inspUsed[i*r.days+d]+need <= pol.InspectorDayMinutes
	}
	staff := slices.Clone(bv.InspectorIDs)
	var out []int
	for k, id := range staff {
		i := r.inspOf[id]
		if r.awayOn(i, d) || !fits(i) {
			out = append(out, k)
		}
	}
	var repl []Replacement
	for _, k := range out {
		leaver := staff[k]
		// What the leaver alone covered must be covered by whoever comes.
		var needs []string
		for _, dom := range rv.Domains {
			if !slices.Contains(r.in.Inspectors[r.inspOf[leaver]].Domains, dom) {
				continue
			}
			covered := false
			for k2, id := range staff {
				if k2 != k && !slices.Contains(out, k2) && slices.Contains(r.in.Inspectors[r.inspOf[id]].Domains, dom) {
					covered = true
					break
				}
			}
			if !covered {
				needs = append(needs, dom)
			}
		}
		in, draw, ok := r.draw(bv, d, staff, needs, k)
		if !ok {
			return nil, nil, false
		}
		repl = append(repl, Replacement{Ord: k, Out: leaver, In: in, Draw: draw})
		staff[k] = in
	}
	if ti := r.ix.teamOf[bv.TeamID]; !pol.Uncapacitated &&
		r.teamUsed[ti*r.days+d]+need*len(staff) > r.in.Teams[ti].DailyCapacityMinutes {
		return nil, nil, false
	}
	for _, dom := range rv.Domains {
		covered := false
		for _, id := range staff {
			if slices.Contains(r.in.Inspectors[r.inspOf[id]].Domains, dom) {
				covered = true
				break
			}
		}
		if !covered {
			return nil, nil, false
		}
	}
	return staff, repl, true
}

// draw picks one inspector for position ord of the visit on working-day
// index d, holding every domain in needs: from the lead team first, then the
// professional teams of the domains' departments, then any team covering the
// business. Inspectors on the visit, recused (declared conflict, on one of
// the business's last visits), away or without time that day are left out
// and recorded as exclusions.
func (r *repairer) draw(bv BookedVisit, d int, staff []int64, needs []string, ord int) (int64, Draw, bool) {
	pol := r.in.Policy
	need := max(bv.DurationMinutes, 0) + max(bv.TravelMinutes, 0)
	biz := r.in.Businesses[r.ix.biz[bv.USCC]]
	key := RepairDrawKey(r.in.DrawPrefix, bv.USCC, r.wd.days[d], bv.PlanID, bv.Seq, ord)
	excluded := map[int]string{}
	for _, id := range r.ix.conflicts[bv.USCC] {
		if i, ok := r.inspOf[id]; ok {
			excluded[i] = ExcludeConflict
		}
	}
	for _, id := range r.ix.recent[bv.USCC] {
		if i, ok := r.inspOf[id]; ok {
			if _, seen := excluded[i]; !seen {
				excluded[i] = ExcludeRecentVisit
			}
		}
	}
	usable := func(i int) bool {
		if _, ex := excluded[i]; ex || slices.Contains(staff, r.in.Inspectors[i].ID) {
			return false
		}
		if r.awayOn(i, d) {
			excluded[i] = ExcludeUnavailable
			return false
		}
		if !pol.Uncapacitated && r.inspUsed[i*r.days+d]+need > pol.InspectorDayMinutes {
			excluded[i] = ExcludeNoTime
			return false
		}
		for _, dom := range needs {
			if !slices.Contains(r.in.Inspectors[i].Domains, dom) {
				return false
			}
		}
		return true
	}
	lead := r.ix.teamOf[bv.TeamID]
	var own, rest []int
	for _, ti := range r.ix.cover[biz.RegionID] {
		if ti == lead {
			continue
		}
		t := r.in.Teams[ti]
		isOwn := false
		if t.Kind == TeamProfessional {
			for _, dom := range needs {
				if slices.Contains(r.ix.domainDept[dom], t.DepartmentID) {
					isOwn = true
				}
			}
		}
		if isOwn {
			own = append(own, ti)
		} else {
			rest = append(rest, ti)
		}
	}
	needName := strings.Join(needs, "+")
	for _, pool := range [][]int{{lead}, own, rest} {
		var cands []Candidate
		var idx []int
		for _, ti := range pool {
			for _, i := range r.ix.members[ti] {
				if usable(i) {
					cands = append(cands, Candidate{Key: r.ix.key[i], Weight: loadWeight(r.inspLoad[i])})
					idx = append(idx, i)
				}
			}
		}
		if len(cands) == 0 {
			continue
		}
		k, draw := onePick(r.in.Seed, key, needName, slices.Clone(needs), cands, excluded, r.ix.key)
		return r.in.Inspectors[idx[k]].ID, draw, true
	}
	return 0, Draw{}, false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}
