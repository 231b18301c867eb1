package planner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

func resDay(s string) Day {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return DayOf(t)
}

func resUSCC(i int) string { return fmt.Sprintf("91330100%010d", i) }

// resFixture is a small county: county 1 → townships 10, 20 → grids 11, 12
// (under 10) and 21 (under 20). Items 101, 102 belong to department 1, item
// 201 to department 2. Scenario 7 covers the food industry.
func resFixture() *Input {
	return &Input{
		From: resDay("2025-09-01"),
		To:   resDay("2025-09-30"),
		Regions: []Region{
			{ID: 1, Name: "county"},
			{ID: 10, ParentID: 1}, {ID: 20, ParentID: 1},
			{ID: 11, ParentID: 10}, {ID: 12, ParentID: 10}, {ID: 21, ParentID: 20},
		},
		Items: []Item{
			{ID: 101, DepartmentID: 1, Domain: "food", Minutes: 30},
			{ID: 102, DepartmentID: 1, Domain: "food", Minutes: 20},
			{ID: 201, DepartmentID: 2, Domain: "fire", Minutes: 25},
		},
		Scenarios: []Scenario{{ID: 7, Industries: []string{"food"}, ItemIDs: []int64{101, 201}}},
		Policy:    DefaultPolicy(),
		YearKey:   []byte("fixture year key"),
		Shift:     0.3,
	}
}

func resBiz(i int, region int64, industry, risk, list string) Business {
	return Business{USCC: resUSCC(i), RegionID: region, Industry: industry, Risk: risk, List: list}
}

func TestResolveListTargets(t *testing.T) {
	in := resFixture()
	in.Businesses = []Business{
		resBiz(0, 11, "food", RiskGreen, ListRandom),
		resBiz(1, 12, "food", RiskRed, ListRandom),
		resBiz(2, 21, "retail", RiskGreen, ListLeaveAlone),
	}
	b0, b1, b2 := resUSCC(0), resUSCC(1), resUSCC(2)
	in.Demands = []Demand{
		{ID: 1, DepartmentID: 1, ItemIDs: []int64{101, 999, 101}, Businesses: []string{b1, b0, "NOPE", b0, "NOPE"},
			From: in.From - 10, To: in.From + 5, Priority: 2, Source: SourceRoutine},
		{ID: 2, DepartmentID: 1, ItemIDs: []int64{101}, Businesses: []string{b0}, // next cycle
			From: in.To + 1, To: in.To + 20, Source: SourceRoutine},
		{ID: 3, DepartmentID: 2, ItemIDs: []int64{201}, Businesses: []string{b2}, // complaint: leave-alone is no shield
			From: in.From + 3, To: in.To + 30, Priority: 1, Source: SourceComplaint},
		{ID: 4, DepartmentID: 2, ItemIDs: []int64{201}, Businesses: []string{b2},
			From: in.From, To: in.To, Source: SourceCampaign},
		{ID: 5, DepartmentID: 2, ItemIDs: []int64{998}, Businesses: []string{"GONE"},
			From: in.From, To: in.To, Source: SourceRoutine},
	}
	tasks, draws, unplaced := Resolve(in)
	wantTasks := []Task{
		{DemandID: 1, DepartmentID: 1, USCC: b0, ItemID: 101, From: in.From, To: in.From + 5, Priority: 2},
		{DemandID: 1, DepartmentID: 1, USCC: b1, ItemID: 101, From: in.From, To: in.From + 5, Priority: 2},
		{DemandID: 3, DepartmentID: 2, USCC: b2, ItemID: 201, From: in.From + 3, To: in.To, Priority: 1, Complaint: true},
	}
	if !reflect.DeepEqual(tasks, wantTasks) {
		t.Errorf("tasks:\n got %+v\nwant %+v", tasks, wantTasks)
	}
	if len(draws) != 0 {
		t.Errorf("list demands made draws: %+v", draws)
	}
	wantUnplaced := []Unplaced{
		{DemandID: 1, ItemID: 999, Reason: ReasonUnknownItem},
		{DemandID: 1, USCC: "NOPE", ItemID: 101, Reason: ReasonUnknownTarget},
		{DemandID: 4, USCC: b2, ItemID: 201, Reason: ReasonLeaveAlone},
		{DemandID: 5, ItemID: 998, Reason: ReasonUnknownItem},
		{DemandID: 5, USCC: "GONE", Reason: ReasonUnknownTarget},
	}
	if !reflect.DeepEqual(unplaced, wantUnplaced) {
		t.Errorf("unplaced:\n got %+v\nwant %+v", unplaced, wantUnplaced)
	}
}

