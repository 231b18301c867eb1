package seed

import (
	"math"
	"reflect"
	"regexp"
	"testing"

	"inspectonce/domain"
	"inspectonce/uscc"
)

// These tests check the demo county as plain values; seed_test.go checks that
// it survives storage.

func TestDemoIsDeterministic(t *testing.T) {
	a, b := Demo(), Demo()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls of Demo returned different counties")
	}
	if a.DemoAnchors() != b.DemoAnchors() {
		t.Fatal("anchors differ")
	}
}

func TestDemoCounts(t *testing.T) {
	c := Demo()
	grids := map[string]int{}
	for _, r := range c.Regions {
		if r.Level == domain.LevelGrid {
			grids[r.Parent]++
		}
	}
	perDept := map[string]int{}
	for _, it := range c.Items {
		perDept[it.Department]++
	}
	for _, tc := range []struct {
		what     string
		got      int
		min, max int
	}{
		{"departments", len(c.Departments), 10, 20},
		{"items", len(c.Items), 3 * len(c.Departments), 6 * len(c.Departments)},
		{"scenarios", len(c.Scenarios), 10, 10},
		{"townships", len(grids), 7, 7},
		{"teams", len(c.Teams), 15, 15},
		{"inspectors", len(c.Inspectors), 120, 180},
		{"businesses", len(c.Businesses), 2900, 3100},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("%s: %d, want %d..%d", tc.what, tc.got, tc.min, tc.max)
		}
	}
	for town, n := range grids {
		if n < 2 || n > 5 {
			t.Errorf("township %s has %d grids, want 2..5", town, n)
		}
	}
	for _, d := range c.Departments {
		if n := perDept[d.Code]; n < 3 || n > 6 {
			t.Errorf("department %s has %d items, want 3..6", d.Code, n)
		}
	}
}

// Patterns from the CHECK constraints of migrations/00001_registries.sql.
var (
	deptCodeRe = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)
	codeRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	domainRe   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	industryRe = regexp.MustCompile(`^[A-Z]?[0-9]{2,4}$`)
	mobileRe   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

