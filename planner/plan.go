package planner

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// travelAllowanceMinutes of each inspector's day are kept for travel when a
// business's tasks are split into day-sized visits.
const travelAllowanceMinutes = 60

// Build plans one cycle: resolve demands into tasks by coordinated draws, merge
// each business's tasks into the fewest visits, give every visit a working day
// and a lead team within capacity, draw its inspectors and order each team-day's
// route. Everything that could not be placed is in Plan.Unplaced with a reason.
// The same input gives the same plan.
func Build(in *Input) (*Plan, error) {
	if err := checkInput(in); err != nil {
		return nil, err
	}
	tasks, draws, unplaced := Resolve(in)
	ix := newIndex(in)
	wd := newWorkdays(in)
	pol := in.Policy
	dayLimit := pol.InspectorDayMinutes - travelAllowanceMinutes
	if pol.Uncapacitated {
		dayLimit = 0
	}

	plan := &Plan{Draws: draws}
	stats := Stats{UnplacedByReason: map[string]int{}, Utilisation: map[int64]float64{}, Tasks: len(tasks)}

	// The scheduler books the calendar's visits first; joins (join.go) take
	// their capacity from the same accounting before new visits are merged.
	s := newScheduler(in, ix, wd)
	jn := joined{rest: tasks}
	if pol.Join {
		jn = s.join(tasks)
		plan.Joins, plan.Draws = jn.joins, append(plan.Draws, jn.draws...)
	}

	m := mergeAll(jn.rest, ix, wd, pol.SetupMinutes, dayLimit)
	visits := m.visits
	unplaced = append(unplaced, m.unplaced...)
	stats.NaiveVisits, stats.LowerBound = m.naive, m.lowerBound
	if pol.Join {
		jn.stats(&stats, tasks, ix, wd, pol.SetupMinutes, dayLimit)
	}

	s.schedule(visits)
	unplaced = append(unplaced, s.unplaced...)
	plan.Draws = append(plan.Draws, s.draws...)
	s.route(plan)

	sortUnplaced(unplaced)
	plan.Unplaced = unplaced
	stats.Visits = len(plan.Visits)
	for _, v := range plan.Visits {
		if len(v.DepartmentIDs) >= 2 {
			stats.JointVisits++
		}
	}
	if stats.Visits > 0 {
		stats.JointVisitRate = float64(stats.JointVisits) / float64(stats.Visits)
	}
	stats.Unplaced = len(unplaced)
	for _, u := range unplaced {
		stats.UnplacedByReason[u.Reason]++
	}
	for _, td := range plan.TeamDays {
		stats.TravelKm += td.TravelKm
	}
	for ti, t := range in.Teams {
		avail := float64(t.DailyCapacityMinutes) * float64(len(wd.days))
		if avail > 0 {
			stats.Utilisation[t.ID] = float64(s.teamUsedTotal(ti)) / avail
		}
	}
	spread(&stats, plan.Visits, len(wd.days))
	plan.Stats = stats
	return plan, nil
}

// spread reports how the plan's visits fall on days: the busiest day and its
// share of the visits, and each team's peak and mean team-day minutes over
// the horizon's working days (capacity's accounting: (duration + travel) ×
// inspectors).
func spread(st *Stats, visits []Visit, workingDays int) {
	st.TeamLoad = map[int64]TeamLoad{}
	if len(visits) == 0 {
		return
	}
	perDay := map[Day]int{}
	type teamDayKey struct {
		team int64
		day  Day
	}
	minutes := map[teamDayKey]int{}
	total := map[int64]int{}
	for _, v := range visits {
		perDay[v.Date]++
		m := (v.DurationMinutes + v.TravelMinutes) * len(v.InspectorIDs)
		minutes[teamDayKey{v.TeamID, v.Date}] += m
		total[v.TeamID] += m
	}
	for d, n := range perDay {
		if n > perDay[st.BusiestDay] || (n == perDay[st.BusiestDay] && (st.BusiestDay == 0 || d < st.BusiestDay)) {
			st.BusiestDay = d
		}
	}
	st.BusiestDayShare = float64(perDay[st.BusiestDay]) / float64(len(visits))
	for k, m := range minutes {
		tl := st.TeamLoad[k.team]
		if m > tl.PeakMinutes || (m == tl.PeakMinutes && k.day < tl.PeakDay) {
			tl.PeakMinutes, tl.PeakDay = m, k.day
		}
		st.TeamLoad[k.team] = tl
	}
	for team, m := range total {
		tl := st.TeamLoad[team]
		tl.MeanMinutes = float64(m) / float64(max(workingDays, 1))
		st.TeamLoad[team] = tl
	}
}

