package seed

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"inspectonce/domain"
	"inspectonce/uscc"
)

// Seed is the fixed PCG seed of the demo county: the same seed gives the same
// county, run after run.
const Seed uint64 = 0x5345_4e47_5349 // "SENGSI"

// County is the demo county as plain values. References between registries
// are by code (department, item, region, team) or USCC, since ids exist only
// once the rows are stored.
type County struct {
	Departments []domain.Department
	Items       []Item
	Scenarios   []Scenario
	// Regions lists the county, then its townships, then their grids, so that
	// every parent comes before its children.
	Regions    []Region
	Teams      []Team
	Inspectors []Inspector
	Businesses []Business
}

// Item is an inspection item and the code of the department that owns it.
type Item struct {
	domain.Item
	Department string
}

// Scenario is a 监管一件事 and the codes of its items.
type Scenario struct {
	domain.Scenario
	Items []string
}

// Region is a node of the region tree and the code of its parent ("" for the
// county). Lat and Lng are its centre (not stored: regions have no coordinates).
type Region struct {
	domain.Region
	Parent   string
	Lat, Lng float64
}

// Team is an enforcement team with its department code ("" unless
// professional) and the township codes it covers.
type Team struct {
	domain.Team
	Department string
	Covers     []string
}

// Inspector is an officer and the code of their team. Conflicts holds USCCs.
type Inspector struct {
	domain.Inspector
	Team string
}

// Business is a market entity and the code of its grid.
type Business struct {
	domain.Business
	Grid string
}

// Anchors name the registry entries the demo tokens are scoped to.
type Anchors struct {
	Department string // planner: 市场监管
	Team       string // team_leader: the 菜园镇 squad, which leads most visits of the county seat
	Inspector  string // inspector: a member of that team (certificate number)
	Business   string // business: a restaurant in 菜园镇 (USCC)
}

// DemoAnchors are the anchors of the demo county.
func (c *County) DemoAnchors() Anchors {
	a := Anchors{Department: "SCJG", Team: "SS-ZD-CY"}
	for _, in := range c.Inspectors {
		if in.Team == a.Team && !in.IsLeader {
			a.Inspector = in.Code
			break
		}
	}
	for _, b := range c.Businesses {
		if b.IndustryCode == "H6210" && b.Grid == "SS-CY-G01" && b.ListKind == domain.ListRandom {
			a.Business = b.USCC
			break
		}
	}
	return a
}

// gen draws the county. Each part has its own PCG stream, so that changing one
// table does not reshuffle the others.
type gen struct {
	c      County
	phones map[string]bool
	usccs  map[string]bool
	names  map[string]bool
}

func stream(part string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(part))
	return rand.New(rand.NewPCG(Seed, h.Sum64()))
}

// Demo returns the demo county, modelled on 嵊泗县 (Shengsi, an island county
// of Zhoushan, Zhejiang). It is pure and deterministic: every call returns the
// same county.
func Demo() County {
	g := &gen{phones: map[string]bool{}, usccs: map[string]bool{}, names: map[string]bool{}}
	g.departments()
	g.regions()
	g.teams()
	g.businesses()
	g.inspectors()
	return g.c
}

func (g *gen) departments() {
	for _, d := range departments {
		g.c.Departments = append(g.c.Departments, domain.Department{Code: d.Code, Name: d.Name})
		for _, it := range d.Items {
			g.c.Items = append(g.c.Items, Item{
				Item: domain.Item{Code: it.Code, Name: it.Name, Domain: it.Domain,
					Minutes: it.Minutes, LegalBasis: it.LegalBasis},
				Department: d.Code,
			})
		}
	}
	for _, s := range scenarios {
		g.c.Scenarios = append(g.c.Scenarios, Scenario{
			Scenario: domain.Scenario{Code: s.Code, Name: s.Name, IndustryCodes: s.Industries},
			Items:    s.Items,
		})
	}
}

func (g *gen) regions() {
	r := stream("regions")
	g.c.Regions = append(g.c.Regions, Region{
		Region: domain.Region{Code: countyCode, Name: countyName, Level: domain.LevelCounty},
		Lat:    townships[0].Lat, Lng: townships[0].Lng,
	})
	for _, t := range townships {
		g.c.Regions = append(g.c.Regions, Region{
			Region: domain.Region{Code: t.Code, Name: t.Name, Level: domain.LevelTownship},
			Parent: countyCode, Lat: t.Lat, Lng: t.Lng,
		})
	}
	for _, t := range townships {
		for i, gr := range t.Grids {
			// The first grid is the town centre; the others lie around it.
			lat, lng := t.Lat, t.Lng
			if i > 0 {
				lat, lng = jitter(r, t.Lat, t.Lng, 0.3*t.Radius, 0.6*t.Radius)
			}
			g.c.Regions = append(g.c.Regions, Region{
				Region: domain.Region{Code: t.Code + "-" + gr.Suffix, Name: gr.Name, Level: domain.LevelGrid},
				Parent: t.Code, Lat: lat, Lng: lng,
			})
		}
	}
}

