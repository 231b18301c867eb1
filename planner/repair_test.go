package planner

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"inspectonce/calendar"
)

// randomCalendar builds a small county with a valid published calendar
// (every visit staffed by certified inspectors of its region, within
// capacity) and random leave and closures over it.
func randomCalendar(seed uint64) *RepairInput {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) // a Monday
	in := &RepairInput{FirstDay: start + 1, DrawPrefix: fmt.Sprintf("test:%d", seed)}
	in.From, in.To = start, start+27
	in.Calendar = plainCalendar()
	in.Policy = DefaultPolicy()
	in.Policy.InspectorDayMinutes = 240 + rng.IntN(3)*60
	in.Seed[0] = byte(seed)
	in.Regions = []Region{{ID: 1}, {ID: 2, ParentID: 1}, {ID: 3, ParentID: 1}, {ID: 4, ParentID: 2}, {ID: 5, ParentID: 3}}
	domains := []string{"food", "fire", "drug"}
	nTeams := 2 + rng.IntN(3)
	for t := range nTeams {
		regions := []int64{int64(2 + t%2)}
		if t >= 2 {
			regions = []int64{1}
		}
		in.Teams = append(in.Teams, Team{ID: int64(100 + t), Kind: TeamComprehensive,
			DailyCapacityMinutes: 600 + rng.IntN(5)*120, RegionIDs: regions})
	}
	nInsp := nTeams * (3 + rng.IntN(3))
	for i := range nInsp {
		var ds []string
		for _, d := range domains {
			if rng.IntN(2) == 0 {
				ds = append(ds, d)
			}
		}
		in.Inspectors = append(in.Inspectors, Inspector{ID: int64(1000 + i), TeamID: int64(100 + i%nTeams), Domains: ds})
	}
	nBiz := 20 + rng.IntN(30)
	for b := range nBiz {
		in.Businesses = append(in.Businesses, Business{USCC: fmt.Sprintf("B%017d", b), RegionID: int64(4 + b%2)})
	}
	for i := range in.Inspectors {
		if rng.IntN(4) == 0 {
			in.Inspectors[i].Conflicts = []string{in.Businesses[rng.IntN(nBiz)].USCC}
		}
	}
	for b := range nBiz {
		if rng.IntN(3) == 0 {
			in.History = append(in.History, PastVisit{USCC: in.Businesses[b].USCC, Date: start - 30,
				InspectorIDs: []int64{in.Inspectors[rng.IntN(nInsp)].ID}})
		}
	}
	wd := newWorkdays(&in.Input)
	ix := newIndex(&in.Input)
	teamUsed := map[[2]int64]int{}
	inspUsed := map[[2]int64]int{}
	seq := 0
	for b := range in.Businesses {
		for range 1 + rng.IntN(2) {
			biz := in.Businesses[b]
			day := wd.days[rng.IntN(len(wd.days))]
			doms := []string{domains[rng.IntN(len(domains))]}
			dur, travel := 30+rng.IntN(60), 10+rng.IntN(20)
			need := dur + travel
			teams := ix.cover[biz.RegionID]
			ti := teams[rng.IntN(len(teams))]
			team := in.Teams[ti]
			if teamUsed[[2]int64{team.ID, int64(day)}]+2*need > team.DailyCapacityMinutes {
				continue
			}
			var staff []int64
			for _, i := range rng.Perm(nInsp) {
				p := in.Inspectors[i]
				if len(staff) == 0 && !slices.Contains(p.Domains, doms[0]) {
					continue
				}
				if slices.Contains(p.Conflicts, biz.USCC) || inspUsed[[2]int64{p.ID, int64(day)}]+need > in.Policy.InspectorDayMinutes {
					continue
				}
				staff = append(staff, p.ID)
				if len(staff) == 2 {
					break
				}
			}
			if len(staff) < 2 {
				continue
			}
			seq++
			teamUsed[[2]int64{team.ID, int64(day)}] += 2 * need
			for _, id := range staff {
				inspUsed[[2]int64{id, int64(day)}] += need
			}
			in.Booked = append(in.Booked, BookedVisit{PlanID: 7, Seq: seq, USCC: biz.USCC, Date: day, TeamID: team.ID,
				InspectorIDs: staff, DurationMinutes: dur, TravelMinutes: travel})
			from, to := day-Day(rng.IntN(10)), day+Day(rng.IntN(10))
			var notice Day
			if rng.IntN(2) == 0 {
				notice = start + Day(rng.IntN(8))
			}
			in.Visits = append(in.Visits, RepairVisit{PlanID: 7, Seq: seq, From: from, To: to, NoticeFrom: notice, Domains: doms})
		}
	}
	for range 1 + rng.IntN(4) {
		from := start + Day(rng.IntN(20))
		in.Unavailable = append(in.Unavailable, Unavailability{InspectorID: in.Inspectors[rng.IntN(nInsp)].ID, From: from, To: from + Day(rng.IntN(6))})
	}
	for range rng.IntN(3) {
		from := start + Day(rng.IntN(20))
		c := Closure{From: from, To: from + Day(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			c.RegionID = int64(2 + rng.IntN(4))
		} else {
			c.TeamID = in.Teams[rng.IntN(nTeams)].ID
		}
		in.Closures = append(in.Closures, c)
	}
	return in
}

