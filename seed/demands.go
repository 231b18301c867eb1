package seed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/store"
)

// Demand is a demo inspection demand, with references by code: its
// department, items, scenario and sample regions. Demand.Businesses holds
// USCCs; Demand.Sample holds the count or ratio, industries and risk codes.
type Demand struct {
	domain.Demand
	Department string
	Items      []string
	// Scenario is the code of the scenario a scenario demand belongs to.
	Scenario string
	// SampleRegions and SampleScenario filter a sampling rule's population.
	SampleRegions  []string
	SampleScenario string
}

// Industry groups the demo demands draw from.
var (
	restaurants = []string{"H6210", "H6220", "H6291"}
	lodging     = []string{"H6130", "H6110", "H6129"}
	crowded     = []string{"H6210", "H6220", "H6291", "H6130", "H6110", "H6129", "R9011", "R9013"}
	seafood     = []string{"C1361", "C1362", "C1369"}
	shipyards   = []string{"C3731", "C3732", "C4342"}
	sites       = []string{"E4710", "E4790"}
	shops       = []string{"F5212", "F5213", "F5219"}
)

// Demands returns the county's open demands as they stand at now: routine
// sampling rules of nine departments over overlapping populations
// (restaurants, lodging, seafood processing, fuel stations, shipyards …),
// two joint scenario campaigns in which every department of the scenario
// samples the same population, complaints (named businesses, priority 1,
// unannounced) and a few list demands. Windows lie in the next one to eight
// weeks and start and end on working days of cal. The businesses named are
// the same whatever now is; only the windows move.
func (c *County) Demands(now time.Time, cal *calendar.Calendar) []Demand {
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// window spans weeks (from, to]: from the first working day after
	// today+7·from to the last working day on or before today+7·to.
	window := func(from, to int) (time.Time, time.Time) {
		a := today.AddDate(0, 0, 7*from+1)
		for !cal.IsWorkingDay(a) {
			a = a.AddDate(0, 0, 1)
		}
		b := today.AddDate(0, 0, 7*to)
		for !cal.IsWorkingDay(b) && b.After(a) {
			b = b.AddDate(0, 0, -1)
		}
		return a, b
	}
	var out []Demand
	add := func(dept, title, source string, prio, announce, wFrom, wTo int, items []string, d Demand) {
		d.Department, d.Items, d.Title, d.Source, d.Priority, d.AnnounceDays = dept, items, title, source, prio, announce
		d.WindowFrom, d.WindowTo = window(wFrom, wTo)
		if d.Sample != nil {
			d.TargetKind = domain.TargetSample
		} else {
			d.TargetKind = domain.TargetList
		}
		out = append(out, d)
	}
	ratio := func(r float64, industries ...string) Demand {
		return Demand{Demand: domain.Demand{Sample: &domain.SampleRule{IndustryCodes: industries, Ratio: &r}}}
	}
	count := func(n int, industries ...string) Demand {
		return Demand{Demand: domain.Demand{Sample: &domain.SampleRule{IndustryCodes: industries, Count: &n}}}
	}
	in := func(d Demand, regions ...string) Demand { d.SampleRegions = regions; return d }
	list := func(codes []string) Demand { return Demand{Demand: domain.Demand{Businesses: codes}} }
	routine, campaign, complaint := domain.SourceRoutine, domain.SourceCampaign, domain.SourceComplaint

	// Routine double-random sampling: each department's own rule, over
	// populations that overlap (a restaurant is in SCJG's, STHJ's, XFJY's and
	// ZJJ's), so coordinated draws land on the same doors.
	add("SCJG", "餐饮服务食品安全“双随机”抽查", routine, 3, 3, 0, 4, []string{"SCJG-01", "SCJG-02"}, ratio(0.10, restaurants...))
	add("XFJY", "人员密集场所消防安全“双随机”抽查", routine, 3, 3, 0, 4, []string{"XFJY-01", "XFJY-02"}, ratio(0.06, crowded...))
	add("WSJK", "住宿场所公共卫生监督抽查", routine, 3, 3, 1, 6, []string{"WSJK-01", "WSJK-03"}, ratio(0.08, lodging...))
	add("GAJ", "旅馆业治安管理检查", routine, 3, 0, 0, 5, []string{"GAJ-01"}, ratio(0.06, lodging...))
	add("WHLY", "民宿旅游服务规范抽查", routine, 3, 3, 1, 6, []string{"WHLY-03"}, ratio(0.05, "H6130"))
	add("STHJ", "餐饮油烟净化设施抽查", routine, 3, 3, 0, 6, []string{"STHJ-01"}, ratio(0.08, "H6210"))
	add("ZJJ", "餐饮场所燃气使用安全抽查", routine, 3, 3, 0, 4, []string{"ZJJ-03"}, ratio(0.05, restaurants...))
	add("STHJ", "水产品加工企业废水排放检查", routine, 3, 3, 1, 8, []string{"STHJ-03"}, count(15, seafood...))
	add("HYYY", "水产品质量安全抽检", routine, 3, 3, 0, 6, []string{"HYYY-03"}, ratio(0.15, append(slices.Clone(seafood), "F5124")...))
	add("SCJG", "水产品加工食品安全检查", routine, 3, 3, 1, 6, []string{"SCJG-02"}, count(12, seafood...))
	add("YJGL", "加油站危险化学品安全检查", routine, 2, 3, 0, 4, []string{"YJGL-01", "YJGL-04"}, count(6, "F5265"))
	add("STHJ", "加油站油气回收检查", routine, 3, 3, 0, 4, []string{"STHJ-04"}, count(5, "F5265"))
	add("JTYS", "建筑工地运输车辆检查", routine, 3, 3, 1, 6, []string{"JTYS-01"}, count(6, sites...))
	add("HYYY", "渔船修造企业检验检查", routine, 3, 3, 1, 8, []string{"HYYY-02"}, ratio(0.30, shipyards...))
	add("YJGL", "渔船修造动火作业安全检查", routine, 3, 3, 1, 8, []string{"YJGL-03"}, count(5, shipyards...))
	add("WHLY", "上网服务场所经营检查", routine, 3, 0, 0, 4, []string{"WHLY-01", "WHLY-02"}, ratio(0.5, "R9013"))
	add("GAJ", "上网服务场所实名登记检查", routine, 3, 0, 0, 4, []string{"GAJ-03"}, ratio(0.5, "R9013"))
	add("SCJG", "药品零售企业检查", routine, 3, 3, 2, 8, []string{"SCJG-05"}, count(5, "F5251"))
	add("SCJG", "嵊山镇旅游旺季明码标价检查", routine, 3, 3, 0, 3, []string{"SCJG-04"}, in(ratio(0.15, "H6210", "H6130"), "SS-SH"))
	add("NYNC", "超市便利店农药经营检查", routine, 4, 3, 2, 8, []string{"NYNC-01"}, count(5, shops...))

	// Joint scenario campaigns: every department of the scenario samples the
	// same population with its own items of the scenario.
	for _, sd := range []struct {
		dept  string
		items []string
	}{{"SCJG", []string{"SCJG-01", "SCJG-04"}}, {"STHJ", []string{"STHJ-01"}}, {"XFJY", []string{"XFJY-01", "XFJY-02"}}, {"ZJJ", []string{"ZJJ-03"}}} {
		d := in(count(10), "SS-CY")
		d.SampleScenario, d.Scenario = "SC-CY", "SC-CY"
		add(sd.dept, "菜园镇餐饮服务“一件事”联合检查", domain.SourceScenario, 3, 3, 1, 5, sd.items, d)
	}
	for _, sd := range []struct {
		dept  string
		items []string
	}{{"GAJ", []string{"GAJ-01"}}, {"XFJY", []string{"XFJY-01", "XFJY-02"}}, {"WSJK", []string{"WSJK-03"}}, {"WHLY", []string{"WHLY-03"}}, {"ZJJ", []string{"ZJJ-04"}}} {
		r := 0.10
		d := in(Demand{Demand: domain.Demand{Sample: &domain.SampleRule{Ratio: &r}}}, "SS-GQ")
		d.SampleScenario, d.Scenario = "SC-MS", "SC-MS"
		add(sd.dept, "枸杞乡民宿“一件事”联合检查", domain.SourceScenario, 3, 3, 1, 5, sd.items, d)
	}

	// Complaints: named businesses, first priority, unannounced.
	pick := c.demandPicker()
	add("SCJG", "投诉举报：就餐后腹泻", complaint, 1, 0, 0, 1, []string{"SCJG-02"}, list(pick(1, "SS-CY", false, "H6210")))
	add("WSJK", "投诉举报：床品未更换", complaint, 1, 0, 0, 2, []string{"WSJK-03"}, list(pick(1, "SS-GQ", false, "H6130")))
	add("STHJ", "投诉举报：加工废水直排入海", complaint, 1, 0, 0, 2, []string{"STHJ-03"}, list(pick(1, "SS-SH", false, seafood...)))
	add("XFJY", "投诉举报：安全出口被锁闭", complaint, 1, 0, 0, 1, []string{"XFJY-04"}, list(pick(1, "SS-CY", false, "R9011")))

	// List demands: the key list, red-coded follow-ups and the passenger lines.
	add("XFJY", "重点单位消防安全检查", routine, 2, 3, 0, 6, []string{"XFJY-01"}, list(pick(8, "", true, crowded...)))
	add("SCJG", "春季食品安全专项整治：红码餐饮复查", campaign, 2, 3, 1, 3, []string{"SCJG-01", "SCJG-02"},
		list(pick(5, "", false, restaurants...)))
	add("JTYS", "水路旅客运输安全检查", routine, 2, 5, 1, 4, []string{"JTYS-04"}, list(pick(2, "", false, "G5511")))

	// The demo business gets an announced joint visit (two departments, two
	// weeks' notice, which the window, starting after two weeks, leaves room for), so that its schedule page and calendar feed show one
	// after the first plan is published. Its window (weeks 2–4) is apart from
	// the complaints' (weeks 0–2), so it is never merged into an unannounced
	// visit.
	anchor := []string{c.DemoAnchors().Business}
	add("SCJG", "明码标价与计量器具专项检查", campaign, 3, 14, 2, 4, []string{"SCJG-03", "SCJG-04"}, list(anchor))
	add("STHJ", "餐饮油烟净化设施专项检查", campaign, 3, 14, 2, 4, []string{"STHJ-01"}, list(anchor))
	return out
}