// resExclusionFixture: ten businesses in grid 11 with one reason each to be
// left out (or not).
func resExclusionFixture() *Input {
	in := resFixture()
	for i := 0; i < 10; i++ {
		list := ListRandom
		switch i {
		case 0:
			list = ListLeaveAlone
		case 3, 4:
			list = ListKey
		}
		in.Businesses = append(in.Businesses, resBiz(i, 11, "food", []string{RiskRed, RiskYellow, RiskGreen}[i%3], list))
	}
	in.History = []PastVisit{
		// b1: item 101 inspected 30 days ago: cool-down for 101.
		{USCC: resUSCC(1), Date: in.From - 30, DepartmentIDs: []int64{1}, ItemIDs: []int64{101}},
		// b2: two department-1 visits this year, outside the cool-down.
		{USCC: resUSCC(2), Date: resDay("2025-02-10"), DepartmentIDs: []int64{1, 2}, ItemIDs: []int64{102}},
		{USCC: resUSCC(2), Date: resDay("2025-04-10"), DepartmentIDs: []int64{1}, ItemIDs: []int64{102}},
		// b5: recent visit for another department's item: no cool-down for 101.
		{USCC: resUSCC(5), Date: in.From - 10, DepartmentIDs: []int64{2}, ItemIDs: []int64{201}},
		// b6: two department-1 visits, one last year: under the cap.
		{USCC: resUSCC(6), Date: resDay("2024-12-30"), DepartmentIDs: []int64{1}, ItemIDs: []int64{102}},
		{USCC: resUSCC(6), Date: resDay("2025-03-01"), DepartmentIDs: []int64{1}, ItemIDs: []int64{102}},
		// b7: two department-2 visits this year: department 1 may still come.
		{USCC: resUSCC(7), Date: resDay("2025-03-01"), DepartmentIDs: []int64{2}, ItemIDs: []int64{201}},
		{USCC: resUSCC(7), Date: resDay("2025-05-01"), DepartmentIDs: []int64{2}, ItemIDs: []int64{201}},
		// b8: an item-101 visit 100 days ago: past the 90-day cool-down.
		{USCC: resUSCC(8), Date: in.From - 100, DepartmentIDs: []int64{2}, ItemIDs: []int64{101}},
	}
	return in
}

