package planner

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// districtInput is DESIGN.md §9's district: 100,000 businesses, about 300,000
// tasks, 40 teams, 700 inspectors, a 28-day horizon.
func districtInput(independent bool) *Input {
	r := rand.New(rand.NewPCG(2027, 1))
	from := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	in := &Input{From: from, To: from + 27, Calendar: testCalendar, Policy: DefaultPolicy(),
		YearKey: []byte("district-year-key"), Shift: 0.37}
	in.Policy.Independent = independent
	for i := range in.Seed {
		in.Seed[i] = byte(i)
	}
	const townships, gridsPer, departments = 20, 10, 10
	in.Regions = append(in.Regions, Region{ID: 1})
	var grids []int64
	centre := make(map[int64][2]float64)
	for t := range townships {
		tid := int64(100 + t)
		in.Regions = append(in.Regions, Region{ID: tid, ParentID: 1})
		c := [2]float64{30.5 + r.Float64()*0.5, 120.0 + r.Float64()*0.6}
		for g := range gridsPer {
			gid := tid*100 + int64(g)
			in.Regions = append(in.Regions, Region{ID: gid, ParentID: tid})
			grids = append(grids, gid)
			centre[gid] = [2]float64{c[0] + (r.Float64()-0.5)*0.05, c[1] + (r.Float64()-0.5)*0.05}
		}
	}
	domains := make([]string, departments)
	for d := range departments {
		domains[d] = "domain" + strconv.Itoa(d)
		for k := range 3 {
			in.Items = append(in.Items, Item{ID: int64(1000 + 10*d + k), DepartmentID: int64(d + 1), Domain: domains[d], Minutes: 15 + 5*k})
		}
	}
	industries := []string{"H621", "H611", "F526", "C13", "F521", "R90"}
	risks := []string{RiskRed, RiskYellow, RiskYellow, RiskGreen, RiskGreen, RiskGreen, RiskGreen, RiskGreen, RiskGreen, RiskGreen}
	for i := range 100_000 {
		g := grids[r.IntN(len(grids))]
		c := centre[g]
		in.Businesses = append(in.Businesses, Business{USCC: testUSCC(i), RegionID: g, Industry: industries[r.IntN(len(industries))],
			Lat: c[0] + (r.Float64()-0.5)*0.02, Lng: c[1] + (r.Float64()-0.5)*0.02, Risk: risks[r.IntN(len(risks))], List: ListRandom})
	}
	// 40 teams: one comprehensive, 20 township squads, 19 professional.
	nextTeam := int64(1)
	inspectorsLeft := 700
	addTeam := func(kind string, dept int64, regions []int64, members int) {
		tm := Team{ID: nextTeam, Kind: kind, DepartmentID: dept, RegionIDs: regions, DailyCapacityMinutes: 480 * members}
		tm.BaseLat, tm.BaseLng = 30.75, 120.3
		if kind == TeamTownship {
			c := centre[regions[0]*100]
			tm.BaseLat, tm.BaseLng = c[0], c[1]
		}
		in.Teams = append(in.Teams, tm)
		for k := range members {
			held := []string{domains[(k+int(nextTeam))%departments], domains[(k+3+int(nextTeam))%departments]}
			if kind == TeamProfessional {
				held = []string{domains[dept-1]}
			}
			in.Inspectors = append(in.Inspectors, Inspector{ID: nextTeam*1000 + int64(k), TeamID: nextTeam, Domains: held})
		}
		inspectorsLeft -= members
		nextTeam++
	}
	addTeam(TeamComprehensive, 0, []int64{1}, 60)
	for t := range townships {
		addTeam(TeamTownship, 0, []int64{int64(100 + t)}, 20)
	}
	for k := range 19 {
		members := inspectorsLeft / (19 - k)
		addTeam(TeamProfessional, int64(k%departments+1), []int64{1}, members)
	}
	// Demands: each department draws once per cycle over the industries it
	// regulates, in staggered windows, plus complaints: about 300,000 tasks.
	id := int64(1)
	for d := range departments {
		a := from + Day(d%3*5)
		in.Demands = append(in.Demands, Demand{ID: id, DepartmentID: int64(d + 1), ItemIDs: []int64{int64(1000 + 10*d), int64(1001 + 10*d)},
			From: a, To: a + 17, Priority: 3, Source: SourceCampaign,
			Sample: &SampleRule{Ratio: 0.2, Industries: industries[d%3 : d%3+4]}})
		id++
	}
	for range 300 {
		dept := int64(1 + r.IntN(departments))
		a := from + Day(r.IntN(20))
		in.Demands = append(in.Demands, Demand{ID: id, DepartmentID: dept, ItemIDs: []int64{1000 + 10*(dept-1)},
			From: a, To: a + 5, Priority: 1, Source: SourceComplaint, Businesses: []string{testUSCC(r.IntN(100_000))}})
		id++
	}
	return in
}

