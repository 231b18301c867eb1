package yearsim

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"

	"inspectonce/planner"
)

// The simulated county has one department (food protection) and three
// items, all of the one qualification domain its inspectors hold.
const (
	departmentID = 1
	domainFood   = "food"

	itemCanvass   = 1 // routine canvass inspection, due by risk class
	itemComplaint = 2 // a complaint
	itemReinspect = 3 // re-inspection after a failed visit
)

// county is the registry the planner reads every cycle.
type county struct {
	regions    []planner.Region
	businesses []planner.Business // Risk is rewritten each cycle
	items      []planner.Item
	teams      []planner.Team
	inspectors []planner.Inspector
	leave      []planner.Unavailability
	index      map[string]int // licence -> index in businesses
}

// buildCounty makes the region tree, the teams and their inspectors from the
// establishments: the root (the city), cfg.Teams districts, and one grid per
// zip code. Districts are bands of zips by latitude holding about as many
// establishments each (the city is long north-south), so every team has a
// similar register; each district has one team of cfg.InspectorsPerTeam,
// based at its establishments' centre.
func buildCounty(ests []Establishment, cfg Config) *county {
	c := &county{index: make(map[string]int, len(ests))}
	c.items = []planner.Item{
		{ID: itemCanvass, DepartmentID: departmentID, Domain: domainFood, Minutes: cfg.CanvassMinutes},
		{ID: itemComplaint, DepartmentID: departmentID, Domain: domainFood, Minutes: cfg.ComplaintMinutes},
		{ID: itemReinspect, DepartmentID: departmentID, Domain: domainFood, Minutes: cfg.ReinspectMinutes},
	}
	type zipInfo struct {
		zip      string
		n        int
		lat, lng float64
	}
	zips := map[string]*zipInfo{}
	for _, e := range ests {
		z := zips[e.Zip]
		if z == nil {
			z = &zipInfo{zip: e.Zip}
			zips[e.Zip] = z
		}
		z.n++
		z.lat += e.Lat
		z.lng += e.Lng
	}
	order := make([]*zipInfo, 0, len(zips))
	for _, z := range zips {
		z.lat /= float64(z.n)
		z.lng /= float64(z.n)
		order = append(order, z)
	}
	slices.SortFunc(order, func(a, b *zipInfo) int { return cmp.Or(cmp.Compare(a.lat, b.lat), cmp.Compare(a.zip, b.zip)) })

	teams := max(cfg.Teams, 1)
	const root = 1
	c.regions = append(c.regions, planner.Region{ID: root, Name: "city"})
	for k := range teams {
		c.regions = append(c.regions, planner.Region{ID: districtID(k), ParentID: root, Name: "district " + strconv.Itoa(k+1)})
	}
	gridOf := map[string]int64{}
	sumLat, sumLng, count := make([]float64, teams), make([]float64, teams), make([]int, teams)
	cum := 0
	for i, z := range order {
		// The band is decided by the middle of the zip's establishments.
		k := min((2*cum+z.n)*teams/(2*len(ests)), teams-1)
		cum += z.n
		grid := int64(1000 + i)
		gridOf[z.zip] = grid
		c.regions = append(c.regions, planner.Region{ID: grid, ParentID: districtID(k), Name: "zip " + z.zip})
		sumLat[k] += z.lat * float64(z.n)
		sumLng[k] += z.lng * float64(z.n)
		count[k] += z.n
	}
	for k := range teams {
		t := planner.Team{ID: int64(k + 1), Kind: planner.TeamTownship, RegionIDs: []int64{districtID(k)},
			DailyCapacityMinutes: cfg.InspectorsPerTeam * cfg.Policy.InspectorDayMinutes}
		if count[k] > 0 {
			t.BaseLat, t.BaseLng = sumLat[k]/float64(count[k]), sumLng[k]/float64(count[k])
		}
		c.teams = append(c.teams, t)
		for m := range cfg.InspectorsPerTeam {
			c.inspectors = append(c.inspectors, planner.Inspector{ID: int64(k+1)*100 + int64(m+1), TeamID: t.ID, Domains: []string{domainFood}})
		}
	}
	c.businesses = make([]planner.Business, len(ests))
	for i, e := range ests {
		c.index[e.License] = i
		c.businesses[i] = planner.Business{USCC: e.License, RegionID: gridOf[e.Zip], Industry: e.Facility,
			Lat: e.Lat, Lng: e.Lng, Risk: e.Risk, List: planner.ListRandom}
	}

	// Leave: each inspector takes cfg.LeaveWeeks whole weeks (Monday to
	// Friday) in weeks drawn from the seed, so the planner works around
	// people away as it does in production.
	r := rand.New(rand.NewPCG(cfg.Seed, 0x1ea7e))
	for _, p := range c.inspectors {
		weeks := r.Perm(cfg.Weeks)[:min(cfg.LeaveWeeks, cfg.Weeks)]
		slices.Sort(weeks)
		for _, w := range weeks {
			from := cfg.Start + planner.Day(7*w)
			c.leave = append(c.leave, planner.Unavailability{InspectorID: p.ID, From: from, To: from + 4})
		}
	}
	return c
}

func districtID(k int) int64 { return int64(10 + k) }