func TestResolveExclusions(t *testing.T) {
	in := resExclusionFixture()
	all := []string{}
	for i := 0; i < 4; i++ {
		all = append(all, resUSCC(i))
	}
	in.Demands = []Demand{
		{ID: 10, DepartmentID: 1, ItemIDs: []int64{101}, Sample: &SampleRule{RegionIDs: []int64{11}, Count: 4},
			From: in.From, To: in.To, Source: SourceRoutine},
		{ID: 11, DepartmentID: 1, ItemIDs: []int64{101}, Sample: &SampleRule{RegionIDs: []int64{11}, Count: 4},
			From: in.From, To: in.To, Source: SourceComplaint},
		{ID: 12, DepartmentID: 1, ItemIDs: []int64{101, 102}, Businesses: all,
			From: in.From, To: in.To, Source: SourceRoutine},
		{ID: 13, DepartmentID: 1, ItemIDs: []int64{101, 102}, Businesses: all,
			From: in.From, To: in.To, Source: SourceComplaint},
	}
	tasks, draws, unplaced := Resolve(in)
	if len(draws) != 2 {
		t.Fatalf("got %d draws, want 2", len(draws))
	}

	routine := draws[0]
	wantExcl := []Exclusion{
		{resUSCC(0), ReasonLeaveAlone},
		{resUSCC(1), ReasonCooldown},
		{resUSCC(2), ReasonYearlyCap},
	}
	if !reflect.DeepEqual(routine.Excluded, wantExcl) {
		t.Errorf("excluded = %+v, want %+v", routine.Excluded, wantExcl)
	}
	// The key list (b3, b4) is taken outside the draw: not in the frame,
	// not counted in n, first in the result.
	if len(routine.Frame) != 5 || routine.N != 4 || len(routine.Result) != 6 {
		t.Errorf("frame %d, N %d, result %v; want 5, 4, 2+4 keys", len(routine.Frame), routine.N, routine.Result)
	}
	if !slices.Equal(routine.Certain, []string{resUSCC(3), resUSCC(4)}) {
		t.Errorf("key list %v, want b3 and b4", routine.Certain)
	}
	for _, c := range routine.Frame {
		if c.Key == resUSCC(3) || c.Key == resUSCC(4) || !(c.Weight > 0) {
			t.Errorf("frame holds %s with weight %v", c.Key, c.Weight)
		}
	}
	if routine.Result[0] != resUSCC(3) || routine.Result[1] != resUSCC(4) {
		t.Errorf("key-list members not first: %v", routine.Result)
	}
	if ok, _, why := VerifyTargetDraw(routine, in.YearKey); !ok {
		t.Errorf("verify: %s", why)
	}

	complaint := draws[1]
	if len(complaint.Excluded) != 0 || len(complaint.Frame) != 8 || len(complaint.Certain) != 2 {
		t.Errorf("complaint draw excluded %v, frame %d, key list %v; want none, 8, 2", complaint.Excluded, len(complaint.Frame), complaint.Certain)
	}

	// The list demand: b0 refused for leave-alone, b1 only for item 101
	// (cool-down), b2 for the cap; b3 gets both tasks. The complaint list
	// gets every task.
	wantUnplaced := []Unplaced{
		{DemandID: 12, USCC: resUSCC(0), ItemID: 101, Reason: ReasonLeaveAlone},
		{DemandID: 12, USCC: resUSCC(0), ItemID: 102, Reason: ReasonLeaveAlone},
		{DemandID: 12, USCC: resUSCC(1), ItemID: 101, Reason: ReasonCooldown},
		{DemandID: 12, USCC: resUSCC(2), ItemID: 101, Reason: ReasonYearlyCap},
		{DemandID: 12, USCC: resUSCC(2), ItemID: 102, Reason: ReasonYearlyCap},
	}
	if !reflect.DeepEqual(unplaced, wantUnplaced) {
		t.Errorf("unplaced:\n got %+v\nwant %+v", unplaced, wantUnplaced)
	}
	got := map[string]bool{}
	for _, tk := range tasks {
		got[fmt.Sprintf("%d/%s/%d", tk.DemandID, tk.USCC, tk.ItemID)] = true
		if tk.Complaint != (tk.DemandID == 11 || tk.DemandID == 13) {
			t.Errorf("task %+v: wrong complaint flag", tk)
		}
	}
	for _, k := range []string{
		"12/" + resUSCC(1) + "/102", "12/" + resUSCC(3) + "/101", "12/" + resUSCC(3) + "/102",
		"13/" + resUSCC(0) + "/101", "13/" + resUSCC(1) + "/101", "13/" + resUSCC(2) + "/102",
	} {
		if !got[k] {
			t.Errorf("missing task %s", k)
		}
	}
	for _, k := range []string{"12/" + resUSCC(0) + "/101", "12/" + resUSCC(1) + "/101", "12/" + resUSCC(2) + "/102"} {
		if got[k] {
			t.Errorf("refused task %s present", k)
		}
	}
	// Drawn businesses get a task per item.
	for _, d := range draws {
		for _, k := range d.Result {
			if !got[fmt.Sprintf("%d/%s/101", d.DemandID, k)] {
				t.Errorf("drawn %s has no task for demand %d", k, d.DemandID)
			}
		}
	}

	t.Run("cap 0 and no cool-down", func(t *testing.T) {
		in := resExclusionFixture()
		in.Policy.YearlyCap = 0
		in.Policy.CooldownDays = 0
		in.Demands = []Demand{{ID: 10, DepartmentID: 1, ItemIDs: []int64{101},
			Sample: &SampleRule{RegionIDs: []int64{11}, Count: 4}, From: in.From, To: in.To, Source: SourceRoutine}}
		_, draws, _ := Resolve(in)
		if want := []Exclusion{{resUSCC(0), ReasonLeaveAlone}}; !reflect.DeepEqual(draws[0].Excluded, want) {
			t.Errorf("excluded = %+v, want %+v", draws[0].Excluded, want)
		}
	})

	t.Run("key list and n", func(t *testing.T) {
		in := resExclusionFixture()
		in.Demands = []Demand{{ID: 10, DepartmentID: 1, ItemIDs: []int64{101},
			Sample: &SampleRule{RegionIDs: []int64{11}, Count: 1}, From: in.From, To: in.To, Source: SourceRoutine}}
		_, draws, _ := Resolve(in)
		d := draws[0]
		if d.N != 1 || len(d.Result) != 3 || !slices.Equal(d.Result[:2], []string{resUSCC(3), resUSCC(4)}) {
			t.Errorf("N %d, result %v; want both key-list members and one drawn", d.N, d.Result)
		}
		if ok, _, why := VerifyTargetDraw(d, in.YearKey); !ok {
			t.Errorf("verify: %s", why)
		}
		// Tampering with the key list is caught.
		bad := d
		bad.Certain = []string{resUSCC(4), resUSCC(3)}
		if ok, _, _ := VerifyTargetDraw(bad, in.YearKey); ok {
			t.Error("a key list out of order verifies")
		}
		bad.Certain = []string{resUSCC(3), resUSCC(4), d.Frame[0].Key}
		if ok, _, _ := VerifyTargetDraw(bad, in.YearKey); ok {
			t.Error("a key list naming a frame member verifies")
		}
		bad.Certain, bad.Result = []string{resUSCC(3)}, d.Result[1:]
		if ok, _, _ := VerifyTargetDraw(bad, in.YearKey); ok {
			t.Error("a key list and result both short of a member verify")
		}
	})

	t.Run("everyone excluded", func(t *testing.T) {
		in := resExclusionFixture()
		rule := &SampleRule{RegionIDs: []int64{11}, RiskCodes: []string{RiskRed}, Count: 1}
		in.Demands = []Demand{{ID: 10, DepartmentID: 1, ItemIDs: []int64{101}, Sample: rule,
			From: in.From, To: in.To, Source: SourceRoutine}}
		for i := range in.Businesses {
			in.Businesses[i].List = ListLeaveAlone
		}
		_, draws, unplaced := Resolve(in)
		if len(draws[0].Frame) != 0 || len(draws[0].Excluded) != 4 || len(draws[0].Result) != 0 {
			t.Errorf("draw %+v", draws[0])
		}
		if want := []Unplaced{{DemandID: 10, Reason: ReasonEmptyPopulation}}; !reflect.DeepEqual(unplaced, want) {
			t.Errorf("unplaced %+v, want %+v", unplaced, want)
		}
	})
}

