package planner

// Join before knocking (DESIGN.md §4a, issue 16 part 2): a new task at a
// business that already has a visit on the calendar (Input.Booked) inside the
// task's window joins that visit instead of making a new door-knock, when
// the visit has not happened, the task's notice holds at its date, capacity
// allows and the visit's inspectors cover the item's domain (or one
// certified, unrecused, available inspector can be added by a recorded
// draw). It runs on the scheduler's own capacity state, before new visits
// are merged, so what a join takes is held when new visits are placed.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Join is a set of new tasks added to a visit already on the calendar
// (a BookedVisit, named by PlanID and Seq). One Join per amended visit.
type Join struct {
	// PlanID and Seq name the amended visit, as in BookedVisit.
	PlanID int64
	Seq    int
	USCC   string
	Date   Day
	// Tasks are the tasks joined to the visit, in the order they joined
	// (USCC, item, demand).
	Tasks []Task
	// AddedInspectorIDs are inspectors added to the visit because none of
	// its inspectors held a joined item's domain; each comes from an
	// inspector draw in Plan.Draws whose VisitKey is JoinDrawKey(...).
	AddedInspectorIDs []int64
	// AddedMinutes is how much longer the visit gets on site: the visit's
	// duration (setup + the longest per-domain sum of item minutes) with
	// the joined items, minus without them.
	AddedMinutes int
	// DurationMinutes is the visit's time on site after the join.
	DurationMinutes int
	// Unannounced is true when any joined task's demand is unannounced
	// (AnnounceDays == 0): the business must not be told of those items
	// before the day, even if the visit itself was announced. The tasks
	// whose demand is announced may be told.
	Unannounced bool
}

// JoinDrawKey is the VisitKey of the n-th (0-based) inspector draw made to
// amend booked visit (planID, seq) of business uscc on date: it seeds the
// draw's generator, so `draw verify` replays it with VerifyInspectorDraw like
// any inspector draw.
func JoinDrawKey(uscc string, date Day, planID int64, seq, n int) string {
	return fmt.Sprintf("%s/%s/join:%d.%d#%d", uscc, date, planID, seq, n)
}

// AmendBooked applies joins to a copy of booked: each joined visit's
// duration grows by AddedMinutes, its inspectors gain AddedInspectorIDs and
// its items and departments the joined tasks'. It is what the calendar holds
// once the plan's joins are published (and what the next plan's Input.Booked
// must say).
func AmendBooked(booked []BookedVisit, joins []Join) []BookedVisit {
	type key struct {
		plan int64
		seq  int
	}
	at := map[key]int{}
	for i, j := range joins {
		at[key{j.PlanID, j.Seq}] = i
	}
	out := make([]BookedVisit, len(booked))
	for i, bv := range booked {
		out[i] = bv
		ji, ok := at[key{bv.PlanID, bv.Seq}]
		if !ok {
			continue
		}
		j := joins[ji]
		out[i].DurationMinutes += j.AddedMinutes
		out[i].InspectorIDs = append(slices.Clone(bv.InspectorIDs), j.AddedInspectorIDs...)
		items, depts := slices.Clone(bv.ItemIDs), slices.Clone(bv.DepartmentIDs)
		for _, t := range j.Tasks {
			items = append(items, t.ItemID)
			depts = append(depts, t.DepartmentID)
		}
		slices.Sort(items)
		slices.Sort(depts)
		out[i].ItemIDs, out[i].DepartmentIDs = slices.Compact(items), slices.Compact(depts)
	}
	return out
}

// joinTarget is a booked visit tasks may join, with its running state.
type joinTarget struct {
	bv         *BookedVisit
	day, team  int            // working-day index, team index
	perDomain  map[string]int // item minutes per domain, booked and joined
	longest    int            // the largest of perDomain
	duration   int            // time on site now
	inspectors []int64        // booked then added
	join       int            // index into joined.joins, -1 until a task joins
	draws      int
}

// joined is what the join step did.
type joined struct {
	joins []Join
	draws []Draw
	rest  []Task // tasks that did not join, in input order
	// stabs are the working-day indexes of each business's joinable booked
	// visits, ascending: the calendar lower bound's existing stabs.
	stabs map[string][]int
}

// publishDay is Input.PublishDay, or the horizon's first day when unset.
func publishDay(in *Input) Day {
	if in.PublishDay == 0 {
		return in.From
	}
	return in.PublishDay
}

