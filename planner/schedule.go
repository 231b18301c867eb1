package planner

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// stop is a placed visit in a team-day, before routing.
type stop struct {
	v      *pending
	team   int
	day    int // working-day index
	staff  []int64
	travel int // minutes reserved when it was inserted
}

// teamDay is the running state of one team on one working day.
type teamDay struct {
	used  int     // minutes: (duration + travel) × inspectors, over its visits
	stops []int   // indexes into scheduler.placed, in insertion order
	towns []int64 // townships its stops are in
	// full is the smallest per-inspector need a draw on this day could not
	// staff for lack of time (0 = none yet). Visits needing as much are not
	// tried here again: the day's certified inspectors are booked up.
	full int
}

type scheduler struct {
	in       *Input
	ix       *index
	wd       workdays
	days     int
	teamDays []teamDay // team index × days + day
	inspUsed []int     // inspector index × days + day: minutes
	inspLoad []int     // inspector index: minutes over the cycle
	inspOf   map[int64]int
	placed   []stop
	unplaced []Unplaced
	draws    []Draw

	// scratch of drawInspectors, reused across draws
	gen       int32
	exclGen   []int32  // inspector index -> generation it was excluded in
	exclWhy   []string // inspector index -> why
	chosen    []int
	steps     []step
	stepCands []weighted
}

func newScheduler(in *Input, ix *index, wd workdays) *scheduler {
	s := &scheduler{in: in, ix: ix, wd: wd, days: len(wd.days), inspOf: map[int64]int{}}
	s.teamDays = make([]teamDay, len(in.Teams)*s.days)
	s.inspUsed = make([]int, len(in.Inspectors)*s.days)
	s.inspLoad = make([]int, len(in.Inspectors))
	s.exclGen = make([]int32, len(in.Inspectors))
	s.exclWhy = make([]string, len(in.Inspectors))
	for i, p := range in.Inspectors {
		s.inspOf[p.ID] = i
	}
	return s
}

// option is a (team, day) a visit could go to, with what it would cost.
type option struct {
	team, day int
	pos       int // insertion position in the team-day's tour
	travel    int // minutes
	score     float64
}

// schedule places visits earliest deadline first, complaints before routine
// work, on the working day and team that cost least among the first days
// with room, preferring team-days already working in the same township.
func (s *scheduler) schedule(visits []pending) {
	// Sort indexes, not the visits: a pending is large and moving it costs.
	order := make([]int32, len(visits))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(i, j int32) int {
		a, b := &visits[i], &visits[j]
		if a.complaint != b.complaint {
			if a.complaint {
				return -1
			}
			return 1
		}
		if c := cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.priority, b.priority), cmp.Compare(a.lo, b.lo)); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(s.in.Businesses[a.biz].USCC, s.in.Businesses[b.biz].USCC), cmp.Compare(a.split, b.split))
	})
	s.placed = make([]stop, 0, len(visits))
	seq := make(map[int]int, len(visits))
	for _, i := range order {
		v := &visits[i]
		key := s.in.Businesses[v.biz].USCC + "#" + strconv.Itoa(seq[v.biz])
		seq[v.biz]++
		s.place(v, key)
	}
}

const (
	maxOptionDays = 3 // days with room looked at before choosing
	maxOptions    = 8
	maxDrawTries  = 3 // inspector draws attempted per visit before giving up
)