func TestResolvePopulation(t *testing.T) {
	in := resFixture()
	regions := []int64{11, 12, 21, 1, 99} // 1: placed at the county itself; 99: not in the tree
	industries := []string{"food", "retail"}
	risks := []string{RiskRed, RiskYellow, RiskGreen, "purple"}
	i := 0
	for _, g := range regions {
		for _, ind := range industries {
			for _, rk := range risks {
				in.Businesses = append(in.Businesses, resBiz(i, g, ind, rk, ListRandom))
				i++
			}
		}
	}
	cases := []struct {
		name string
		rule SampleRule
		want func(b Business) bool
	}{
		{"no filter", SampleRule{}, func(b Business) bool { return true }},
		{"township with grids", SampleRule{RegionIDs: []int64{10}}, func(b Business) bool { return b.RegionID == 11 || b.RegionID == 12 }},
		{"county", SampleRule{RegionIDs: []int64{1}}, func(b Business) bool { return b.RegionID != 99 }},
		{"region outside the tree", SampleRule{RegionIDs: []int64{99, 21}}, func(b Business) bool { return b.RegionID == 99 || b.RegionID == 21 }},
		{"industry", SampleRule{Industries: []string{"retail"}}, func(b Business) bool { return b.Industry == "retail" }},
		{"scenario", SampleRule{ScenarioID: 7}, func(b Business) bool { return b.Industry == "food" }},
		{"scenario and industry", SampleRule{ScenarioID: 7, Industries: []string{"retail"}}, func(b Business) bool { return false }},
		{"unknown scenario", SampleRule{ScenarioID: 8}, func(b Business) bool { return false }},
		{"risk", SampleRule{RiskCodes: []string{RiskRed, "purple"}}, func(b Business) bool { return b.Risk == RiskRed || b.Risk == "purple" }},
		{"all filters", SampleRule{RegionIDs: []int64{20}, Industries: []string{"food"}, RiskCodes: []string{RiskGreen}},
			func(b Business) bool { return b.RegionID == 21 && b.Industry == "food" && b.Risk == RiskGreen }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := *in
			rule := c.rule
			rule.Ratio = 0.5
			in.Demands = []Demand{{ID: 1, DepartmentID: 1, ItemIDs: []int64{101}, Sample: &rule, From: in.From, To: in.To}}
			_, draws, unplaced := Resolve(&in)
			var want []Candidate
			for _, b := range in.Businesses {
				if c.want(b) {
					w, ok := in.Policy.RiskWeights[b.Risk]
					if !ok {
						w = 1
					}
					want = append(want, Candidate{b.USCC, w})
				}
			}
			slices.SortFunc(want, func(a, b Candidate) int { return cmpString(a.Key, b.Key) })
			if len(want) == 0 {
				want = []Candidate{}
			}
			if !reflect.DeepEqual(draws[0].Frame, want) {
				t.Errorf("frame:\n got %v\nwant %v", draws[0].Frame, want)
			}
			if len(want) == 0 && (len(unplaced) != 1 || unplaced[0].Reason != ReasonEmptyPopulation) {
				t.Errorf("empty population not reported: %+v", unplaced)
			}
			if draws[0].FrameHash != FrameHash(want) {
				t.Error("frame hash mismatch")
			}
		})
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestResolveSampleSize(t *testing.T) {
	in := resFixture()
	for i := 0; i < 10; i++ {
		in.Businesses = append(in.Businesses, resBiz(i, 11, "food", RiskGreen, ListRandom))
	}
	cases := []struct {
		rule SampleRule
		n    int
	}{
		{SampleRule{Count: 3}, 3},
		{SampleRule{Count: 30}, 10},
		{SampleRule{Ratio: 0.25}, 3}, // round(2.5) = 3
		{SampleRule{Ratio: 0.24}, 2},
		{SampleRule{Ratio: 0.001}, 1}, // at least one
		{SampleRule{Ratio: 1}, 10},
		{SampleRule{Ratio: 7}, 10},
		{SampleRule{}, 0},
	}
	for _, c := range cases {
		rule := c.rule
		in.Demands = []Demand{{ID: 1, DepartmentID: 1, ItemIDs: []int64{101, 102}, Sample: &rule, From: in.From, To: in.To}}
		tasks, draws, _ := Resolve(in)
		if draws[0].N != c.n || len(draws[0].Result) != c.n || len(tasks) != 2*c.n {
			t.Errorf("%+v: N %d, drawn %d, tasks %d; want n = %d", c.rule, draws[0].N, len(draws[0].Result), len(tasks), c.n)
		}
	}
}

// resPopulation makes size businesses spread over grids 11, 12 and 21 with a
// red/yellow/green mix.
func resPopulation(in *Input, size int) {
	for i := 0; i < size; i++ {
		risk := RiskGreen
		switch i % 10 {
		case 0, 5:
			risk = RiskRed
		case 1, 2, 3:
			risk = RiskYellow
		}
		in.Businesses = append(in.Businesses, resBiz(i*7+3, []int64{11, 12, 21}[i%3], "food", risk, ListRandom))
	}
}

func resOverlap(a, b []string) int {
	set := map[string]bool{}
	for _, k := range a {
		set[k] = true
	}
	n := 0
	for _, k := range b {
		if set[k] {
			n++
		}
	}
	return n
}

func TestResolveCoordination(t *testing.T) {
	// Department 1 samples grids 11+12, department 2 grids 12+21, both 10 %.
	run := func(independent bool) (overlap, maxPossible int, draws []Draw) {
		in := resFixture()
		resPopulation(in, 3000)
		in.Policy.Independent = independent
		in.Demands = []Demand{
			{ID: 1, DepartmentID: 1, ItemIDs: []int64{101}, Sample: &SampleRule{RegionIDs: []int64{11, 12}, Ratio: 0.1}, From: in.From, To: in.To},
			{ID: 2, DepartmentID: 2, ItemIDs: []int64{201}, Sample: &SampleRule{RegionIDs: []int64{12, 21}, Ratio: 0.1}, From: in.From, To: in.To},
		}
		_, draws, _ = Resolve(in)
		shared := map[string]bool{}
		for _, b := range in.Businesses {
			if b.RegionID == 12 {
				shared[b.USCC] = true
			}
		}
		inShared := func(keys []string) int {
			n := 0
			for _, k := range keys {
				if shared[k] {
					n++
				}
			}
			return n
		}
		return resOverlap(draws[0].Result, draws[1].Result), min(inShared(draws[0].Result), inShared(draws[1].Result)), draws
	}
	coord, maxCoord, cd := run(false)
	indep, _, id := run(true)
	t.Logf("overlap coordinated %d (max possible %d), independent %d; sample sizes %d, %d",
		coord, maxCoord, indep, len(cd[0].Result), len(cd[1].Result))
	if coord <= indep {
		t.Errorf("coordinated overlap %d not above independent %d", coord, indep)
	}
	if coord < maxCoord*95/100 {
		t.Errorf("coordinated overlap %d far from the maximum %d", coord, maxCoord)
	}
	if coord < 3*indep {
		t.Errorf("coordinated overlap %d not clearly above independent %d", coord, indep)
	}
	for _, d := range cd {
		if d.Salt != "" {
			t.Errorf("coordinated draw has salt %q", d.Salt)
		}
	}
	for _, d := range id {
		if d.Salt != fmt.Sprint(d.DemandID) {
			t.Errorf("independent draw %d has salt %q", d.DemandID, d.Salt)
		}
	}
}

// TestResolveRotation: with the next cycle's shift s' = s + f, a business
// drawn in cycle 1 has (u+s) mod 1 below about λ_b, so it is drawn again in
// cycle 2 only if λ_b > f. Rotating by the sampling ratio therefore rotates
// every business whose λ is at most the ratio (green, here also yellow to
// within rounding) while red ones, weighted above the ratio, may stay;
// rotating by the largest λ used rotates everyone.
func TestResolveRotation(t *testing.T) {
	const ratio = 0.1
	resolve := func(shift float64, onlyGreen bool) Draw {
		in := resFixture()
		resPopulation(in, 3000)
		if onlyGreen {
			for i := range in.Businesses {
				in.Businesses[i].Risk = RiskGreen
			}
		}
		in.Shift = shift
		in.Demands = []Demand{{ID: 1, DepartmentID: 1, ItemIDs: []int64{101},
			Sample: &SampleRule{Ratio: ratio}, From: in.From, To: in.To}}
		_, draws, _ := Resolve(in)
		return draws[0]
	}
	const s1 = 0.8
	red := map[string]bool{}
	{
		in := resFixture()
		resPopulation(in, 3000)
		for _, b := range in.Businesses {
			red[b.USCC] = b.Risk == RiskRed
		}
	}

	t.Run("equal weights", func(t *testing.T) {
		c1 := resolve(s1, true).Result
		c2 := resolve(NextShift(s1, ratio), true).Result
		same := resolve(s1, true).Result
		if resOverlap(c1, same) != len(c1) {
			t.Fatal("same shift gave a different sample")
		}
		kept := resOverlap(c1, c2)
		t.Logf("drew %d, %d again after rotating by the ratio (independent samples: ≈ %.0f)", len(c1), kept, float64(len(c1))*ratio)
		if kept > len(c1)/50 {
			t.Errorf("rotation kept %d of %d", kept, len(c1))
		}
	})

	t.Run("risk weights", func(t *testing.T) {
		d1 := resolve(s1, false)
		c1 := d1.Result
		c2 := resolve(NextShift(s1, ratio), false).Result
		var redKept, otherKept, others int
		in2 := map[string]bool{}
		for _, k := range c2 {
			in2[k] = true
		}
		for _, k := range c1 {
			switch {
			case red[k] && in2[k]:
				redKept++
			case !red[k]:
				others++
				if in2[k] {
					otherKept++
				}
			}
		}
		t.Logf("rotating by the ratio: %d red kept; %d of %d others kept", redKept, otherKept, others)
		if otherKept > others/10 {
			t.Errorf("rotation kept %d of %d yellow/green businesses", otherKept, others)
		}
		maxLambda := 0.0
		for _, p := range InclusionProbabilities(d1.Frame, d1.N) {
			if p < 1 {
				maxLambda = math.Max(maxLambda, p)
			}
		}
		kept := resOverlap(c1, resolve(NextShift(s1, maxLambda), false).Result)
		t.Logf("rotating by the largest λ %.3f: %d of %d kept", maxLambda, kept, len(c1))
		if kept > len(c1)/20 {
			t.Errorf("rotation by the largest λ kept %d of %d", kept, len(c1))
		}
	})
}

// resRandomInput builds a random instance with every feature in play.
func resRandomInput(seed uint64, size int) *Input {
	rng := rand.New(rand.NewPCG(seed, 99))
	in := resFixture()
	in.Scenarios = append(in.Scenarios, Scenario{ID: 8, Industries: []string{"retail", "hotel"}})
	grids := []int64{11, 12, 21}
	inds := []string{"food", "retail", "hotel"}
	risks := []string{RiskRed, RiskYellow, RiskGreen, RiskGreen}
	lists := []string{ListRandom, ListRandom, ListRandom, ListRandom, ListRandom, ListRandom, ListKey, ListLeaveAlone}
	for i := 0; i < size; i++ {
		in.Businesses = append(in.Businesses, resBiz(rng.IntN(1e9), grids[rng.IntN(3)], inds[rng.IntN(3)], risks[rng.IntN(4)], lists[rng.IntN(len(lists))]))
	}
	for i := 0; i < size/2; i++ {
		b := in.Businesses[rng.IntN(size)]
		in.History = append(in.History, PastVisit{USCC: b.USCC, Date: in.From - Day(rng.IntN(300)),
			DepartmentIDs: []int64{int64(1 + rng.IntN(2))}, ItemIDs: []int64{[]int64{101, 102, 201}[rng.IntN(3)]}})
	}
	for id := int64(1); id <= 12; id++ {
		d := Demand{ID: id, DepartmentID: 1 + id%2, ItemIDs: []int64{101, 201, 102}[:1+id%3],
			From: in.From + Day(rng.IntN(10)) - 5, To: in.From + Day(10+rng.IntN(40)), Priority: 1 + int(id%5),
			Source: []string{SourceRoutine, SourceCampaign, SourceComplaint, SourceScenario}[id%4]}
		if id%3 == 0 {
			for j := 0; j < 8; j++ {
				d.Businesses = append(d.Businesses, in.Businesses[rng.IntN(size)].USCC)
			}
		} else {
			d.Sample = &SampleRule{RegionIDs: [][]int64{nil, {10}, {21}}[id%3], Ratio: 0.2}
			if id%4 == 1 {
				d.Sample.ScenarioID = 8
			}
			if id%5 == 2 {
				d.Sample = &SampleRule{RiskCodes: []string{RiskRed, RiskYellow}, Count: 7}
			}
		}
		in.Demands = append(in.Demands, d)
	}
	return in
}

func TestResolveDeterministic(t *testing.T) {
	for _, independent := range []bool{false, true} {
		in := resRandomInput(5, 400)
		in.Policy.Independent = independent
		t1, d1, u1 := Resolve(in)
		t2, d2, u2 := Resolve(in)
		if !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(d1, d2) || !reflect.DeepEqual(u1, u2) {
			t.Fatalf("independent=%v: two runs differ", independent)
		}
		// The registry's order does not matter either.
		shuffled := *in
		shuffled.Businesses = slices.Clone(in.Businesses)
		rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled.Businesses), func(i, j int) {
			shuffled.Businesses[i], shuffled.Businesses[j] = shuffled.Businesses[j], shuffled.Businesses[i]
		})
		t3, d3, u3 := Resolve(&shuffled)
		if !reflect.DeepEqual(t1, t3) || !reflect.DeepEqual(d1, d3) || !reflect.DeepEqual(u1, u3) {
			t.Fatalf("independent=%v: output depends on the order of businesses", independent)
		}
		if len(t1) == 0 || len(d1) == 0 {
			t.Fatal("fixture produced nothing")
		}
	}
}