// join joins tasks (sorted by USCC, as Resolve returns them) to the booked
// visits they can join, taking the capacity each join needs from the
// scheduler's own team-day and inspector-day accounting (where book() put
// the booked visits), so new visits placed afterwards see it held.
//
// A booked visit is joinable when its date is a working day of the horizon
// on or after the publish day and its lead team is in the input. A task
// tries its business's joinable visits earliest date first (then PlanID,
// Seq) and joins the first where all hold: the date lies in the task's
// window; an announced task's notice holds (date ≥ publish day +
// AnnounceDays); the visit's duration grown by the item, and the added
// inspector if any, fit the lead team's day and each inspector's day (and
// the visit stays within the day length new visits are split to); the
// visit's inspectors hold the item's domain, else one certified, unrecused,
// available inspector is drawn (drawJoinInspector). Tasks joining the same
// visit accumulate.
func (s *scheduler) join(tasks []Task) joined {
	in := s.in
	pub := publishDay(in)
	out := joined{stabs: map[string][]int{}}
	announce := map[int64]int{}
	for _, d := range in.Demands {
		if _, ok := announce[d.ID]; !ok {
			announce[d.ID] = d.AnnounceDays
		}
	}
	byBiz := map[string][]*joinTarget{}
	for i := range in.Booked {
		bv := &in.Booked[i]
		d, ok := slices.BinarySearch(s.wd.days, bv.Date)
		ti, known := s.ix.teamOf[bv.TeamID]
		if !ok || !known || bv.Date < pub {
			continue
		}
		// Nothing joins a visit on a closed day, or one whose staff is away
		// (part of a calendar repair, not of a plan).
		if bi, ok := s.ix.biz[bv.USCC]; ok && s.closed(ti, bi, d) {
			continue
		}
		if slices.ContainsFunc(bv.InspectorIDs, func(id int64) bool { i, ok := s.inspOf[id]; return ok && s.away(i, d) }) {
			continue
		}
		jt := &joinTarget{bv: bv, day: d, team: ti, perDomain: map[string]int{}, duration: max(bv.DurationMinutes, 0),
			inspectors: slices.Clone(bv.InspectorIDs), join: -1}
		for _, id := range bv.ItemIDs {
			it := s.ix.items[id]
			jt.perDomain[it.Domain] += it.Minutes
			jt.longest = max(jt.longest, jt.perDomain[it.Domain])
		}
		byBiz[bv.USCC] = append(byBiz[bv.USCC], jt)
	}
	for code, ts := range byBiz {
		slices.SortFunc(ts, func(a, b *joinTarget) int {
			return cmp.Or(cmp.Compare(a.bv.Date, b.bv.Date), cmp.Compare(a.bv.PlanID, b.bv.PlanID), cmp.Compare(a.bv.Seq, b.bv.Seq))
		})
		for _, jt := range ts {
			if n := len(out.stabs[code]); n == 0 || out.stabs[code][n-1] != jt.day {
				out.stabs[code] = append(out.stabs[code], jt.day)
			}
		}
	}
	out.rest = make([]Task, 0, len(tasks))
	for _, t := range tasks {
		if !s.joinOne(t, byBiz[t.USCC], pub, announce[t.DemandID], &out) {
			out.rest = append(out.rest, t)
		}
	}
	slices.SortStableFunc(out.joins, func(a, b Join) int {
		return cmp.Or(cmp.Compare(a.PlanID, b.PlanID), cmp.Compare(a.Seq, b.Seq))
	})
	return out
}

