package planner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"inspectonce/calendar"
)

// instance describes a random planning problem.
type instance struct {
	businesses     int
	departments    int
	teamCapacity   int // minutes per team-day
	inspectorsTeam int
	demands        int
	horizonDays    int
	history        int
	uncapacitated  bool
	independent    bool
}

var testCalendar = func() *calendar.Calendar {
	c, err := calendar.New([]string{"2027-01-01", "2027-02-10", "2027-02-11", "2027-02-12"}, []string{"2027-02-06"})
	if err != nil {
		panic(err)
	}
	return c
}()

// uscc builds a well-formed code; the planner does not check the checksum.
func testUSCC(n int) string { return fmt.Sprintf("91330922%010d", n) }

// randomInput builds a county: a root with townships and grids, teams that
// cover everything (comprehensive), each township (squads) and per department
// (professional), inspectors certified so every domain is held in every team
// kind, businesses spread over the grids, and demands of every source.
func randomInput(r *rand.Rand, ins instance) *Input {
	from := DayOf(time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC))
	in := &Input{
		From: from, To: from + Day(ins.horizonDays) - 1, Calendar: testCalendar,
		Policy: DefaultPolicy(), YearKey: []byte(fmt.Sprintf("year-key-%d", r.Uint64())), Shift: r.Float64(),
	}
	in.Policy.Uncapacitated = ins.uncapacitated
	in.Policy.Independent = ins.independent
	for i := range in.Seed {
		in.Seed[i] = byte(r.Uint32())
	}

	in.Regions = append(in.Regions, Region{ID: 1, Name: "county"})
	var grids []int64
	townships := 3
	for t := range townships {
		tid := int64(10 + t)
		in.Regions = append(in.Regions, Region{ID: tid, ParentID: 1})
		for g := range 2 {
			gid := int64(100 + 10*t + g)
			in.Regions = append(in.Regions, Region{ID: gid, ParentID: tid})
			grids = append(grids, gid)
		}
	}
	domains := make([]string, ins.departments)
	for d := range ins.departments {
		domains[d] = "domain" + strconv.Itoa(d)
		for k := range 2 {
			in.Items = append(in.Items, Item{ID: int64(1000 + 10*d + k), DepartmentID: int64(d + 1), Domain: domains[d], Minutes: 10 + r.IntN(50)})
		}
	}
	industries := []string{"H621", "H611", "F526", "C13"}
	in.Scenarios = []Scenario{{ID: 1, Industries: []string{"H621", "H611"}, ItemIDs: []int64{1000, 1010}}}
	teamID := int64(1)
	addTeam := func(kind string, dept int64, regions []int64) {
		in.Teams = append(in.Teams, Team{ID: teamID, Kind: kind, DepartmentID: dept, BaseLat: 30.7, BaseLng: 122.45,
			DailyCapacityMinutes: ins.teamCapacity, RegionIDs: regions})
		for k := range ins.inspectorsTeam {
			// Every inspector holds two domains; across a team every domain is held.
			held := []string{domains[k%len(domains)], domains[(k+1+int(teamID))%len(domains)]}
			if kind == TeamProfessional {
				held = []string{domains[dept-1]}
			}
			in.Inspectors = append(in.Inspectors, Inspector{ID: teamID*100 + int64(k), TeamID: teamID, Domains: held})
		}
		teamID++
	}
	addTeam(TeamComprehensive, 0, []int64{1})
	for t := range townships {
		addTeam(TeamTownship, 0, []int64{int64(10 + t)})
	}
	for d := range ins.departments {
		addTeam(TeamProfessional, int64(d+1), []int64{1})
	}
	risks := []string{RiskRed, RiskYellow, RiskGreen, RiskGreen}
	for i := range ins.businesses {
		b := Business{USCC: testUSCC(i), RegionID: grids[r.IntN(len(grids))], Industry: industries[r.IntN(len(industries))],
			Lat: 30.6 + r.Float64()*0.2, Lng: 122.3 + r.Float64()*0.3, Risk: risks[r.IntN(len(risks))], List: ListRandom}
		switch r.IntN(20) {
		case 0:
			b.List = ListKey
		case 1:
			b.List = ListLeaveAlone
		}
		in.Businesses = append(in.Businesses, b)
	}
	// Conflicts declared by a few inspectors.
	for i := range in.Inspectors {
		if r.IntN(4) == 0 {
			in.Inspectors[i].Conflicts = []string{testUSCC(r.IntN(ins.businesses))}
		}
	}
	for range ins.history {
		insp := in.Inspectors[r.IntN(len(in.Inspectors))].ID
		it := in.Items[r.IntN(len(in.Items))]
		in.History = append(in.History, PastVisit{USCC: testUSCC(r.IntN(ins.businesses)), Date: from - Day(1+r.IntN(200)),
			DepartmentIDs: []int64{it.DepartmentID}, ItemIDs: []int64{it.ID}, InspectorIDs: []int64{insp, insp + 1}})
	}
	for d := range ins.demands {
		dept := int64(1 + r.IntN(ins.departments))
		a := from + Day(r.IntN(ins.horizonDays))
		b := a + Day(r.IntN(ins.horizonDays))
		dm := Demand{ID: int64(d + 1), DepartmentID: dept, ItemIDs: []int64{1000 + 10*(dept-1) + int64(r.IntN(2))},
			From: a, To: b, Priority: 1 + r.IntN(5), Source: SourceRoutine}
		switch r.IntN(4) {
		case 0:
			dm.Source = SourceComplaint
			dm.Priority = 1
			dm.Businesses = []string{testUSCC(r.IntN(ins.businesses))}
		case 1:
			for range 1 + r.IntN(5) {
				c := testUSCC(r.IntN(ins.businesses))
				if !slices.Contains(dm.Businesses, c) {
					dm.Businesses = append(dm.Businesses, c)
				}
			}
		default:
			dm.Source = SourceCampaign
			rule := &SampleRule{Ratio: 0.05 + r.Float64()*0.3}
			if r.IntN(2) == 0 {
				rule.RegionIDs = []int64{int64(10 + r.IntN(townships))}
			}
			if r.IntN(3) == 0 {
				rule.Industries = []string{industries[r.IntN(len(industries))]}
			}
			dm.Sample = rule
		}
		in.Demands = append(in.Demands, dm)
	}
	return in
}