// TestRepairProperties checks the pure repair on random calendars: no change
// breaks a window, a notice, domain coverage, recusal, availability or
// capacity; every visit hit is changed or listed; nothing else changes; each
// replacement's draw replays; and the same input and seed give the same
// result.
func TestRepairProperties(t *testing.T) {
	changes, unrepaired, moved, replaced := 0, 0, 0, 0
	for seed := range uint64(300) {
		in := randomCalendar(seed)
		res := Repair(in)
		again := Repair(randomCalendar(seed))
		if !reflect.DeepEqual(res, again) {
			t.Fatalf("seed %d: two repairs of the same calendar differ", seed)
		}
		changes += len(res.Changes)
		unrepaired += len(res.Unrepaired)
		checkRepair(t, seed, in, res)
		for _, c := range res.Changes {
			if c.Moved() {
				moved++
			}
			replaced += len(c.Replacements)
		}
	}
	t.Logf("300 calendars: %d visits changed (%d moved, %d inspectors replaced), %d listed unrepaired", changes, moved, replaced, unrepaired)
	if moved == 0 || replaced == 0 || unrepaired == 0 {
		t.Errorf("the random calendars never exercised a move (%d), a replacement (%d) or an unrepairable visit (%d)", moved, replaced, unrepaired)
	}
}