func (s *scheduler) place(v *pending, key string) {
	b := s.in.Businesses[v.biz]
	teams := s.leadTeams(v)
	if len(teams) == 0 {
		s.refuse(v, ReasonNoTeam)
		return
	}
	pol := s.in.Policy
	k := pol.MinInspectors // fewest inspectors the draw can pick; the draw's own count is checked after it
	var opts []option
	daysWithRoom := 0
	for d := v.lo; d <= v.hi && daysWithRoom < maxOptionDays && len(opts) < maxOptions; d++ {
		found := false
		for rank, ti := range teams {
			td := &s.teamDays[ti*s.days+d]
			if !pol.Uncapacitated && (td.used+v.duration*k > s.in.Teams[ti].DailyCapacityMinutes || (td.full > 0 && v.duration >= td.full)) {
				continue
			}
			pos, km := s.insertion(ti, td, v.biz)
			travel := s.travelMinutes(km)
			if !pol.Uncapacitated && td.used+(v.duration+travel)*k > s.in.Teams[ti].DailyCapacityMinutes {
				continue
			}
			score := float64(travel) + 20*float64(rank) + 3*float64(d-v.lo)
			if s.sameTownship(td, b.RegionID) {
				score -= 15
			}
			opts = append(opts, option{team: ti, day: d, pos: pos, travel: travel, score: score})
			found = true
		}
		if found {
			daysWithRoom++
		}
		if pol.Uncapacitated && found {
			break
		}
	}
	if len(opts) == 0 {
		s.refuse(v, ReasonCapacity)
		return
	}
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].score < opts[j].score })
	reason := ReasonNoInspectors
	tries := 0
	for _, o := range opts {
		td := &s.teamDays[o.team*s.days+o.day]
		need := v.duration + o.travel
		if td.full > 0 && need >= td.full {
			reason = ReasonCapacity
			continue
		}
		if tries++; tries > maxDrawTries {
			break
		}
		o.travel = s.travelMinutes(s.exactInsertion(o.team, td, v.biz, o.pos))
		need = v.duration + o.travel
		if !pol.Uncapacitated && td.used+need*k > s.in.Teams[o.team].DailyCapacityMinutes {
			reason = ReasonCapacity
			continue
		}
		staff, draw, why := s.drawInspectors(v, key, o)
		switch why {
		case "":
		case noRoom:
			reason = ReasonCapacity
			continue
		case ReasonCapacity:
			reason = ReasonCapacity
			if td.full == 0 || need < td.full {
				td.full = need
			}
			continue
		default:
			continue
		}
		if !pol.Uncapacitated && td.used+need*len(staff) > s.in.Teams[o.team].DailyCapacityMinutes {
			reason = ReasonCapacity
			continue
		}
		s.commit(v, o, staff)
		s.draws = append(s.draws, draw)
		return
	}
	s.refuse(v, reason)
}