func TestResolveInvariants(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		in := resRandomInput(seed, 300)
		in.Policy.Independent = seed%2 == 1
		tasks, draws, _ := Resolve(in)
		// Sorted by USCC, item, demand; no duplicates; windows inside the horizon.
		for i, tk := range tasks {
			if tk.From < in.From || tk.To > in.To || tk.From > tk.To {
				t.Fatalf("seed %d: task window %v..%v outside the horizon", seed, tk.From, tk.To)
			}
			if i > 0 {
				p := tasks[i-1]
				if p.USCC > tk.USCC || (p.USCC == tk.USCC && (p.ItemID > tk.ItemID ||
					(p.ItemID == tk.ItemID && p.DemandID >= tk.DemandID))) {
					t.Fatalf("seed %d: tasks out of order at %d: %+v, %+v", seed, i, p, tk)
				}
			}
		}
		// Every draw verifies, and every drawn business has its tasks.
		has := map[string]bool{}
		for _, tk := range tasks {
			has[fmt.Sprint(tk.DemandID, tk.USCC)] = true
		}
		for _, d := range draws {
			if ok, _, why := VerifyTargetDraw(d, in.YearKey); !ok {
				t.Fatalf("seed %d: draw for demand %d does not verify: %s", seed, d.DemandID, why)
			}
			if d.Shift != in.Shift || d.Kind != DrawTargets {
				t.Fatalf("seed %d: draw %+v", seed, d)
			}
			for _, k := range d.Result {
				if !has[fmt.Sprint(d.DemandID, k)] {
					t.Fatalf("seed %d: drawn %s has no task", seed, k)
				}
			}
		}
	}
}