func checkRepair(t *testing.T, seed uint64, in *RepairInput, res RepairResult) {
	t.Helper()
	wd := newWorkdays(&in.Input)
	ix := newIndex(&in.Input)
	inspOf := map[int64]int{}
	for i, p := range in.Inspectors {
		inspOf[p.ID] = i
	}
	av := newAvailability(&in.Input, ix, wd, inspOf)
	dayIx := func(d Day) int {
		k, ok := slices.BinarySearch(wd.days, d)
		if !ok {
			t.Fatalf("seed %d: %s is not a working day", seed, d)
		}
		return k
	}
	closed := func(bv BookedVisit, d Day) bool {
		k := dayIx(d)
		if !av.any {
			return false
		}
		if av.teamOff[ix.teamOf[bv.TeamID]*len(wd.days)+k] {
			return true
		}
		off := av.regionOff[in.Businesses[ix.biz[bv.USCC]].RegionID]
		return off != nil && off[k]
	}
	away := func(id int64, d Day) bool {
		return av.inspOff != nil && av.inspOff[inspOf[id]*len(wd.days)+dayIx(d)]
	}
	rv := map[int]RepairVisit{}
	for _, v := range in.Visits {
		rv[v.Seq] = v
	}
	changed := map[int]RepairChange{}
	for _, c := range res.Changes {
		changed[c.Seq] = c
	}
	listed := map[int]bool{}
	for _, u := range res.Unrepaired {
		listed[u.Seq] = true
		if changed[u.Seq].Seq != 0 {
			t.Errorf("seed %d: visit %d is both changed and unrepaired", seed, u.Seq)
		}
	}
	final := slices.Clone(in.Booked)
	for k, bv := range in.Booked {
		needed := closed(bv, bv.Date)
		for _, id := range bv.InspectorIDs {
			needed = needed || away(id, bv.Date)
		}
		c, isChanged := changed[bv.Seq]
		if needed && !isChanged && !listed[bv.Seq] {
			t.Errorf("seed %d: visit %d needs repair and is neither changed nor listed", seed, bv.Seq)
		}
		if !needed && (isChanged || listed[bv.Seq]) {
			t.Errorf("seed %d: visit %d needed nothing and was touched", seed, bv.Seq)
		}
		if !isChanged {
			continue
		}
		v := rv[bv.Seq]
		if c.From != bv.Date {
			t.Errorf("seed %d: visit %d change from %s, it was on %s", seed, bv.Seq, c.From, bv.Date)
		}
		if c.Moved() {
			if c.To < v.From || c.To > v.To || c.To < v.NoticeFrom || c.To < in.FirstDay {
				t.Errorf("seed %d: visit %d moved to %s outside window %s..%s / notice %s / first day %s",
					seed, bv.Seq, c.To, v.From, v.To, v.NoticeFrom, in.FirstDay)
			}
		}
		if closed(bv, c.To) {
			t.Errorf("seed %d: visit %d left on closed day %s", seed, bv.Seq, c.To)
		}
		if len(c.InspectorIDs) != len(bv.InspectorIDs) {
			t.Errorf("seed %d: visit %d has %d inspectors, had %d", seed, bv.Seq, len(c.InspectorIDs), len(bv.InspectorIDs))
		}
		for _, dom := range v.Domains {
			covered := false
			for _, id := range c.InspectorIDs {
				covered = covered || slices.Contains(in.Inspectors[inspOf[id]].Domains, dom)
			}
			if !covered {
				t.Errorf("seed %d: visit %d lost domain %s", seed, bv.Seq, dom)
			}
		}
		for pos, id := range c.InspectorIDs {
			if away(id, c.To) {
				t.Errorf("seed %d: visit %d keeps inspector %d away on %s", seed, bv.Seq, id, c.To)
			}
			if slices.Contains(c.InspectorIDs[:pos], id) {
				t.Errorf("seed %d: visit %d has inspector %d twice", seed, bv.Seq, id)
			}
		}
		for _, r := range c.Replacements {
			if bv.InspectorIDs[r.Ord] != r.Out || c.InspectorIDs[r.Ord] != r.In {
				t.Errorf("seed %d: visit %d replacement %+v does not match its staff", seed, bv.Seq, r)
			}
			if slices.Contains(in.Inspectors[inspOf[r.In]].Conflicts, bv.USCC) || slices.Contains(ix.recent[bv.USCC], r.In) {
				t.Errorf("seed %d: visit %d drew recused inspector %d", seed, bv.Seq, r.In)
			}
			if ok, _, why := VerifyInspectorDraw(r.Draw, in.Seed); !ok || r.Draw.Result[0] != fmt.Sprint(r.In) {
				t.Errorf("seed %d: visit %d draw does not replay: %s", seed, bv.Seq, why)
			}
		}
		// Least change: an inspector is replaced only if it cannot come.
		for pos, id := range bv.InspectorIDs {
			if c.InspectorIDs[pos] != id && !c.Moved() && !away(id, c.To) {
				t.Errorf("seed %d: visit %d replaced inspector %d who could come", seed, bv.Seq, id)
			}
		}
		final[k].Date, final[k].InspectorIDs = c.To, c.InspectorIDs
	}
	// Capacity: every team-day and inspector-day a change brought work to is
	// within its capacity.
	teamUsed, inspUsed := map[[2]int64]int{}, map[[2]int64]int{}
	for _, bv := range final {
		need := bv.DurationMinutes + bv.TravelMinutes
		teamUsed[[2]int64{bv.TeamID, int64(bv.Date)}] += need * len(bv.InspectorIDs)
		for _, id := range bv.InspectorIDs {
			inspUsed[[2]int64{id, int64(bv.Date)}] += need
		}
	}
	for _, c := range res.Changes {
		bv := final[slices.IndexFunc(final, func(b BookedVisit) bool { return b.Seq == c.Seq })]
		team := in.Teams[ix.teamOf[bv.TeamID]]
		if c.Moved() && teamUsed[[2]int64{bv.TeamID, int64(c.To)}] > team.DailyCapacityMinutes {
			t.Errorf("seed %d: team %d over capacity on %s after moving visit %d", seed, bv.TeamID, c.To, c.Seq)
		}
		for pos, id := range c.InspectorIDs {
			brought := c.Moved() || in.Booked[slices.IndexFunc(in.Booked, func(b BookedVisit) bool { return b.Seq == c.Seq })].InspectorIDs[pos] != id
			if brought && inspUsed[[2]int64{id, int64(c.To)}] > in.Policy.InspectorDayMinutes {
				t.Errorf("seed %d: inspector %d over capacity on %s after visit %d", seed, id, c.To, c.Seq)
			}
		}
	}
}