// checkInvariants asserts DESIGN.md §4's invariants on a plan of in.
func checkInvariants(t *testing.T, in *Input, p *Plan) {
	t.Helper()
	tasks, _, resolveUnplaced := Resolve(in)
	type tk struct {
		demand int64
		uscc   string
		item   int64
	}
	seen := map[tk]int{}
	for _, v := range p.Visits {
		for _, task := range v.Tasks {
			seen[tk{task.DemandID, task.USCC, task.ItemID}]++
		}
	}
	for _, u := range p.Unplaced {
		if u.USCC != "" && u.ItemID != 0 {
			seen[tk{u.DemandID, u.USCC, u.ItemID}]++
		}
	}
	for _, task := range tasks {
		if n := seen[tk{task.DemandID, task.USCC, task.ItemID}]; n != 1 {
			t.Fatalf("task %+v is in %d visits/unplaced entries, want exactly 1", task, n)
		}
	}
	if want := len(tasks) + countTaskEntries(resolveUnplaced); len(seen) != want {
		t.Fatalf("plan accounts for %d tasks, resolve made %d (+%d unplaced there)", len(seen), len(tasks), countTaskEntries(resolveUnplaced))
	}

	items := map[int64]Item{}
	for _, it := range in.Items {
		items[it.ID] = it
	}
	insp := map[int64]Inspector{}
	for _, x := range in.Inspectors {
		insp[x.ID] = x
	}
	teamByID := map[int64]Team{}
	for _, tm := range in.Teams {
		teamByID[tm.ID] = tm
	}
	recent := recentInspectors(in)
	type tdKey struct {
		team int64
		day  Day
	}
	teamUse := map[tdKey]int{}
	inspUse := map[tdKey]int{}
	for _, v := range p.Visits {
		if !in.Calendar.IsWorkingDay(v.Date.Time()) || v.Date < in.From || v.Date > in.To {
			t.Fatalf("visit %s on %s: not a working day in the horizon", v.USCC, v.Date)
		}
		for _, task := range v.Tasks {
			if v.Date < task.From || v.Date > task.To {
				t.Fatalf("visit %s on %s outside task window %s..%s", v.USCC, v.Date, task.From, task.To)
			}
			if task.USCC != v.USCC {
				t.Fatalf("visit %s holds a task of %s", v.USCC, task.USCC)
			}
		}
		ids := slices.Clone(v.InspectorIDs)
		slices.Sort(ids)
		if len(slices.Compact(ids)) < in.Policy.MinInspectors || len(slices.Compact(slices.Clone(ids))) != len(v.InspectorIDs) {
			t.Fatalf("visit %s has inspectors %v: fewer than %d distinct", v.USCC, v.InspectorIDs, in.Policy.MinInspectors)
		}
		for _, task := range v.Tasks {
			d := items[task.ItemID].Domain
			ok := false
			for _, id := range v.InspectorIDs {
				ok = ok || slices.Contains(insp[id].Domains, d)
			}
			if !ok {
				t.Fatalf("visit %s: no inspector certified in %s", v.USCC, d)
			}
		}
		for _, id := range v.InspectorIDs {
			if slices.Contains(insp[id].Conflicts, v.USCC) {
				t.Fatalf("inspector %d has a declared conflict with %s", id, v.USCC)
			}
			if slices.Contains(recent[v.USCC], id) {
				t.Fatalf("inspector %d visited %s within the last %d visits", id, v.USCC, in.Policy.RecusalLastN)
			}
			inspUse[tdKey{id, v.Date}] += v.DurationMinutes + v.TravelMinutes
		}
		teamUse[tdKey{v.TeamID, v.Date}] += (v.DurationMinutes + v.TravelMinutes) * len(v.InspectorIDs)
	}
	if !in.Policy.Uncapacitated {
		for k, used := range teamUse {
			if c := teamByID[k.team].DailyCapacityMinutes; used > c {
				t.Fatalf("team %d on %s uses %d of %d minutes", k.team, k.day, used, c)
			}
		}
		for k, used := range inspUse {
			if used > in.Policy.InspectorDayMinutes {
				t.Fatalf("inspector %d on %s works %d minutes", k.team, k.day, used)
			}
		}
	}
	for _, td := range p.TeamDays {
		reserved := 0
		for _, vi := range td.Visits {
			reserved += p.Visits[vi].TravelMinutes
		}
		if td.TravelMinutes > reserved {
			t.Fatalf("team %d on %s travels %d minutes, %d reserved", td.TeamID, td.Date, td.TravelMinutes, reserved)
		}
	}
	for _, d := range p.Draws {
		if d.Kind != DrawInspectors {
			continue
		}
		if ok, _, why := VerifyInspectorDraw(d, in.Seed); !ok {
			t.Fatalf("inspector draw %s does not verify: %s", d.VisitKey, why)
		}
	}
}