func (g *gen) region(code string) Region {
	for _, r := range g.c.Regions {
		if r.Code == code {
			return r
		}
	}
	panic("seed: no region " + code)
}

func (g *gen) teams() {
	r := stream("teams")
	all := make([]string, len(townships))
	for i, t := range townships {
		all[i] = t.Code
	}
	for _, ts := range teamSpecs {
		base := g.region(ts.Base)
		covers := ts.Covers
		if covers == nil {
			covers = all
		}
		g.c.Teams = append(g.c.Teams, Team{
			Team: domain.Team{
				Code: ts.Code, Name: ts.Name, Kind: ts.Kind,
				BaseLat: base.Lat, BaseLng: base.Lng,
				// Eight working hours per member.
				DailyCapacityMinutes: 480 * ts.Members,
				ContactPhone:         fmt.Sprintf("0580-50%05d", r.IntN(100000)),
			},
			Department: ts.Department,
			Covers:     covers,
		})
	}
}

// businesses draws every business: counts per industry by largest remainder of
// their shares, a township by weight, a grid (the centre weighs double), a
// point near the grid centre, a risk code by the industry's mix.
func (g *gen) businesses() {
	const total = 3000
	r := stream("businesses")
	counts := apportion(total, industries)
	for i, ind := range industries {
		townW := ind.Towns
		if townW == nil {
			townW = make([]int, len(townships))
			for j, t := range townships {
				townW[j] = t.Weight
			}
		}
		for range counts[i] {
			t := townships[pick(r, townW)]
			gridW := make([]int, len(t.Grids))
			for j := range gridW {
				gridW[j] = 1
			}
			gridW[0] = 2
			gr := t.Grids[pick(r, gridW)]
			gridCode := t.Code + "-" + gr.Suffix
			centre := g.region(gridCode)
			lat, lng := jitter(r, centre.Lat, centre.Lng, 0, 0.4*t.Radius)
			risk := pick(r, ind.Risk[:])
			b := domain.Business{
				USCC:         g.newUSCC(r),
				Name:         g.businessName(r, ind, t, gr),
				Address:      address(r, ind, t, gr),
				IndustryCode: ind.Code,
				Lat:          lat,
				Lng:          lng,
				RiskCode:     [3]string{domain.RiskRed, domain.RiskYellow, domain.RiskGreen}[risk],
				RiskReason:   riskReasons[risk][r.IntN(len(riskReasons[risk]))],
				ListKind:     domain.ListRandom,
				ContactName:  personName(r),
				ContactPhone: g.mobile(r),
			}
			switch {
			case ind.Code == "F5265":
				b.ListKind = domain.ListKey // fuel stations: always on the key list
			case b.RiskCode == domain.RiskRed && r.IntN(100) < 8:
				b.ListKind = domain.ListKey
			case b.RiskCode == domain.RiskGreen && r.IntN(100) < 4:
				b.ListKind = domain.ListLeaveAlone
			}
			g.c.Businesses = append(g.c.Businesses, Business{Business: b, Grid: gridCode})
		}
	}
}

// apportion splits total over the industries' shares by largest remainder.
func apportion(total int, inds []industry) []int {
	sum := 0
	for _, ind := range inds {
		sum += ind.Share
	}
	counts := make([]int, len(inds))
	rem := make([]int, len(inds))
	given := 0
	for i, ind := range inds {
		counts[i] = total * ind.Share / sum
		rem[i] = total * ind.Share % sum
		given += counts[i]
	}
	for ; given < total; given++ {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		counts[best]++
		rem[best] = -1
	}
	return counts
}

// uscAlphabet is the character set of USCCs (no I, O, S, V, Z).
const uscAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// newUSCC draws a unique, valid USCC of an enterprise (91) registered in 嵊泗县.
func (g *gen) newUSCC(r *rand.Rand) string {
	for {
		b := []byte("91" + divisionCode + "000000000")
		for i := 8; i < 17; i++ {
			b[i] = uscAlphabet[r.IntN(len(uscAlphabet))]
		}
		code, err := uscc.Complete(string(b))
		if err != nil {
			panic("seed: " + err.Error()) // the alphabet and division code are valid
		}
		if !g.usccs[code] {
			g.usccs[code] = true
			return code
		}
	}
}

// businessName draws a name not used yet.
func (g *gen) businessName(r *rand.Rand, ind industry, t township, gr grid) string {
	for attempt := 0; ; attempt++ {
		word := nameWords[r.IntN(len(nameWords))]
		if !ind.Company && r.IntN(4) == 0 {
			word = [...]string{"阿", "老", ""}[r.IntN(3)] + surname(r) + "家"
		}
		suffix := ind.Suffixes[r.IntN(len(ind.Suffixes))]
		var name string
		switch {
		case ind.Company:
			name = "嵊泗县" + word + suffix
		case r.IntN(3) == 0:
			name = "嵊泗" + word + suffix
		default:
			name = word + suffix
		}
		if attempt >= 20 {
			name += "（" + t.Name + strings.TrimSuffix(gr.Name, "网格") + "店）"
		}
		if attempt >= 40 {
			name += strconv.Itoa(attempt)
		}
		if !g.names[name] {
			g.names[name] = true
			return name
		}
	}
}