func BenchmarkDistrict(b *testing.B) {
	in := districtInput(false)
	var p *Plan
	b.ReportAllocs()
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		var err error
		if p, err = Build(in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	// CPU seconds are steadier than wall time on a shared machine.
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
	indep, err := Build(districtInput(true))
	if err != nil {
		b.Fatal(err)
	}
	report(b, p, indep)
}

// BenchmarkDistrictIndependent builds the district's independent counterpart:
// what a coordinated plan run adds (planning builds it for the comparison its
// stats report).
func BenchmarkDistrictIndependent(b *testing.B) {
	in := districtInput(true)
	b.ReportAllocs()
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		if _, err := Build(in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
}

// BenchmarkDistrictPlanRun is the planning time of POST /plans on the
// district, both ways in one run: "draft" is what a run does before its draft
// is stored now that the independent counterpart is a job of its own
// (plan:compare, after the draft); "draft+counterpart" is what it did before,
// building the counterpart on the same input before storing the draft.
//
//	go test ./planner -run '^$' -bench BenchmarkDistrictPlanRun -benchtime 3x
func BenchmarkDistrictPlanRun(b *testing.B) {
	coordinated, independent := districtInput(false), districtInput(true)
	for _, tc := range []struct {
		name        string
		counterpart bool
	}{{"draft", false}, {"draft+counterpart", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cpu := cpuTime()
			n := 0
			for b.Loop() {
				if _, err := Build(coordinated); err != nil {
					b.Fatal(err)
				}
				if tc.counterpart {
					if _, err := Build(independent); err != nil {
						b.Fatal(err)
					}
				}
				n++
			}
			b.StopTimer()
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, p, indep *Plan) {
	b.ReportMetric(float64(p.Stats.Tasks), "tasks")
	b.ReportMetric(float64(p.Stats.NaiveVisits), "naive")
	b.ReportMetric(float64(p.Stats.LowerBound), "lowerbound")
	b.ReportMetric(float64(p.Stats.Visits), "visits")
	b.ReportMetric(float64(p.Stats.Unplaced), "unplaced")
	b.ReportMetric(p.Stats.JointVisitRate, "joint-rate")
	if indep != nil {
		b.ReportMetric(float64(indep.Stats.LowerBound), "indep-lowerbound")
		b.ReportMetric(float64(indep.Stats.Visits), "indep-visits")
		if indep.Stats.LowerBound > 0 {
			b.ReportMetric(float64(p.Stats.LowerBound)/float64(indep.Stats.LowerBound), "coord/indep")
		}
	}
	b.Logf("stats: %+v", p.Stats.UnplacedByReason)
}

// chicagoInput plans the real establishments of ../shared/realdata: facility
// types give natural demands for food safety, fire, education and health; the
// city's risk classes become red / yellow / green; zip codes are grids of
// townships made of zip prefixes.
func chicagoInput(tb testing.TB, independent, uncapacitated bool) *Input {
	f, err := os.Open("../../shared/realdata/chicago-food-establishments.csv")
	if err != nil {
		tb.Skipf("real data not available: %v", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	head, err := cr.Read()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	from := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	in := &Input{From: from, To: from + 27, Calendar: testCalendar, Policy: DefaultPolicy(),
		YearKey: []byte("chicago-year-key"), Shift: 0.11}
	in.Policy.Independent, in.Policy.Uncapacitated = independent, uncapacitated
	in.Regions = append(in.Regions, Region{ID: 1})
	regions := map[int64]bool{}
	const (
		food = iota + 1
		fire
		education
		health
	)
	for d, dom := range []string{"food_safety", "fire_safety", "education", "public_health"} {
		in.Items = append(in.Items, Item{ID: int64(100 * (d + 1)), DepartmentID: int64(d + 1), Domain: dom, Minutes: 30})
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		lat, e1 := strconv.ParseFloat(rec[col["latitude"]], 64)
		lng, e2 := strconv.ParseFloat(rec[col["longitude"]], 64)
		zip, e3 := strconv.ParseInt(rec[col["zip"]], 10, 64)
		if e1 != nil || e2 != nil || e3 != nil {
			continue
		}
		town := zip / 10
		if !regions[zip] {
			regions[zip] = true
			if !regions[town] {
				regions[town] = true
				in.Regions = append(in.Regions, Region{ID: town, ParentID: 1})
			}
			in.Regions = append(in.Regions, Region{ID: zip, ParentID: town})
		}
		risk := RiskGreen
		switch {
		case strings.HasPrefix(rec[col["risk"]], "Risk 1"):
			risk = RiskRed
		case strings.HasPrefix(rec[col["risk"]], "Risk 2"):
			risk = RiskYellow
		}
		in.Businesses = append(in.Businesses, Business{USCC: rec[col["license"]], RegionID: zip,
			Industry: industryOf(rec[col["facility_type"]]), Lat: lat, Lng: lng, Risk: risk, List: ListRandom})
	}
	// Teams: a citywide comprehensive team, one squad per zip prefix and one
	// professional team per department; about three inspectors per squad.
	id := int64(1)
	add := func(kind string, dept int64, regions []int64, members int, domains []string) {
		in.Teams = append(in.Teams, Team{ID: id, Kind: kind, DepartmentID: dept, BaseLat: 41.88, BaseLng: -87.63,
			DailyCapacityMinutes: 480 * members, RegionIDs: regions})
		for k := range members {
			in.Inspectors = append(in.Inspectors, Inspector{ID: id*100 + int64(k), TeamID: id,
				Domains: []string{domains[k%len(domains)], domains[(k+1)%len(domains)]}})
		}
		id++
	}
	all := []string{"food_safety", "fire_safety", "education", "public_health"}
	add(TeamComprehensive, 0, []int64{1}, 12, all)
	for _, r := range in.Regions {
		if r.ParentID == 1 {
			add(TeamTownship, 0, []int64{r.ID}, 3, all)
		}
	}
	for d := range 4 {
		add(TeamProfessional, int64(d+1), []int64{1}, 4, []string{all[d]})
	}
	mk := func(dept int64, industries []string, ratio float64) Demand {
		return Demand{ID: dept, DepartmentID: dept, ItemIDs: []int64{100 * dept}, From: from, To: from + 27,
			Priority: 3, Source: SourceRoutine, Sample: &SampleRule{Industries: industries, Ratio: ratio}}
	}
	in.Demands = []Demand{
		mk(food, []string{"restaurant", "grocery", "bakery", "school", "daycare", "care"}, 0.10),
		mk(fire, []string{"restaurant", "school", "daycare", "care"}, 0.10),
		mk(education, []string{"school", "daycare"}, 0.25),
		mk(health, []string{"care", "daycare"}, 0.25),
	}
	return in
}

func industryOf(facility string) string {
	f := strings.ToLower(facility)
	switch {
	case strings.Contains(f, "school"):
		return "school"
	case strings.Contains(f, "daycare") || strings.Contains(f, "children"):
		return "daycare"
	case strings.Contains(f, "long term") || strings.Contains(f, "hospital") || strings.Contains(f, "care"):
		return "care"
	case strings.Contains(f, "grocery"):
		return "grocery"
	case strings.Contains(f, "bakery"):
		return "bakery"
	case strings.Contains(f, "restaurant"):
		return "restaurant"
	}
	return "other"
}

// BenchmarkChicago plans the real establishments, capacitated and not, and
// compares coordinated with independent sampling on the same demands.
func BenchmarkChicago(b *testing.B) {
	for _, uncap := range []bool{false, true} {
		b.Run(fmt.Sprintf("uncapacitated=%v", uncap), func(b *testing.B) {
			in := chicagoInput(b, false, uncap)
			var p *Plan
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if p, err = Build(in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			indep, err := Build(chicagoInput(b, true, uncap))
			if err != nil {
				b.Fatal(err)
			}
			report(b, p, indep)
		})
	}
}

// TestChicagoCoordinationGain checks on real data that coordinated sampling
// needs far fewer visits than independent sampling of the same demands, and
// that the uncapacitated plan reaches its lower bound.
func TestChicagoCoordinationGain(t *testing.T) {
	coord, err := Build(chicagoInput(t, false, true))
	if err != nil {
		t.Fatal(err)
	}
	indep, err := Build(chicagoInput(t, true, true))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("coordinated: naive %d, lower bound %d, visits %d, joint %.1f %%; independent: naive %d, visits %d",
		coord.Stats.NaiveVisits, coord.Stats.LowerBound, coord.Stats.Visits, 100*coord.Stats.JointVisitRate,
		indep.Stats.NaiveVisits, indep.Stats.Visits)
	if coord.Stats.Visits != coord.Stats.LowerBound {
		t.Errorf("uncapacitated visits %d != lower bound %d", coord.Stats.Visits, coord.Stats.LowerBound)
	}
	if coord.Stats.Visits >= indep.Stats.Visits {
		t.Errorf("coordinated %d visits, independent %d: no gain", coord.Stats.Visits, indep.Stats.Visits)
	}
}
