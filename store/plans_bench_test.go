package store_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// districtPlan builds a district-sized plan by hand: 100,000 visits with
// 300,000 tasks, 2-3 inspectors and one recorded inspector draw each (two
// weighted picks over 16 candidates), 30
// target draws over frames of 10,000 businesses, 800 team-days and 5,000
// unplaced tasks.
func districtPlan(codes []string, teams, inspectors, demands []int64, dept, item int64) *planner.Plan {
	const visits = 100_000
	from := planner.DayOf(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	p := &planner.Plan{Visits: make([]planner.Visit, visits)}
	perDay := map[[2]int64][]int{}
	for i := range p.Visits {
		team := teams[i%len(teams)]
		date := from + planner.Day((i/len(teams))%20)
		key := [2]int64{team, int64(date)}
		perDay[key] = append(perDay[key], i)
		v := planner.Visit{USCC: codes[i], Date: date, TeamID: team, DepartmentIDs: []int64{dept},
			DurationMinutes: 60, TravelMinutes: 7, RouteOrder: len(perDay[key])}
		for k := range 3 {
			v.Tasks = append(v.Tasks, planner.Task{DemandID: demands[(i+k)%len(demands)], DepartmentID: dept, USCC: codes[i],
				ItemID: item, From: from, To: from + 27, Priority: 3})
		}
		n := 2 + i%2
		for k := range n {
			v.InspectorIDs = append(v.InspectorIDs, inspectors[(i*3+k*7)%len(inspectors)])
		}
		p.Visits[i] = v
		var frame []planner.Candidate
		for k := range 16 {
			frame = append(frame, planner.Candidate{Key: strconv.FormatInt(inspectors[(i+k*11)%len(inspectors)], 10), Weight: 1 / float64(k+1)})
		}
		p.Draws = append(p.Draws, planner.Draw{Kind: planner.DrawInspectors, VisitKey: fmt.Sprintf("%s#%d", codes[i], 0),
			FrameHash: planner.FrameHash(frame), N: 2, Required: []string{"food_safety"},
			Steps:  []planner.DrawStep{{Need: "food_safety", Candidates: frame, Pick: frame[0].Key}, {Candidates: frame[1:], Pick: frame[1].Key}},
			Result: []string{frame[0].Key, frame[1].Key}})
	}
	for key, vs := range perDay {
		p.TeamDays = append(p.TeamDays, planner.TeamDay{TeamID: key[0], Date: planner.Day(key[1]), Visits: vs,
			TravelKm: 42.5, WorkMinutes: 60 * len(vs), TravelMinutes: 7 * len(vs)})
	}
	for d := range 30 {
		frame := make([]planner.Candidate, 10_000)
		for k := range frame {
			frame[k] = planner.Candidate{Key: codes[(d*3331+k)%len(codes)], Weight: float64(1 + k%4)}
		}
		res := make([]string, 500)
		for k := range res {
			res[k] = frame[k*3].Key
		}
		p.Draws = append(p.Draws, planner.Draw{Kind: planner.DrawTargets, DemandID: demands[d%len(demands)], Frame: frame,
			FrameHash: planner.FrameHash(frame), N: 500, Shift: 0.25, Result: res})
	}
	for k := range 5000 {
		p.Unplaced = append(p.Unplaced, planner.Unplaced{DemandID: demands[k%len(demands)], USCC: codes[visits+k%1000],
			ItemID: item, Reason: planner.ReasonCapacity})
	}
	p.Stats = planner.Stats{Tasks: 305_000, NaiveVisits: visits, LowerBound: visits, Visits: visits, Unplaced: 5000,
		UnplacedByReason: map[string]int{planner.ReasonCapacity: 5000}}
	return p
}

// BenchmarkSavePlanResult stores a district-sized plan (see districtPlan) in
// one transaction, by COPY.
func BenchmarkSavePlanResult(b *testing.B) {
	st, _ := storetest.New(b)
	ctx := context.Background()
	dep := &domain.Department{Code: "SCJG", Name: "市场监管"}
	if err := st.CreateDepartment(ctx, "bench", dep); err != nil {
		b.Fatal(err)
	}
	it := &domain.Item{Code: "SCJG-01", DepartmentID: dep.ID, Name: "食品", Domain: "food_safety", Minutes: 30}
	if err := st.CreateItem(ctx, "bench", it); err != nil {
		b.Fatal(err)
	}
	county := &domain.Region{Code: "D", Name: "区", Level: domain.LevelCounty}
	if err := st.CreateRegion(ctx, "bench", county); err != nil {
		b.Fatal(err)
	}
	const nBiz = 101_000
	biz := make([]domain.Business, nBiz)
	codes := make([]string, nBiz)
	for i := range biz {
		codes[i] = fmt.Sprintf("91330922%010d", i)
		biz[i] = domain.Business{USCC: codes[i], Name: "店" + strconv.Itoa(i), RegionID: county.ID, IndustryCode: "H6210",
			Lat: 30, Lng: 122, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
	}
	if err := st.UpsertBusinesses(ctx, "bench", biz); err != nil {
		b.Fatal(err)
	}
	var teams, inspectors, demands []int64
	for i := range 40 {
		t := &domain.Team{Code: fmt.Sprintf("T%02d", i), Name: "队", Kind: domain.TeamComprehensive, BaseLat: 30, BaseLng: 122,
			DailyCapacityMinutes: 8000, RegionIDs: []int64{county.ID}}
		if err := st.CreateTeam(ctx, "bench", t); err != nil {
			b.Fatal(err)
		}
		teams = append(teams, t.ID)
	}
	var ins []domain.Inspector
	for i := range 700 {
		ins = append(ins, domain.Inspector{Code: fmt.Sprintf("I%04d", i), Name: "人", TeamID: teams[i%40], Domains: []string{"food_safety"}})
	}
	if err := st.UpsertInspectors(ctx, ins); err != nil {
		b.Fatal(err)
	}
	inspectors = append(inspectors, queryIDs(b, st, `SELECT id FROM inspectors ORDER BY id`)...)
	for range 10 {
		d := &domain.Demand{DepartmentID: dep.ID, ItemIDs: []int64{it.ID}, TargetKind: domain.TargetList, Businesses: codes[:1],
			WindowFrom: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), WindowTo: time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC),
			Priority: 3, Source: domain.SourceRoutine}
		if _, err := st.CreateDemand(ctx, "bench", nil, d); err != nil {
			b.Fatal(err)
		}
		demands = append(demands, d.ID)
	}
	if _, err := st.YearKey(ctx, "bench", 2026); err != nil {
		b.Fatal(err)
	}
	p := districtPlan(codes, teams, inspectors, demands, dep.ID, it.ID)
	tasks := 0
	for _, v := range p.Visits {
		tasks += len(v.Tasks)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		pl, err := st.CreatePlan(ctx, "bench", store.NewPlan{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
			To: time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), Mode: store.ModeCoordinated, Year: 2026, Seed: newSeed(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := st.SavePlanResult(ctx, pl.ID, p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(p.Visits)), "visits")
	b.ReportMetric(float64(tasks+len(p.Unplaced)), "tasks")
	b.ReportMetric(float64(len(p.Draws)), "draws")
}