// demandPicker returns a function naming n businesses of the industries (in
// township town, or anywhere when town is ""): red-coded ones first, key-list
// ones only when key is set (and only those then), never the leave-alone list;
// in register order, so the choice is the same every time.
func (c *County) demandPicker() func(n int, town string, key bool, industries ...string) []string {
	used := map[string]bool{}
	return func(n int, town string, key bool, industries ...string) []string {
		var red, rest []string
		for _, b := range c.Businesses {
			switch {
			case used[b.USCC], !slices.Contains(industries, b.IndustryCode),
				town != "" && !strings.HasPrefix(b.Grid, town+"-"),
				b.ListKind == domain.ListLeaveAlone, key != (b.ListKind == domain.ListKey):
				continue
			}
			if b.RiskCode == domain.RiskRed {
				red = append(red, b.USCC)
			} else {
				rest = append(rest, b.USCC)
			}
		}
		out := append(red, rest...)
		if len(out) > n {
			out = out[:n]
		}
		for _, code := range out {
			used[code] = true
		}
		return out
	}
}

// defaultCalendar is the working-day calendar of the built-in configuration.
func defaultCalendar() (*calendar.Calendar, error) {
	cfg, err := configs.Load("", nil)
	if err != nil {
		return nil, err
	}
	return calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
}