func checkInput(in *Input) error {
	var errs []error
	if in.To < in.From {
		errs = append(errs, fmt.Errorf("horizon ends (%s) before it starts (%s)", in.To, in.From))
	}
	if in.Policy.MinInspectors < 2 {
		errs = append(errs, fmt.Errorf("policy: at least 2 inspectors per visit, got %d", in.Policy.MinInspectors))
	}
	if !in.Policy.Uncapacitated && in.Policy.InspectorDayMinutes <= in.Policy.SetupMinutes+travelAllowanceMinutes {
		errs = append(errs, fmt.Errorf("policy: inspector day of %d minutes leaves no time to inspect", in.Policy.InspectorDayMinutes))
	}
	if in.Policy.SpeedKmh <= 0 {
		errs = append(errs, fmt.Errorf("policy: speed must be positive, got %g", in.Policy.SpeedKmh))
	}
	if in.Shift < 0 || in.Shift >= 1 || math.IsNaN(in.Shift) {
		errs = append(errs, fmt.Errorf("shift must be in [0, 1), got %g", in.Shift))
	}
	return errors.Join(errs...)
}

func sortUnplaced(u []Unplaced) {
	slices.SortStableFunc(u, func(a, b Unplaced) int {
		return cmp.Or(cmp.Compare(a.DemandID, b.DemandID), strings.Compare(a.USCC, b.USCC),
			cmp.Compare(a.ItemID, b.ItemID), strings.Compare(a.Reason, b.Reason))
	})
}

// index holds the lookups every step needs, built once per cycle.
type index struct {
	biz        map[string]int
	items      map[int64]Item
	township   map[int64]int64    // region -> its ancestor just below the root (itself if a township)
	cover      map[int64][]int    // region -> teams covering it or an ancestor, by team index
	members    [][]int            // team index -> inspector indexes, by id
	teamOf     map[int64]int      // team id -> index
	domainBit  map[string]int     // qualification domain -> bit index
	holds      [][]uint64         // inspector index -> bitset of domains held
	teamHolds  [][]uint64         // team index -> union of its members' domains
	key        []string           // inspector index -> id as a draw key
	conflicts  map[string][]int64 // USCC -> inspector ids with a declared conflict
	recent     map[string][]int64 // USCC -> inspectors on its last N visits
	deptTeams  map[int64][]int    // department -> its professional teams
	domainDept map[string][]int64 // domain -> departments owning items of it
	xy         [][2]float64       // business index -> plane coordinates in km
	baseXY     [][2]float64       // team index -> plane coordinates in km
	refLat     float64
}