// joinOne joins task t to the first of targets it can join and reports
// whether it did.
func (s *scheduler) joinOne(t Task, targets []*joinTarget, pub Day, announceDays int, out *joined) bool {
	if len(targets) == 0 {
		return false
	}
	bi, ok := s.ix.biz[t.USCC]
	item, known := s.ix.items[t.ItemID]
	if !ok || !known {
		return false
	}
	pol := s.in.Policy
	for _, jt := range targets {
		date := jt.bv.Date
		if date < t.From || date > t.To || date < pub || (announceDays > 0 && date < pub+Day(announceDays)) {
			continue
		}
		longest := max(jt.longest, jt.perDomain[item.Domain]+item.Minutes)
		delta := longest - jt.longest
		after := jt.duration + delta
		travel := max(jt.bv.TravelMinutes, 0)
		if !pol.Uncapacitated && after > pol.InspectorDayMinutes-travelAllowanceMinutes && delta > 0 {
			continue
		}
		covered := false
		for _, id := range jt.inspectors {
			if i, ok := s.inspOf[id]; ok && s.ix.has(i, item.Domain) {
				covered = true
				break
			}
		}
		k, add := len(jt.inspectors), 0
		if !covered {
			add = 1
		}
		td := &s.teamDays[jt.team*s.days+jt.day]
		teamIncr := (after+travel)*(k+add) - (jt.duration+travel)*k
		if !pol.Uncapacitated && teamIncr > 0 && td.used+teamIncr > s.in.Teams[jt.team].DailyCapacityMinutes {
			continue
		}
		if !pol.Uncapacitated && delta > 0 && !s.inspectorsFit(jt, delta) {
			continue
		}
		added := -1
		var draw Draw
		if !covered {
			if added, draw = s.drawJoinInspector(jt, bi, item.Domain, after+travel); added < 0 {
				continue
			}
		}
		// Commit: the visit grows, its team-day and inspector-days hold it.
		jt.perDomain[item.Domain] += item.Minutes
		jt.longest, jt.duration = longest, after
		td.used += teamIncr
		s.bookedUsed[jt.team*s.days+jt.day] += teamIncr
		for _, id := range jt.inspectors {
			if i, ok := s.inspOf[id]; ok {
				s.inspUsed[i*s.days+jt.day] += delta
				s.inspLoad[i] += delta
			}
		}
		if jt.join < 0 {
			jt.join = len(out.joins)
			out.joins = append(out.joins, Join{PlanID: jt.bv.PlanID, Seq: jt.bv.Seq, USCC: jt.bv.USCC, Date: date})
		}
		j := &out.joins[jt.join]
		if added >= 0 {
			s.inspUsed[added*s.days+jt.day] += after + travel
			s.inspLoad[added] += after + travel
			id := s.in.Inspectors[added].ID
			jt.inspectors = append(jt.inspectors, id)
			j.AddedInspectorIDs = append(j.AddedInspectorIDs, id)
			out.draws = append(out.draws, draw)
			jt.draws++
		}
		j.Tasks = append(j.Tasks, t)
		j.AddedMinutes = jt.duration - max(jt.bv.DurationMinutes, 0)
		j.DurationMinutes = jt.duration
		j.Unannounced = j.Unannounced || announceDays <= 0
		return true
	}
	return false
}

// inspectorsFit reports whether each of the visit's known inspectors has
// delta more minutes on its day.
func (s *scheduler) inspectorsFit(jt *joinTarget, delta int) bool {
	for _, id := range jt.inspectors {
		if i, ok := s.inspOf[id]; ok && s.inspUsed[i*s.days+jt.day]+delta > s.in.Policy.InspectorDayMinutes {
			return false
		}
	}
	return true
}