func countTaskEntries(us []Unplaced) int {
	n := 0
	for _, u := range us {
		if u.USCC != "" && u.ItemID != 0 {
			n++
		}
	}
	return n
}

func recentInspectors(in *Input) map[string][]int64 {
	byBiz := map[string][]PastVisit{}
	for _, h := range in.History {
		byBiz[h.USCC] = append(byBiz[h.USCC], h)
	}
	out := map[string][]int64{}
	for code, hs := range byBiz {
		slices.SortStableFunc(hs, func(a, b PastVisit) int { return int(b.Date - a.Date) })
		for k := 0; k < len(hs) && k < in.Policy.RecusalLastN; k++ {
			out[code] = append(out[code], hs[k].InspectorIDs...)
		}
	}
	return out
}

func TestPlanInvariantsOnRandomInstances(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 7))
		ins := instance{
			businesses: 20 + r.IntN(300), departments: 2 + r.IntN(5), teamCapacity: 300 + r.IntN(3000),
			inspectorsTeam: 2 + r.IntN(6), demands: 1 + r.IntN(25), horizonDays: 5 + r.IntN(30), history: r.IntN(200),
			independent: r.IntN(4) == 0,
		}
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			in := randomInput(r, ins)
			p, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, in, p)
			again, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, again) {
				t.Fatal("the same input and seed gave a different plan")
			}
		})
	}
}