// TestRepairLeaveReplacesOnTheSameDay: an inspector on leave is replaced on
// the visit's own day by a certified member of the lead team; the visit does
// not move.
func TestRepairLeaveReplacesOnTheSameDay(t *testing.T) {
	start := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	in := &RepairInput{FirstDay: start + 1, DrawPrefix: "unavailability:1"}
	in.From, in.To, in.Calendar, in.Policy = start, start+13, plainCalendar(), DefaultPolicy()
	in.Regions = []Region{{ID: 1}}
	in.Teams = []Team{{ID: 10, Kind: TeamComprehensive, DailyCapacityMinutes: 2000, RegionIDs: []int64{1}}}
	in.Inspectors = []Inspector{{ID: 1, TeamID: 10, Domains: []string{"food"}}, {ID: 2, TeamID: 10, Domains: []string{"fire"}},
		{ID: 3, TeamID: 10, Domains: []string{"fire"}}, {ID: 4, TeamID: 10, Domains: []string{"food"}, Conflicts: []string{"B1"}}}
	in.Businesses = []Business{{USCC: "B1", RegionID: 1}}
	in.Booked = []BookedVisit{{PlanID: 1, Seq: 1, USCC: "B1", Date: start + 2, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60}}
	in.Visits = []RepairVisit{{PlanID: 1, Seq: 1, From: start, To: start + 10, Domains: []string{"fire", "food"}}}
	in.Unavailable = []Unavailability{{InspectorID: 2, From: start, To: start + 4}}
	res := Repair(in)
	if len(res.Changes) != 1 || len(res.Unrepaired) != 0 {
		t.Fatalf("got %+v", res)
	}
	c := res.Changes[0]
	if c.Moved() || !slices.Equal(c.InspectorIDs, []int64{1, 3}) || c.Replacements[0].Out != 2 || c.Replacements[0].Ord != 1 {
		t.Fatalf("want inspector 2 replaced by 3 (the only other fire inspector) on the same day, got %+v", c)
	}
	if got := c.Replacements[0].Draw.Steps[0].Need; got != "fire" {
		t.Errorf("draw need %q, want fire", got)
	}

	// The lead goes on leave too: food has only inspector 4 left, who
	// declared a conflict with the business. No one can replace the lead
	// that day, so the visit moves after the leave, where both can come.
	in.Unavailable = append(in.Unavailable, Unavailability{InspectorID: 1, From: start + 2, To: start + 2})
	res = Repair(in)
	if len(res.Changes) != 1 {
		t.Fatalf("got %+v", res)
	}
	if c := res.Changes[0]; c.To != start+3 || !slices.Equal(c.InspectorIDs, []int64{1, 3}) {
		t.Fatalf("want the visit on %s with 1 and 3 (2 is away until %s), got %s with %v", start+3, start+4, c.To, c.InspectorIDs)
	}
}