// resDistrict is a district-sized instance: 100,000 businesses in 20
// townships × 10 grids, 10 departments with 4 items each, 50 sample demands
// and 200 list demands, and a year of history.
func resDistrict() *Input {
	rng := rand.New(rand.NewPCG(2025, 1))
	in := &Input{
		From:    resDay("2025-09-01"),
		To:      resDay("2025-09-30"),
		Policy:  DefaultPolicy(),
		YearKey: []byte("district year key"),
		Shift:   0.42,
		Regions: []Region{{ID: 1}},
	}
	for t := int64(1); t <= 20; t++ {
		in.Regions = append(in.Regions, Region{ID: 100 * t, ParentID: 1})
		for g := int64(1); g <= 10; g++ {
			in.Regions = append(in.Regions, Region{ID: 100*t + g, ParentID: 100 * t})
		}
	}
	for dep := int64(1); dep <= 10; dep++ {
		for k := int64(1); k <= 4; k++ {
			in.Items = append(in.Items, Item{ID: 100*dep + k, DepartmentID: dep, Domain: fmt.Sprint("d", dep), Minutes: 20})
		}
	}
	industries := make([]string, 30)
	for i := range industries {
		industries[i] = fmt.Sprint("ind", i)
	}
	in.Scenarios = []Scenario{{ID: 1, Industries: industries[:10]}}
	for i := 0; i < 100000; i++ {
		risk := RiskGreen
		if x := rng.IntN(10); x == 0 {
			risk = RiskRed
		} else if x < 4 {
			risk = RiskYellow
		}
		list := ListRandom
		if x := rng.IntN(100); x < 2 {
			list = ListKey
		} else if x < 5 {
			list = ListLeaveAlone
		}
		in.Businesses = append(in.Businesses, Business{
			USCC: fmt.Sprintf("9133%014d", rng.Int64N(1e14)), RegionID: int64(100*(1+rng.IntN(20)) + 1 + rng.IntN(10)),
			Industry: industries[rng.IntN(30)], Risk: risk, List: list,
		})
	}
	for i := 0; i < 30000; i++ {
		dep := int64(1 + rng.IntN(10))
		in.History = append(in.History, PastVisit{
			USCC: in.Businesses[rng.IntN(len(in.Businesses))].USCC, Date: in.From - Day(1+rng.IntN(365)),
			DepartmentIDs: []int64{dep}, ItemIDs: []int64{100*dep + int64(1+rng.IntN(4))},
		})
	}
	id := int64(0)
	for s := 0; s < 50; s++ {
		id++
		dep := int64(1 + s%10)
		t0 := 1 + rng.IntN(17)
		rule := &SampleRule{RegionIDs: []int64{int64(100 * t0), int64(100 * (t0 + 1)), int64(100 * (t0 + 2)), int64(100 * (t0 + 3))}, Ratio: 0.07}
		switch s % 5 {
		case 1:
			rule.ScenarioID = 1
			rule.Ratio = 0.22
		case 2:
			rule.RiskCodes = []string{RiskRed, RiskYellow}
			rule.Ratio = 0.15
		}
		in.Demands = append(in.Demands, Demand{ID: id, DepartmentID: dep, ItemIDs: []int64{100*dep + 1, 100*dep + 2, 100*dep + 3},
			Sample: rule, From: in.From, To: in.To, Priority: 3, Source: SourceRoutine})
	}
	for l := 0; l < 200; l++ {
		id++
		dep := int64(1 + l%10)
		d := Demand{ID: id, DepartmentID: dep, ItemIDs: []int64{100*dep + 4, 100*dep + 1}, From: in.From + Day(l%20), To: in.To,
			Priority: 2, Source: []string{SourceRoutine, SourceCampaign, SourceComplaint}[l%3]}
		for j := 0; j < 250; j++ {
			d.Businesses = append(d.Businesses, in.Businesses[rng.IntN(len(in.Businesses))].USCC)
		}
		in.Demands = append(in.Demands, d)
	}
	return in
}

func BenchmarkResolveDistrict(b *testing.B) {
	for _, mode := range []struct {
		name        string
		independent bool
	}{{"coordinated", false}, {"independent", true}} {
		b.Run(mode.name, func(b *testing.B) {
			in := resDistrict()
			in.Policy.Independent = mode.independent
			var tasks []Task
			var draws []Draw
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				tasks, draws, _ = Resolve(in)
			}
			frame := 0
			for _, d := range draws {
				frame += len(d.Frame)
			}
			b.ReportMetric(float64(len(tasks)), "tasks")
			b.ReportMetric(float64(frame), "frame-members")
		})
	}
}