// Without capacity limits every merged visit is placed, so the plan reaches
// the stabbing lower bound exactly.
func TestUncapacitatedVisitsEqualLowerBound(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 11))
		ins := instance{businesses: 20 + r.IntN(200), departments: 2 + r.IntN(4), teamCapacity: 1, inspectorsTeam: 4,
			demands: 1 + r.IntN(30), horizonDays: 5 + r.IntN(25), uncapacitated: true}
		in := randomInput(r, ins)
		for i := range in.Inspectors {
			in.Inspectors[i].Conflicts = nil
		}
		p, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, in, p)
		for _, u := range p.Unplaced {
			if u.Reason == ReasonCapacity || u.Reason == ReasonNoInspectors || u.Reason == ReasonNoTeam {
				t.Fatalf("seed %d: uncapacitated plan left %+v", seed, u)
			}
		}
		if p.Stats.Visits != p.Stats.LowerBound {
			t.Fatalf("seed %d: %d visits, lower bound %d", seed, p.Stats.Visits, p.Stats.LowerBound)
		}
		if p.Stats.Visits > p.Stats.NaiveVisits {
			t.Fatalf("seed %d: %d visits exceed the naive %d", seed, p.Stats.Visits, p.Stats.NaiveVisits)
		}
	}
}

func TestTightCapacityListsWhatDidNotFit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	in := randomInput(r, instance{businesses: 300, departments: 3, teamCapacity: 200, inspectorsTeam: 2, demands: 30, horizonDays: 5})
	p, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, in, p)
	if p.Stats.UnplacedByReason[ReasonCapacity] == 0 {
		t.Fatalf("a tight county placed everything: %+v", p.Stats)
	}
}

func TestVerifyInspectorDrawDetectsTampering(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	in := randomInput(r, instance{businesses: 50, departments: 2, teamCapacity: 5000, inspectorsTeam: 5, demands: 10, horizonDays: 10})
	p, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var d Draw
	for _, x := range p.Draws {
		if x.Kind == DrawInspectors && len(x.Steps[0].Candidates) > 1 {
			d = x
			break
		}
	}
	if d.Kind == "" {
		t.Fatal("no inspector draw with a choice")
	}
	if ok, _, why := VerifyInspectorDraw(d, in.Seed); !ok {
		t.Fatalf("genuine draw rejected: %s", why)
	}
	other := in.Seed
	other[0] ^= 1
	tampered := d
	tampered.Steps = slices.Clone(d.Steps)
	for _, c := range d.Steps[0].Candidates {
		if c.Key != d.Steps[0].Pick {
			tampered.Steps[0].Pick = c.Key
			tampered.Result = append([]string{c.Key}, d.Result[1:]...)
			break
		}
	}
	if ok, _, _ := VerifyInspectorDraw(tampered, in.Seed); ok {
		t.Fatal("a changed pick verified")
	}
	// Another seed picks differently for some draw of the plan.
	mismatch := false
	for _, x := range p.Draws {
		if x.Kind == DrawInspectors {
			if ok, _, _ := VerifyInspectorDraw(x, other); !ok {
				mismatch = true
			}
		}
	}
	if !mismatch {
		t.Fatal("every draw verified under the wrong seed")
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	in := &Input{From: 10, To: 5, Calendar: testCalendar, Policy: DefaultPolicy()}
	if _, err := Build(in); err == nil {
		t.Fatal("horizon ending before it starts accepted")
	}
	in = &Input{From: 5, To: 10, Calendar: testCalendar, Policy: DefaultPolicy(), Shift: math.NaN()}
	if _, err := Build(in); err == nil {
		t.Fatal("NaN shift accepted")
	}
}