// loadDemands stores the county's demands as of now, resolving codes with the
// ids the registries got.
func loadDemands(ctx context.Context, st *store.Store, c *County, cal *calendar.Calendar, now time.Time, ids idMaps) (int, error) {
	n := 0
	for _, d := range c.Demands(now, cal) {
		if _, err := storeDemand(ctx, st, d, ids); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// storeDemand stores one demand, resolving its codes with ids.
func storeDemand(ctx context.Context, st *store.Store, d Demand, ids idMaps) (domain.Demand, error) {
	dm := d.Demand
	dm.DepartmentID = ids.dept[d.Department]
	dm.ItemIDs = nil
	for _, code := range d.Items {
		dm.ItemIDs = append(dm.ItemIDs, ids.item[code])
	}
	if d.Scenario != "" {
		id := ids.scenario[d.Scenario]
		dm.ScenarioID = &id
	}
	if d.Sample != nil {
		s := *d.Sample
		for _, code := range d.SampleRegions {
			s.RegionIDs = append(s.RegionIDs, ids.region[code])
		}
		if d.SampleScenario != "" {
			id := ids.scenario[d.SampleScenario]
			s.ScenarioID = &id
		}
		dm.Sample = &s
	}
	dm.CreatedBy = Actor
	if _, err := st.CreateDemand(ctx, Actor, nil, &dm); err != nil {
		return dm, fmt.Errorf("seed: demand %q: %w", d.Title, err)
	}
	return dm, nil
}

// idMaps map the county's codes to the ids they were stored under.
type idMaps struct {
	dept, item, scenario, region, team, inspector map[string]int64
}