// leadTeams are the teams that may lead v, best first: the department's own
// professional team for a one-department visit, then the township squad, then
// the comprehensive team. Professional teams lead only their department's
// visits; joint visits go to teams with comprehensive powers.
func (s *scheduler) leadTeams(v *pending) []int {
	region := s.in.Businesses[v.biz].RegionID
	var out []int
	rank := func(ti int) int {
		t := s.in.Teams[ti]
		switch {
		case t.Kind == TeamProfessional:
			return 0
		case t.Kind == TeamTownship:
			return 1
		}
		return 2
	}
	for _, ti := range s.ix.cover[region] {
		t := s.in.Teams[ti]
		if t.Kind == TeamProfessional && (len(v.depts) != 1 || v.depts[0] != t.DepartmentID) {
			continue
		}
		out = append(out, ti)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func (s *scheduler) refuse(v *pending, reason string) {
	for _, t := range v.tasks {
		s.unplaced = append(s.unplaced, Unplaced{DemandID: t.DemandID, USCC: t.USCC, ItemID: t.ItemID, Reason: reason})
	}
}

func (s *scheduler) sameTownship(td *teamDay, region int64) bool {
	return slices.Contains(td.towns, s.ix.township[region])
}

func (s *scheduler) travelMinutes(km float64) int {
	return int(math.Ceil(km / s.in.Policy.SpeedKmh * 60))
}

func dist(a, b [2]float64) float64 { return math.Sqrt(sq(a, b)) }

func sq(a, b [2]float64) float64 {
	dx, dy := a[0]-b[0], a[1]-b[1]
	return dx*dx + dy*dy
}

// insertion finds a cheap place for business bi in the team-day's tour
// (base → stops in insertion order → base) and its extra length in km on
// the local plane, good for comparing options.
func (s *scheduler) insertion(ti int, td *teamDay, bi int) (pos int, km float64) {
	// Insert next to the nearest stop (or the base), on whichever side adds
	// less: linear in the stops with one multiplication each, where trying
	// every position costs three square roots each. 2-opt fixes the rest.
	base := s.ix.baseXY[ti]
	p := s.ix.xy[bi]
	near, best := -1, sq(base, p)
	for i, st := range td.stops {
		if d := sq(s.ix.xy[s.placed[st].v.biz], p); d < best {
			near, best = i, d
		}
	}
	xy := func(i int) [2]float64 {
		if i < 0 || i >= len(td.stops) {
			return base
		}
		return s.ix.xy[s.placed[td.stops[i]].v.biz]
	}
	cost := func(at int) float64 { // insert before position at
		a, c := xy(at-1), xy(at)
		return dist(a, p) + dist(p, c) - dist(a, c)
	}
	if near < 0 {
		// Nearest is the base: first or last position.
		pos = 0
		if n := len(td.stops); n > 0 && cost(n) < cost(0) {
			pos = n
		}
	} else {
		pos = near
		if cost(near+1) < cost(near) {
			pos = near + 1
		}
	}
	return pos, max(cost(pos), 0)
}

// exactInsertion is the haversine length that inserting business bi before
// position pos adds. Reserving it makes the reserved travel of a team-day add
// up to exactly the length of its insertion tour, in the metric routes are
// measured in, so the routed day never needs more travel than was reserved.
func (s *scheduler) exactInsertion(ti int, td *teamDay, bi, pos int) float64 {
	t := s.in.Teams[ti]
	at := func(i int) Point {
		if i < 0 || i >= len(td.stops) {
			return Point{Lat: t.BaseLat, Lng: t.BaseLng}
		}
		b := s.in.Businesses[s.placed[td.stops[i]].v.biz]
		return Point{Lat: b.Lat, Lng: b.Lng}
	}
	b := s.in.Businesses[bi]
	here := Point{Lat: b.Lat, Lng: b.Lng}
	a, c := at(pos-1), at(pos)
	return max(HaversineKm(a, here)+HaversineKm(here, c)-HaversineKm(a, c), 0)
}

func (s *scheduler) commit(v *pending, o option, staff []int64) {
	td := &s.teamDays[o.team*s.days+o.day]
	s.placed = append(s.placed, stop{v: v, team: o.team, day: o.day, staff: staff, travel: o.travel})
	idx := len(s.placed) - 1
	td.stops = append(td.stops, 0)
	copy(td.stops[o.pos+1:], td.stops[o.pos:])
	td.stops[o.pos] = idx
	if town := s.ix.township[s.in.Businesses[v.biz].RegionID]; !slices.Contains(td.towns, town) {
		td.towns = append(td.towns, town)
	}
	need := v.duration + o.travel
	td.used += need * len(staff)
	for _, id := range staff {
		i := s.inspOf[id]
		s.inspUsed[i*s.days+o.day] += need
		s.inspLoad[i] += need
	}
}

func (s *scheduler) teamUsedTotal(ti int) int {
	total := 0
	for d := range s.days {
		total += s.teamDays[ti*s.days+d].used
	}
	return total
}

// route orders every team-day and writes the plan's visits in route order. The
// insertion order is a valid tour whose length the reserved travel covers, so
// starting from it guarantees the routed day never needs more travel than was
// reserved for it.
func (s *scheduler) route(plan *Plan) {
	type job struct {
		team, day int
		order     []int
		km        float64
	}
	var jobs []job
	for ti := range s.in.Teams {
		for d := range s.days {
			if len(s.teamDays[ti*s.days+d].stops) > 0 {
				jobs = append(jobs, job{team: ti, day: d})
			}
		}
	}
	// Team-days are independent: route them on every core. Each result goes
	// to its own slot, so the plan does not depend on scheduling.
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(jobs) {
					return
				}
				j := &jobs[k]
				td := &s.teamDays[j.team*s.days+j.day]
				t := s.in.Teams[j.team]
				pts := make([]Point, len(td.stops))
				initial := make([]int, len(td.stops))
				for i, p := range td.stops {
					b := s.in.Businesses[s.placed[p].v.biz]
					pts[i] = Point{Lat: b.Lat, Lng: b.Lng}
					initial[i] = i
				}
				j.order, j.km = Route(Point{Lat: t.BaseLat, Lng: t.BaseLng}, pts, initial)
			}
		})
	}
	wg.Wait()
	for _, j := range jobs {
		td := &s.teamDays[j.team*s.days+j.day]
		t := s.in.Teams[j.team]
		day := TeamDay{TeamID: t.ID, Date: s.wd.days[j.day], TravelKm: j.km, TravelMinutes: s.travelMinutes(j.km)}
		for rank, oi := range j.order {
			st := s.placed[td.stops[oi]]
			visit := Visit{
				USCC: s.in.Businesses[st.v.biz].USCC, Date: s.wd.days[j.day], TeamID: t.ID,
				InspectorIDs: st.staff, Tasks: st.v.tasks, DepartmentIDs: st.v.depts,
				DurationMinutes: st.v.duration, TravelMinutes: st.travel, RouteOrder: rank + 1,
			}
			day.Visits = append(day.Visits, len(plan.Visits))
			day.WorkMinutes += st.v.duration
			plan.Visits = append(plan.Visits, visit)
		}
		plan.TeamDays = append(plan.TeamDays, day)
	}
}