// TestRepairClosureMovesWithinWindowAndNotice: a visit on a closed day moves
// to the nearest open day its window and notice allow; one whose window has
// no such day is listed, not dropped.
func TestRepairClosureMovesWithinWindowAndNotice(t *testing.T) {
	start := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) // Monday
	in := &RepairInput{FirstDay: start + 1, DrawPrefix: "closure:1"}
	in.From, in.To, in.Calendar, in.Policy = start, start+13, plainCalendar(), DefaultPolicy()
	in.Regions = []Region{{ID: 1}, {ID: 2, ParentID: 1}, {ID: 3, ParentID: 1}}
	in.Teams = []Team{{ID: 10, Kind: TeamComprehensive, DailyCapacityMinutes: 2000, RegionIDs: []int64{1}}}
	in.Inspectors = []Inspector{{ID: 1, TeamID: 10, Domains: []string{"food"}}, {ID: 2, TeamID: 10, Domains: []string{"food"}}}
	in.Businesses = []Business{{USCC: "B1", RegionID: 2}, {USCC: "B2", RegionID: 2}, {USCC: "B3", RegionID: 3}}
	in.Booked = []BookedVisit{
		{PlanID: 1, Seq: 1, USCC: "B1", Date: start + 2, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60},
		{PlanID: 1, Seq: 2, USCC: "B2", Date: start + 3, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60},
		{PlanID: 1, Seq: 3, USCC: "B3", Date: start + 2, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60},
	}
	in.Visits = []RepairVisit{
		// Window and notice allow Tuesday on: Wednesday and Thursday are
		// closed, and Tuesday is nearer than Friday.
		{PlanID: 1, Seq: 1, From: start, To: start + 11, NoticeFrom: start + 1, Domains: []string{"food"}},
		// Window ends on the closed Thursday, and its notice forbids Tuesday.
		{PlanID: 1, Seq: 2, From: start, To: start + 3, NoticeFrom: start + 2, Domains: []string{"food"}},
		{PlanID: 1, Seq: 3, From: start, To: start + 11, Domains: []string{"food"}}, // another township: untouched
	}
	in.Closures = []Closure{{RegionID: 2, From: start + 2, To: start + 3}}
	res := Repair(in)
	if len(res.Changes) != 1 || res.Changes[0].Seq != 1 || res.Changes[0].To != start+1 || len(res.Changes[0].Replacements) != 0 {
		t.Fatalf("want visit 1 moved to Tuesday %s with its inspectors, got %+v", start+1, res.Changes)
	}
	if len(res.Unrepaired) != 1 || res.Unrepaired[0].Seq != 2 || res.Unrepaired[0].Reason != RepairNoDay {
		t.Fatalf("want visit 2 listed as no_day, got %+v", res.Unrepaired)
	}

	// With Tuesday out of its notice, the visit goes to Friday: as near as
	// Tuesday would be from Thursday's side, and later.
	in.Visits[0].NoticeFrom = start + 2
	res = Repair(in)
	if len(res.Changes) != 1 || res.Changes[0].To != start+4 {
		t.Fatalf("want visit 1 on Friday %s, got %+v", start+4, res.Changes)
	}
}

// plainCalendar is Monday to Friday with no holidays.
func plainCalendar() *calendar.Calendar {
	c, err := calendar.New(nil, nil)
	if err != nil {
		panic(err)
	}
	return c
}