func address(r *rand.Rand, ind industry, t township, gr grid) string {
	road := gr.Roads[r.IntN(len(gr.Roads))]
	n := 1 + r.IntN(180)
	switch ind.Code[0] {
	case 'E':
		return fmt.Sprintf("%s%s%d号地块", t.Name, road, n)
	case 'A':
		return fmt.Sprintf("%s%s%d号（养殖海区）", t.Name, road, n)
	}
	return fmt.Sprintf("%s%s%d号", t.Name, road, n)
}

func surname(r *rand.Rand) string {
	w := make([]int, len(surnames))
	for i, s := range surnames {
		w[i] = s.Weight
	}
	return surnames[pick(r, w)].Name
}

func personName(r *rand.Rand) string {
	name := surname(r) + givenChars[r.IntN(len(givenChars))]
	if r.IntN(10) < 6 {
		name += givenChars[r.IntN(len(givenChars))]
	}
	return name
}

// mobile draws an unused 11-digit mobile number.
func (g *gen) mobile(r *rand.Rand) string {
	for {
		p := mobilePrefixes[r.IntN(len(mobilePrefixes))] + fmt.Sprintf("%08d", r.IntN(100_000_000))
		if !g.phones[p] {
			g.phones[p] = true
			return p
		}
	}
}

// inspectors staffs every team: the first member leads it. Professional
// members hold their department's domains; comprehensive and township members
// a broad mix. In each team the members' first domains go round the team's
// domain list, so that every domain has certified holders.
func (g *gen) inspectors() {
	r := stream("inspectors")
	deptDomains := map[string][]string{}
	for _, d := range departments {
		for _, it := range d.Items {
			if !contains(deptDomains[d.Code], it.Domain) {
				deptDomains[d.Code] = append(deptDomains[d.Code], it.Domain)
			}
		}
	}
	var broad []string
	var broadW []int
	for _, d := range broadDomains {
		broad = append(broad, d.Domain)
		broadW = append(broadW, d.Weight)
	}
	used := map[string]bool{}
	seq := 0
	for ti, ts := range teamSpecs {
		pool, poolW := broad, broadW
		if ts.Kind == domain.TeamProfessional {
			pool = deptDomains[ts.Department]
			poolW = make([]int, len(pool))
			for i := range poolW {
				poolW[i] = 1
			}
		}
		for m := range ts.Members {
			seq++
			leader := m == 0
			n := 1 + pick(r, []int{25, 40, 25, 10})
			if leader {
				n = 3 + r.IntN(2)
			}
			n = min(n, len(pool))
			doms := []string{pool[m%len(pool)]}
			for len(doms) < n {
				d := pool[pick(r, poolW)]
				if !contains(doms, d) {
					doms = append(doms, d)
				}
			}
			name := personName(r)
			for used[name] {
				name = personName(r)
			}
			used[name] = true
			g.c.Inspectors = append(g.c.Inspectors, Inspector{
				Inspector: domain.Inspector{
					Code: fmt.Sprintf("ZJ-SS-%04d", seq), Name: name, Domains: doms,
					Phone: g.mobile(r), IsLeader: leader,
				},
				Team: g.c.Teams[ti].Code,
			})
		}
	}
	// A few declared conflicts of interest (回避): a member of a township squad
	// with a relative's business in the squad's own township.
	var squad []int
	base, kind := map[string]string{}, map[string]string{}
	for _, t := range teamSpecs {
		base[t.Code], kind[t.Code] = t.Base, t.Kind
	}
	for i, in := range g.c.Inspectors {
		if kind[in.Team] == domain.TeamTownship {
			squad = append(squad, i)
		}
	}
	for range 6 {
		in := &g.c.Inspectors[squad[r.IntN(len(squad))]]
		town := base[in.Team]
		var cands []string
		for _, b := range g.c.Businesses {
			if g.region(b.Grid).Parent == town {
				cands = append(cands, b.USCC)
			}
		}
		c := cands[r.IntN(len(cands))]
		if !contains(in.Conflicts, c) {
			in.Conflicts = append(in.Conflicts, c)
		}
	}
}

// pick returns an index drawn with the given weights.
func pick(r *rand.Rand, weights []int) int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	x := r.IntN(sum)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	panic("unreachable")
}

// jitter returns a point between minKm and maxKm from (lat, lng), uniform over
// the ring's area, rounded to 6 decimals (about 0.1 m).
func jitter(r *rand.Rand, lat, lng, minKm, maxKm float64) (float64, float64) {
	const kmPerDegLat = 111.32
	d := math.Sqrt(minKm*minKm + r.Float64()*(maxKm*maxKm-minKm*minKm))
	a := 2 * math.Pi * r.Float64()
	dLat := d * math.Sin(a) / kmPerDegLat
	dLng := d * math.Cos(a) / (kmPerDegLat * math.Cos(lat*math.Pi/180))
	return round6(lat + dLat), round6(lng + dLng)
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
