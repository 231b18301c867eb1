package web

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// TestProjectionKeepsPointsInTheBox: random point clouds of every shape (a
// county, a street, one spot, a line north-south or east-west) land inside
// the padded box, north up and east right, with a kilometre east as long as a
// kilometre north.
func TestProjectionKeepsPointsInTheBox(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 500 {
		lat0, lng0 := 30.7+rng.Float64()*20-10, 122.4+rng.Float64()*20-10
		spanLat, spanLng := rng.Float64()*0.5, rng.Float64()*0.5
		switch trial % 5 {
		case 1:
			spanLat = 0 // an east-west line
		case 2:
			spanLng = 0 // a north-south line
		case 3:
			spanLat, spanLng = 0, 0 // one spot
		}
		n := 1 + rng.IntN(60)
		pts := make([]dashPoint, n)
		for i := range pts {
			pts[i] = dashPoint{lat0 + rng.Float64()*spanLat, lng0 + rng.Float64()*spanLng}
		}
		pr := newDashProjection(pts, dashMapWidth, dashMapMinHeight, dashMapMaxHeight, dashMapPad)
		if pr.W != dashMapWidth || pr.H < dashMapMinHeight || pr.H > dashMapMaxHeight {
			t.Fatalf("trial %d: box %vx%v", trial, pr.W, pr.H)
		}
		const eps = 1e-6
		for _, p := range pts {
			x, y := pr.xy(p)
			if x < dashMapPad-eps || x > pr.W-dashMapPad+eps || y < dashMapPad-eps || y > pr.H-dashMapPad+eps || math.IsNaN(x) || math.IsNaN(y) {
				t.Fatalf("trial %d: %+v at (%v, %v), outside %vx%v less %v", trial, p, x, y, pr.W, pr.H, dashMapPad)
			}
		}
		// Orientation and scale: one step north and one step east of the
		// same length on the ground move as far on the map.
		mid := dashPoint{lat0 + spanLat/2, lng0 + spanLng/2}
		const step = 0.001
		x0, y0 := pr.xy(mid)
		_, yn := pr.xy(dashPoint{mid.Lat + step, mid.Lng})
		xe, _ := pr.xy(dashPoint{mid.Lat, mid.Lng + step/math.Cos(mid.Lat*math.Pi/180)})
		north, east := y0-yn, xe-x0
		if north <= 0 || east <= 0 {
			t.Fatalf("trial %d: north moves %v up, east moves %v right", trial, north, east)
		}
		if r := east / north; math.Abs(r-1) > 0.02+math.Abs(1-math.Cos(mid.Lat*math.Pi/180)/math.Cos((lat0+spanLat/2)*math.Pi/180)) {
			t.Fatalf("trial %d: a step east is %.3f of a step north", trial, r)
		}
	}
	if pr := newDashProjection(nil, 100, 50, 80, 5); pr.W != 100 || pr.H != 50 {
		t.Fatalf("empty: %+v", pr)
	}
}

func testRegistries() *dashRegistries {
	county, town, grid, town2 := int64(1), int64(2), int64(3), int64(4)
	r := &dashRegistries{
		regions: map[int64]domain.Region{
			county: {ID: county, Name: "县", Level: domain.LevelCounty},
			town:   {ID: town, Name: "B<镇>", Level: domain.LevelTownship, ParentID: &county},
			grid:   {ID: grid, Name: "网格", Level: domain.LevelGrid, ParentID: &town},
			town2:  {ID: town2, Name: "A镇", Level: domain.LevelTownship, ParentID: &county},
		},
		township: map[int64]int64{},
		teams:    []domain.Team{{ID: 10, Name: "一队"}, {ID: 11, Name: "二队"}},
		teamIx:   map[int64]int{10: 0, 11: 1},
		depts:    []domain.Department{{ID: 5, Code: "SCJG", Name: "市场监管"}},
		deptIx:   map[int64]int{5: 0},
		leadIx:   map[int64]int{11: 0},
	}
	for id := range r.regions {
		r.township[id] = r.townshipOf(id)
	}
	return r
}