// TestRepairMoveBack: a visit a repair moved goes back to its day once the
// closure is lifted, when the day has room; one whose day is still closed,
// or too soon for its notice, stays and is listed.
func TestRepairMoveBack(t *testing.T) {
	start := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) // Monday
	in := &RepairInput{FirstDay: start + 1, DrawPrefix: "restore:1"}
	in.From, in.To, in.Calendar, in.Policy = start, start+13, plainCalendar(), DefaultPolicy()
	in.Regions = []Region{{ID: 1}, {ID: 2, ParentID: 1}, {ID: 3, ParentID: 1}}
	in.Teams = []Team{{ID: 10, Kind: TeamComprehensive, DailyCapacityMinutes: 2000, RegionIDs: []int64{1}}}
	in.Inspectors = []Inspector{{ID: 1, TeamID: 10, Domains: []string{"food"}}, {ID: 2, TeamID: 10, Domains: []string{"food"}}}
	in.Businesses = []Business{{USCC: "B1", RegionID: 2}, {USCC: "B2", RegionID: 3}, {USCC: "B3", RegionID: 2}}
	in.Booked = []BookedVisit{
		{PlanID: 1, Seq: 1, USCC: "B1", Date: start + 4, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60},
		{PlanID: 1, Seq: 2, USCC: "B2", Date: start + 4, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60},
		{PlanID: 1, Seq: 3, USCC: "B3", Date: start + 4, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60},
	}
	in.Visits = []RepairVisit{
		{PlanID: 1, Seq: 1, From: start, To: start + 11, BackTo: start + 2, Domains: []string{"food"}},
		{PlanID: 1, Seq: 2, From: start, To: start + 11, BackTo: start + 2, Domains: []string{"food"}}, // township 3 still closed
		{PlanID: 1, Seq: 3, From: start, To: start + 11, BackTo: start + 2, NoticeFrom: start + 3, Domains: []string{"food"}},
	}
	in.Closures = []Closure{{RegionID: 3, From: start + 2, To: start + 2}}
	res := Repair(in)
	if len(res.Changes) != 1 || res.Changes[0].Seq != 1 || res.Changes[0].To != start+2 {
		t.Fatalf("want visit 1 back on %s, got %+v", start+2, res.Changes)
	}
	if len(res.Unrepaired) != 2 || res.Unrepaired[0].Seq != 2 || res.Unrepaired[1].Seq != 3 || res.Unrepaired[0].Reason != RepairNoDay {
		t.Fatalf("want visits 2 and 3 listed, got %+v", res.Unrepaired)
	}
}

// TestRepairListsVisitsOffTheCalendar: a visit a coordinator moved to a
// Saturday that a closure hits is listed, not passed over.
func TestRepairListsVisitsOffTheCalendar(t *testing.T) {
	start := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) // Monday
	in := &RepairInput{FirstDay: start + 1, DrawPrefix: "closure:9"}
	in.From, in.To, in.Calendar, in.Policy = start, start+13, plainCalendar(), DefaultPolicy()
	in.Regions = []Region{{ID: 1}, {ID: 2, ParentID: 1}}
	in.Teams = []Team{{ID: 10, Kind: TeamComprehensive, DailyCapacityMinutes: 2000, RegionIDs: []int64{1}}}
	in.Inspectors = []Inspector{{ID: 1, TeamID: 10, Domains: []string{"food"}}, {ID: 2, TeamID: 10, Domains: []string{"food"}}}
	in.Businesses = []Business{{USCC: "B1", RegionID: 2}, {USCC: "B2", RegionID: 2}}
	in.Booked = []BookedVisit{
		{PlanID: 1, Seq: 1, USCC: "B1", Date: start + 5, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60}, // Saturday
		{PlanID: 1, Seq: 2, USCC: "B2", Date: start + 6, TeamID: 10, InspectorIDs: []int64{1, 2}, DurationMinutes: 60}, // Sunday, not closed
	}
	in.Visits = []RepairVisit{{PlanID: 1, Seq: 1, From: start, To: start + 11, Domains: []string{"food"}},
		{PlanID: 1, Seq: 2, From: start, To: start + 11, Domains: []string{"food"}}}
	in.Closures = []Closure{{RegionID: 1, From: start + 5, To: start + 5}}
	res := Repair(in)
	if len(res.Changes) != 0 || len(res.Unrepaired) != 1 || res.Unrepaired[0].Seq != 1 || res.Unrepaired[0].Reason != RepairNoDay {
		t.Fatalf("want the Saturday visit listed and the Sunday one untouched, got %+v", res)
	}
}