func TestDemoFitsSchema(t *testing.T) {
	c := Demo()
	for _, d := range c.Departments {
		if !deptCodeRe.MatchString(d.Code) || d.Name == "" {
			t.Errorf("department %+v", d)
		}
	}
	for _, it := range c.Items {
		if !codeRe.MatchString(it.Code) || !domainRe.MatchString(it.Domain) || it.Minutes < 10 || it.Minutes > 60 || it.LegalBasis == "" {
			t.Errorf("item %+v", it)
		}
	}
	for _, s := range c.Scenarios {
		if !codeRe.MatchString(s.Code) {
			t.Errorf("scenario code %q", s.Code)
		}
		for _, ic := range s.IndustryCodes {
			if !industryRe.MatchString(ic) {
				t.Errorf("scenario %s: industry code %q", s.Code, ic)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !codeRe.MatchString(r.Code) || (r.Parent == "") != (r.Level == domain.LevelCounty) {
			t.Errorf("region %+v", r)
		}
		if r.Parent != "" && !seen[r.Parent] {
			t.Errorf("region %s comes before its parent %s", r.Code, r.Parent)
		}
		seen[r.Code] = true
	}
	for _, tm := range c.Teams {
		if !codeRe.MatchString(tm.Code) || (tm.Kind == domain.TeamProfessional) != (tm.Department != "") ||
			tm.DailyCapacityMinutes < 1 || tm.DailyCapacityMinutes > 100000 {
			t.Errorf("team %+v", tm)
		}
	}
	codes := map[string]bool{}
	for _, in := range c.Inspectors {
		if !codeRe.MatchString(in.Code) || codes[in.Code] || !mobileRe.MatchString(in.Phone) {
			t.Errorf("inspector %+v", in)
		}
		codes[in.Code] = true
	}
	names := map[string]bool{}
	for _, b := range c.Businesses {
		if err := uscc.Check(b.USCC); err != nil || b.USCC[:8] != "91"+divisionCode {
			t.Errorf("business %s: USCC %v", b.Name, err)
		}
		if codes[b.USCC] || names[b.Name] {
			t.Errorf("business %s %s is not unique", b.USCC, b.Name)
		}
		codes[b.USCC], names[b.Name] = true, true
		if !industryRe.MatchString(b.IndustryCode) || !mobileRe.MatchString(b.ContactPhone) ||
			b.Address == "" || b.ContactName == "" || b.RiskReason == "" {
			t.Errorf("business %+v", b)
		}
	}
}

func TestDemoBusinessMix(t *testing.T) {
	c := Demo()
	n := float64(len(c.Businesses))
	risk := map[string]int{}
	list := map[string]int{}
	industry := map[string]int{}
	for _, b := range c.Businesses {
		risk[b.RiskCode]++
		list[b.ListKind]++
		industry[b.IndustryCode]++
	}
	share := func(k int) float64 { return float64(k) / n }
	for _, tc := range []struct {
		what     string
		got      float64
		min, max float64
	}{
		{"red", share(risk[domain.RiskRed]), 0.08, 0.14},
		{"yellow", share(risk[domain.RiskYellow]), 0.26, 0.34},
		{"green", share(risk[domain.RiskGreen]), 0.54, 0.64},
		{"key list", share(list[domain.ListKey]), 0.002, 0.03},
		{"leave-alone list", share(list[domain.ListLeaveAlone]), 0.005, 0.05},
		{"restaurants", share(industry["H6210"] + industry["H6220"] + industry["H6291"]), 0.23, 0.27},
		{"homestays", share(industry["H6130"]), 0.18, 0.22},
		{"fuel stations", share(industry["F5265"]), 0.001, 0.01},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("%s: %.3f of businesses, want %.3f..%.3f", tc.what, tc.got, tc.min, tc.max)
		}
	}
	// Fuel stations and seafood processing are riskier than the county.
	for _, code := range []string{"F5265", "C1361"} {
		red := 0
		for _, b := range c.Businesses {
			if b.IndustryCode == code && b.RiskCode == domain.RiskRed {
				red++
			}
		}
		if float64(red)/float64(industry[code]) <= share(risk[domain.RiskRed]) {
			t.Errorf("%s: %d of %d red, no more than the county's share", code, red, industry[code])
		}
	}
}

func TestDemoGeography(t *testing.T) {
	c := Demo()
	town := map[string]township{}
	for _, tw := range townships {
		town[tw.Code] = tw
	}
	parent := map[string]string{}
	for _, r := range c.Regions {
		parent[r.Code] = r.Parent
	}
	perTown := map[string]int{}
	perGrid := map[string]int{}
	for _, b := range c.Businesses {
		tc := parent[b.Grid]
		tw, ok := town[tc]
		if !ok {
			t.Fatalf("business %s: grid %s is not under a township", b.USCC, b.Grid)
		}
		perTown[tc]++
		perGrid[b.Grid]++
		if d := km(tw.Lat, tw.Lng, b.Lat, b.Lng); d > tw.Radius {
			t.Errorf("business %s lies %.2f km from %s, more than its %.1f km", b.USCC, d, tw.Name, tw.Radius)
		}
	}
	for _, tw := range townships {
		if tw.Code != "SS-CY" && perTown[tw.Code] >= perTown["SS-CY"] {
			t.Errorf("%s has %d businesses, 菜园镇 only %d", tw.Name, perTown[tw.Code], perTown["SS-CY"])
		}
	}
	for _, r := range c.Regions {
		if r.Level == domain.LevelGrid && perGrid[r.Code] == 0 {
			t.Errorf("grid %s has no business", r.Code)
		}
	}
}

func km(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	a := math.Pow(math.Sin((lat2-lat1)*rad/2), 2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin((lng2-lng1)*rad/2), 2)
	return 2 * 6371 * math.Asin(math.Sqrt(a))
}

func TestDemoTeams(t *testing.T) {
	c := Demo()
	kinds := map[string]int{}
	squadOf := map[string][]string{}
	for _, tm := range c.Teams {
		kinds[tm.Kind]++
		if tm.Kind == domain.TeamTownship {
			for _, tw := range tm.Covers {
				squadOf[tw] = append(squadOf[tw], tm.Code)
			}
		} else if len(tm.Covers) != len(townships) {
			t.Errorf("%s covers %d townships, want all %d", tm.Code, len(tm.Covers), len(townships))
		}
	}
	if kinds[domain.TeamComprehensive] != 1 || kinds[domain.TeamProfessional] != 9 || kinds[domain.TeamTownship] != 5 {
		t.Errorf("team kinds %v, want 1 comprehensive, 8+1 professional, 5 township", kinds)
	}
	for _, tw := range townships {
		if len(squadOf[tw.Code]) != 1 {
			t.Errorf("%s is covered by squads %v, want exactly one", tw.Name, squadOf[tw.Code])
		}
	}
	for _, tw := range []string{"SS-SH", "SS-GQ", "SS-HN"} {
		if got := squadOf[tw]; len(got) != 1 || got[0] != "SS-ZD-SH" {
			t.Errorf("1+X: %s is covered by %v, want the 嵊山 squad", tw, got)
		}
	}

	deptDomains := map[string][]string{}
	for _, it := range c.Items {
		deptDomains[it.Department] = append(deptDomains[it.Department], it.Domain)
	}
	team := map[string]Team{}
	for _, tm := range c.Teams {
		team[tm.Code] = tm
	}
	leaders := map[string]int{}
	members := map[string]int{}
	for _, in := range c.Inspectors {
		members[in.Team]++
		if in.IsLeader {
			leaders[in.Team]++
		}
		if len(in.Domains) < 1 || len(in.Domains) > 4 {
			t.Errorf("%s holds %d domains", in.Code, len(in.Domains))
		}
		if d := team[in.Team].Department; d != "" {
			for _, dom := range in.Domains {
				if !contains(deptDomains[d], dom) {
					t.Errorf("%s of %s holds %s, not a domain of %s", in.Code, in.Team, dom, d)
				}
			}
		}
	}
	for _, tm := range c.Teams {
		if leaders[tm.Code] != 1 {
			t.Errorf("%s has %d leaders", tm.Code, leaders[tm.Code])
		}
		if tm.DailyCapacityMinutes != 480*members[tm.Code] {
			t.Errorf("%s: capacity %d for %d members", tm.Code, tm.DailyCapacityMinutes, members[tm.Code])
		}
	}
}

func TestDemoScenariosAndDomains(t *testing.T) {
	c := Demo()
	item := map[string]Item{}
	for _, it := range c.Items {
		item[it.Code] = it
	}
	industries := map[string]bool{}
	for _, b := range c.Businesses {
		industries[b.IndustryCode] = true
	}
	for _, s := range c.Scenarios {
		depts := map[string]bool{}
		for _, code := range s.Items {
			it, ok := item[code]
			if !ok {
				t.Fatalf("scenario %s: no item %s", s.Code, code)
			}
			depts[it.Department] = true
		}
		if len(depts) < 3 || len(depts) > 5 {
			t.Errorf("scenario %s spans %d departments, want 3..5", s.Code, len(depts))
		}
		n := 0
		for _, ic := range s.IndustryCodes {
			if industries[ic] {
				n++
			}
		}
		if n == 0 {
			t.Errorf("scenario %s applies to no business", s.Code)
		}
	}

	holders := map[string]int{}
	for _, in := range c.Inspectors {
		for _, d := range in.Domains {
			holders[d]++
		}
	}
	for _, it := range c.Items {
		if holders[it.Domain] < 2 {
			t.Errorf("domain %s (item %s) is held by %d inspectors", it.Domain, it.Code, holders[it.Domain])
		}
	}

	usccs := map[string]bool{}
	for _, b := range c.Businesses {
		usccs[b.USCC] = true
	}
	conflicts := 0
	for _, in := range c.Inspectors {
		for _, u := range in.Conflicts {
			conflicts++
			if !usccs[u] {
				t.Errorf("%s declares a conflict with unknown business %s", in.Code, u)
			}
		}
	}
	if conflicts == 0 {
		t.Error("no declared conflicts")
	}
}

func TestDemoAnchors(t *testing.T) {
	c := Demo()
	a := c.DemoAnchors()
	if a.Department != "SCJG" || a.Team != "SS-ZD-CY" || a.Inspector == "" || a.Business == "" {
		t.Fatalf("anchors %+v", a)
	}
	for _, in := range c.Inspectors {
		if in.Code == a.Inspector && in.Team != a.Team {
			t.Errorf("anchor inspector %s is in %s, not %s", in.Code, in.Team, a.Team)
		}
	}
	for _, b := range c.Businesses {
		if b.USCC == a.Business && b.IndustryCode != "H6210" {
			t.Errorf("anchor business %s is not a restaurant", b.USCC)
		}
	}
}