func newIndex(in *Input) *index {
	ix := &index{
		biz: make(map[string]int, len(in.Businesses)), items: map[int64]Item{}, township: map[int64]int64{},
		cover: map[int64][]int{}, teamOf: map[int64]int{}, conflicts: map[string][]int64{}, recent: map[string][]int64{},
		deptTeams: map[int64][]int{}, domainDept: map[string][]int64{},
	}
	for i, b := range in.Businesses {
		ix.biz[b.USCC] = i
	}
	for _, it := range in.Items {
		ix.items[it.ID] = it
		if !slices.Contains(ix.domainDept[it.Domain], it.DepartmentID) {
			ix.domainDept[it.Domain] = append(ix.domainDept[it.Domain], it.DepartmentID)
		}
	}
	parent := map[int64]int64{}
	for _, r := range in.Regions {
		parent[r.ID] = r.ParentID
	}
	ancestors := func(r int64) []int64 {
		var out []int64
		for seen := 0; r != 0 && seen < 64; seen++ {
			out = append(out, r)
			r = parent[r]
		}
		return out
	}
	covers := make([]map[int64]bool, len(in.Teams))
	for ti, t := range in.Teams {
		ix.teamOf[t.ID] = ti
		covers[ti] = map[int64]bool{}
		for _, r := range t.RegionIDs {
			covers[ti][r] = true
		}
		if t.Kind == TeamProfessional {
			ix.deptTeams[t.DepartmentID] = append(ix.deptTeams[t.DepartmentID], ti)
		}
	}
	regionOf := func(r int64) {
		if _, done := ix.cover[r]; done {
			return
		}
		anc := ancestors(r)
		if len(anc) >= 2 {
			ix.township[r] = anc[len(anc)-2]
		} else {
			ix.township[r] = r
		}
		teams := []int{}
		for ti := range in.Teams {
			for _, a := range anc {
				if covers[ti][a] {
					teams = append(teams, ti)
					break
				}
			}
		}
		ix.cover[r] = teams
	}
	for _, r := range in.Regions {
		regionOf(r.ID)
	}
	for _, b := range in.Businesses {
		regionOf(b.RegionID)
	}

	ix.members = make([][]int, len(in.Teams))
	ix.domainBit = map[string]int{}
	for _, p := range in.Inspectors {
		for _, d := range p.Domains {
			if _, ok := ix.domainBit[d]; !ok {
				ix.domainBit[d] = len(ix.domainBit)
			}
		}
	}
	words := (len(ix.domainBit) + 63) / 64
	ix.holds = make([][]uint64, len(in.Inspectors))
	ix.teamHolds = make([][]uint64, len(in.Teams))
	for ti := range ix.teamHolds {
		ix.teamHolds[ti] = make([]uint64, words)
	}
	ix.key = make([]string, len(in.Inspectors))
	order := make([]int, len(in.Inspectors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return in.Inspectors[order[a]].ID < in.Inspectors[order[b]].ID })
	for _, i := range order {
		p := in.Inspectors[i]
		ti, inTeam := ix.teamOf[p.TeamID]
		if inTeam {
			ix.members[ti] = append(ix.members[ti], i)
		}
		ix.key[i] = strconv.FormatInt(p.ID, 10)
		ix.holds[i] = make([]uint64, words)
		for _, d := range p.Domains {
			bit := ix.domainBit[d]
			ix.holds[i][bit/64] |= 1 << (bit % 64)
			if inTeam {
				ix.teamHolds[ti][bit/64] |= 1 << (bit % 64)
			}
		}
		for _, c := range p.Conflicts {
			ix.conflicts[c] = append(ix.conflicts[c], p.ID)
		}
	}

	// Recusal: the inspectors of each business's last N visits.
	if n := in.Policy.RecusalLastN; n > 0 {
		byBiz := map[string][]PastVisit{}
		for _, h := range in.History {
			byBiz[h.USCC] = append(byBiz[h.USCC], h)
		}
		for code, hs := range byBiz {
			sort.SliceStable(hs, func(i, j int) bool { return hs[i].Date > hs[j].Date })
			for k := 0; k < len(hs) && k < n; k++ {
				ix.recent[code] = append(ix.recent[code], hs[k].InspectorIDs...)
			}
		}
	}

	// A local plane is accurate to well under a percent across a county and
	// far cheaper than haversine inside the scheduling loop.
	for _, b := range in.Businesses {
		ix.refLat += b.Lat
	}
	if len(in.Businesses) > 0 {
		ix.refLat /= float64(len(in.Businesses))
	}
	ix.xy = make([][2]float64, len(in.Businesses))
	for i, b := range in.Businesses {
		ix.xy[i] = ix.plane(b.Lat, b.Lng)
	}
	ix.baseXY = make([][2]float64, len(in.Teams))
	for ti, t := range in.Teams {
		ix.baseXY[ti] = ix.plane(t.BaseLat, t.BaseLng)
	}
	return ix
}

// has reports whether inspector i is certified in domain.
func (ix *index) has(i int, domain string) bool {
	bit, ok := ix.domainBit[domain]
	return ok && ix.holds[i][bit/64]&(1<<(bit%64)) != 0
}

const kmPerDegree = 6371.0088 * math.Pi / 180

func (ix *index) plane(lat, lng float64) [2]float64 {
	return [2]float64{lng * kmPerDegree * math.Cos(ix.refLat*math.Pi/180), lat * kmPerDegree}
}