// drawJoinInspector draws one inspector certified in domain to add to a
// booked visit: not already on it, no declared conflict with the business,
// not on its last RecusalLastN visits, and with need minutes left on the
// visit's day (unless uncapacitated). Candidates come from the visit's lead
// team, else the professional teams of the domain's departments covering the
// business, else the other teams covering it, as the scheduler's draws do,
// weighted by load (loadWeight). The pick is one weighted ChaCha8 step keyed
// by JoinDrawKey, recorded so VerifyInspectorDraw replays it. It returns the
// inspector's index, or -1 when there is none.
func (s *scheduler) drawJoinInspector(jt *joinTarget, bi int, domain string, need int) (int, Draw) {
	b := s.in.Businesses[bi]
	pol := s.in.Policy
	excluded := map[int]string{}
	for _, id := range s.ix.conflicts[b.USCC] {
		if i, ok := s.inspOf[id]; ok {
			excluded[i] = ExcludeConflict
		}
	}
	for _, id := range s.ix.recent[b.USCC] {
		if i, ok := s.inspOf[id]; ok && excluded[i] == "" {
			excluded[i] = ExcludeRecentVisit
		}
	}
	var at []int // inspector index of each candidate
	tier := func(teams []int) []Candidate {
		var cands []Candidate
		at = at[:0]
		for _, ti := range teams {
			for _, i := range s.ix.members[ti] {
				if !s.ix.has(i, domain) || excluded[i] != "" || slices.Contains(jt.inspectors, s.in.Inspectors[i].ID) {
					continue
				}
				if s.away(i, jt.day) {
					excluded[i] = ExcludeUnavailable
					continue
				}
				if !pol.Uncapacitated && s.inspUsed[i*s.days+jt.day]+need > pol.InspectorDayMinutes {
					excluded[i] = ExcludeNoTime
					continue
				}
				cands = append(cands, Candidate{Key: s.ix.key[i], Weight: loadWeight(s.inspLoad[i])})
				at = append(at, i)
			}
		}
		return cands
	}
	var own, rest []int
	for _, ti := range s.ix.cover[b.RegionID] {
		if ti == jt.team {
			continue
		}
		t := s.in.Teams[ti]
		if t.Kind == TeamProfessional && slices.Contains(s.ix.domainDept[domain], t.DepartmentID) {
			own = append(own, ti)
		} else {
			rest = append(rest, ti)
		}
	}
	cands := tier([]int{jt.team})
	if len(cands) == 0 {
		cands = tier(own)
	}
	if len(cands) == 0 {
		cands = tier(rest)
	}
	if len(cands) == 0 {
		return -1, Draw{}
	}
	key := JoinDrawKey(jt.bv.USCC, jt.bv.Date, jt.bv.PlanID, jt.bv.Seq, jt.draws)
	k, draw := onePick(s.in.Seed, key, domain, []string{domain}, cands, excluded, s.ix.key)
	return at[k], draw
}

// calendarLowerBound is the fewest NEW visits the tasks need given the
// visits already on the calendar: per business, the tasks whose window
// (in working-day indexes) holds one of its existing stabs (the dates of its
// joinable booked visits) are taken as joined, and the others need at least
// the stabbing count of their windows, and at least as many day-sized visits
// as their longest domain's minutes fill (when visits are split by day).
// Capacity, domains and recusal are left out, so joins refused for those
// can only push new visits above it. With no stabs it is the lower bound
// mergeAll reports. Tasks merge would refuse (unknown business, no working
// day, too long) count nothing, as there.
func calendarLowerBound(tasks []Task, ix *index, wd workdays, stabs map[string][]int, setup, dayLimit int) int {
	total := 0
	var iv [][2]int
	perDomain := map[string]int{}
	flush := func() {
		n := stabCount(iv)
		if dayLimit > setup {
			for _, m := range perDomain {
				n = max(n, int(math.Ceil(float64(m)/float64(dayLimit-setup))))
			}
		}
		total += n
		iv = iv[:0]
		clear(perDomain)
	}
	for i, t := range tasks {
		if i > 0 && strings.Compare(t.USCC, tasks[i-1].USCC) != 0 {
			flush()
		}
		if _, known := ix.biz[t.USCC]; !known {
			continue
		}
		lo, hi, ok := wd.clip(t.From, t.To)
		it := ix.items[t.ItemID]
		if !ok || (dayLimit > 0 && setup+it.Minutes > dayLimit) {
			continue
		}
		st := stabs[t.USCC]
		if at, _ := slices.BinarySearch(st, lo); at < len(st) && st[at] <= hi {
			continue // an existing visit lies in its window
		}
		iv = append(iv, [2]int{lo, hi})
		perDomain[it.Domain] += it.Minutes
	}
	flush()
	return total
}

// stats sets the join figures. tasks are all the plan's tasks (before
// joining); st.LowerBound holds on entry the bound of the tasks left for new
// visits. DoorKnocksSaved is the bound of all tasks without joining minus
// that, and LowerBound becomes the calendar's (calendarLowerBound with the
// joinable booked visits' dates as stabs).
func (jn *joined) stats(st *Stats, tasks []Task, ix *index, wd workdays, setup, dayLimit int) {
	st.VisitsAmended = len(jn.joins)
	for _, j := range jn.joins {
		st.TasksJoined += len(j.Tasks)
	}
	st.DoorKnocksSaved = calendarLowerBound(tasks, ix, wd, nil, setup, dayLimit) - st.LowerBound
	st.LowerBound = calendarLowerBound(tasks, ix, wd, jn.stabs, setup, dayLimit)
}