// TestMapsPerTownshipWithRoutes: one map per township (sorted by name), a
// dot per visit, a route per team-day with two or more stops in its order.
func TestMapsPerTownshipWithRoutes(t *testing.T) {
	r := testRegistries()
	if r.township[3] != 2 || r.township[2] != 2 || r.township[1] != 0 {
		t.Fatalf("townships %v", r.township)
	}
	d1 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	vs := []store.MapVisit{ // date, team, route order
		{Seq: 1, RegionID: 3, Lat: 30.70, Lng: 122.40, Date: d1, TeamID: 10, RouteOrder: 1, BusinessName: "店<1>"},
		{Seq: 2, RegionID: 3, Lat: 30.71, Lng: 122.41, Date: d1, TeamID: 10, RouteOrder: 2},
		{Seq: 3, RegionID: 4, Lat: 30.80, Lng: 122.50, Date: d1, TeamID: 10, RouteOrder: 3},
		{Seq: 4, RegionID: 3, Lat: 30.72, Lng: 122.42, Date: d1, TeamID: 11, RouteOrder: 1},
		{Seq: 5, RegionID: 3, Lat: 30.73, Lng: 122.40, Date: d2, TeamID: 10, RouteOrder: 1},
		{Seq: 6, RegionID: 3, Lat: 30.70, Lng: 122.43, Date: d2, TeamID: 10, RouteOrder: 2},
		{Seq: 7, RegionID: 3, Lat: 30.71, Lng: 122.44, Date: d2, TeamID: 10, RouteOrder: 3},
	}
	legend, maps := r.maps(vs)
	if len(legend) != 2 || legend[0].TeamID != 10 || legend[0].Color == legend[1].Color || legend[1].Color != dashPalette[0] {
		t.Fatalf("legend %+v", legend)
	}
	if len(maps) != 2 || maps[0].Name != "A镇" || maps[1].Name != "B<镇>" {
		t.Fatalf("maps %+v", maps)
	}
	a, b := maps[0], maps[1]
	if len(a.Dots) != 1 || a.Dots[0].Seq != 3 || len(a.Routes) != 0 {
		t.Fatalf("township A: %+v", a)
	}
	if len(b.Dots) != 6 || len(b.Routes) != 2 {
		t.Fatalf("township B: %d dots, %d routes", len(b.Dots), len(b.Routes))
	}
	if b.Routes[0].Date != "2026-12-01" || strings.Count(b.Routes[0].Points, ",") != 2 ||
		b.Routes[1].Date != "2026-12-02" || strings.Count(b.Routes[1].Points, ",") != 3 {
		t.Fatalf("routes %+v", b.Routes)
	}
	// The route runs through the dots in route order.
	if want := b.Dots[3].X + "," + b.Dots[3].Y + " " + b.Dots[4].X + "," + b.Dots[4].Y + " " + b.Dots[5].X + "," + b.Dots[5].Y; b.Routes[1].Points != want {
		t.Fatalf("route %q, want %q", b.Routes[1].Points, want)
	}
	if !strings.Contains(b.Dots[0].Title, "店<1>") {
		t.Fatalf("title %q (the template escapes it)", b.Dots[0].Title)
	}
	if _, m := r.maps(nil); len(m) != 0 {
		t.Fatalf("no visits, %d maps", len(m))
	}
}

func TestReasonsAndUtilisation(t *testing.T) {
	rs := dashReasonsOf(map[string]int{"capacity": 2, "mystery": 5, "cooldown": 2})
	if len(rs) != 3 || rs[0].Key != "mystery" || rs[1].Key != "reason.capacity" || rs[2].Key != "reason.cooldown" {
		t.Fatalf("reasons %+v", rs)
	}
	for _, code := range dashReasons {
		if LangEN.T("reason."+code) == "reason."+code || LangZH.T("reason."+code) == "reason."+code {
			t.Errorf("reason %s has no text", code)
		}
	}
	u := testRegistries().utilisation(map[int64]float64{11: 0.5, 10: 1.2, 99: 0})
	if len(u) != 3 || u[0].Team != "#99" || u[1].Team != "一队" || u[1].Percent != 100 || u[2].Percent != 50 {
		t.Fatalf("utilisation %+v", u)
	}
}

func TestQueueHelpers(t *testing.T) {
	if s := shorten("abc", 5); s != "abc" {
		t.Fatal(s)
	}
	if s := shorten("一二三四五六", 3); s != "一二三…" {
		t.Fatal(s)
	}
	if s := shorten("a\xffb", 5); s != "a\uFFFDb" {
		t.Fatalf("%q", s)
	}
	for d, want := range map[time.Duration]string{0: "0 s", 1500 * time.Millisecond: "1.5 s", 90 * time.Second: "1m30s"} {
		if got := latencyText(d); got != want {
			t.Errorf("latency %v: %q, want %q", d, got, want)
		}
	}
}

// TestTemplatesParse: every page template parses with the layout, and every
// key the three pages use has both texts.
func TestTemplatesParse(t *testing.T) {
	p := &Pages{}
	tm, err := p.templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"plans", "plan", "queues"} {
		if tm[n] == nil {
			t.Errorf("no template %s", n)
		}
		b, err := templateFS.ReadFile("templates/" + n + ".html")
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, part := range strings.Split(src, `T "`)[1:] {
			key := part[:strings.IndexByte(part, '"')]
			if strings.Contains(key, "%") {
				continue
			}
			if LangEN.T(key) == key {
				t.Errorf("%s.html: no text for %q", n, key)
			}
		}
	}
	for _, st := range planStatuses {
		if LangEN.T("plan.status."+st) == "plan.status."+st {
			t.Errorf("no text for status %s", st)
		}
	}
}

// TestEveryUnplacedReasonHasText: the dashboard names every reason the
// planner can give, in both languages, instead of showing its code.
func TestEveryUnplacedReasonHasText(t *testing.T) {
	for _, code := range []string{planner.ReasonLeaveAlone, planner.ReasonCooldown, planner.ReasonYearlyCap,
		planner.ReasonNoWorkingDay, planner.ReasonNoTeam, planner.ReasonCapacity, planner.ReasonNoInspectors,
		planner.ReasonUnknownItem, planner.ReasonUnknownTarget, planner.ReasonTooLong, planner.ReasonEmptyPopulation,
		planner.ReasonNoticePeriod, planner.ReasonDeferred, planner.ReasonClosed} {
		rs := dashReasonsOf(map[string]int{code: 1})
		if len(rs) != 1 || rs[0].Key != "reason."+code {
			t.Errorf("reason %s is shown as %+v", code, rs)
			continue
		}
		for _, l := range []Lang{LangZH, LangEN} {
			if got := l.T(rs[0].Key); got == rs[0].Key || got == "" {
				t.Errorf("reason %s has no %s text", code, l)
			}
		}
	}
}
