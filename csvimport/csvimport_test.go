package csvimport_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

const actor = "admin:test"

// county creates the county 330922 with the township 330922001, both usable as
// business regions, and the team T01 covering them.
func county(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	c := &domain.Region{Code: "330922", Name: "嵊泗县", Level: domain.LevelCounty}
	if err := st.CreateRegion(ctx, actor, c); err != nil {
		t.Fatal(err)
	}
	tw := &domain.Region{Code: "330922001", Name: "菜园镇", Level: domain.LevelTownship, ParentID: &c.ID}
	if err := st.CreateRegion(ctx, actor, tw); err != nil {
		t.Fatal(err)
	}
	team := &domain.Team{Code: "T01", Name: "综合执法一中队", Kind: domain.TeamComprehensive, BaseLat: 30.72, BaseLng: 122.45,
		DailyCapacityMinutes: 480, RegionIDs: []int64{c.ID, tw.ID}}
	if err := st.CreateTeam(ctx, actor, team); err != nil {
		t.Fatal(err)
	}
}

func fixture(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func lines(errs []store.ImportRowError) []int {
	var out []int
	for _, e := range errs {
		if len(out) == 0 || out[len(out)-1] != e.Line {
			out = append(out, e.Line)
		}
	}
	return out
}

// reason returns the reason recorded for line and field, or "" if none.
func reason(errs []store.ImportRowError, line int, field string) string {
	for _, e := range errs {
		if e.Line == line && e.Field == field {
			return e.Reason
		}
	}
	return ""
}

func TestBusinesses(t *testing.T) {
	type want struct {
		line          int
		field, reason string // reason: a substring
	}
	tests := []struct {
		name      string
		file      string
		read      int
		loaded    []string // USCCs that must exist afterwards
		rejected  []int    // lines, in order
		reasons   []want
		checkRisk map[string]string // USCC → risk code
		checkList map[string]string // USCC → list kind
	}{{
		name:   "english headers, good and bad rows",
		file:   "businesses_en.csv",
		read:   10,
		loaded: []string{"91330922000000001H", "91330922000000003P", "913309220000000087"},
		// Line 4 holds a quoted address that spans two lines, so the rows
		// after it start one line later than their record number suggests.
		rejected: []int{3, 6, 7, 8, 9, 10, 12},
		reasons: []want{
			{3, "uscc", "check character is 'X', expected 'L'"},
			{6, "region", `unknown region code "999999"`},
			{7, "lat", "out of range"},
			{8, "uscc", "duplicate: 91330922000000001H is already on line 2"},
			{9, "", "has 3 fields, the header has 11"},
			{10, "", "not valid CSV"},
			{12, "industry_code", "not an industry code"},
			{12, "lat", "not a number"},
			{12, "lng", "out of range"},
			{12, "risk_code", "not a risk code"},
		},
		checkRisk: map[string]string{"91330922000000001H": "red", "91330922000000003P": "yellow", "913309220000000087": "green"},
		checkList: map[string]string{"91330922000000001H": "key", "91330922000000003P": "random", "913309220000000087": "leave_alone"},
	}, {
		name:      "chinese headers with BOM",
		file:      "businesses_zh_bom.csv",
		read:      3,
		loaded:    []string{"9133092200000001AE", "91330922000000002L"},
		rejected:  []int{4},
		reasons:   []want{{4, "风险码", `"紫" is not a risk code`}},
		checkRisk: map[string]string{"9133092200000001AE": "red", "91330922000000002L": "green"},
		checkList: map[string]string{"9133092200000001AE": "key", "91330922000000002L": "leave_alone"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := storetest.New(t)
			county(t, st)
			ctx := context.Background()
			var started int64
			var steps [][3]int
			job, err := csvimport.Businesses(ctx, st, actor, fixture(t, tc.file), csvimport.Options{
				BatchSize: 2,
				Started:   func(id int64) { started = id },
				Progress:  func(read, loaded, rejected int) { steps = append(steps, [3]int{read, loaded, rejected}) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if started != job.ID {
				t.Errorf("Started got %d, the job is %d", started, job.ID)
			}
			// Progress only grows and ends on the job's totals.
			for i := 1; i < len(steps); i++ {
				for k := range 3 {
					if steps[i][k] < steps[i-1][k] {
						t.Errorf("progress went back: %v", steps)
					}
				}
			}
			if len(steps) < 2 || steps[len(steps)-1] != [3]int{job.RowsRead, job.RowsLoaded, job.RowsRejected} {
				t.Errorf("progress %v does not end on the job's totals", steps)
			}
			if job.Status != store.ImportDone || job.RowsRead != tc.read || job.RowsLoaded != len(tc.loaded) || job.RowsRejected != len(tc.rejected) {
				t.Fatalf("job = %s read %d loaded %d rejected %d, want done %d %d %d (errors %+v)", job.Status,
					job.RowsRead, job.RowsLoaded, job.RowsRejected, tc.read, len(tc.loaded), len(tc.rejected), job.Errors)
			}
			if got := lines(job.Errors); !slices.Equal(got, tc.rejected) {
				t.Errorf("rejected lines = %v, want %v (errors %+v)", got, tc.rejected, job.Errors)
			}
			for _, w := range tc.reasons {
				if r := reason(job.Errors, w.line, w.field); !strings.Contains(r, w.reason) {
					t.Errorf("line %d field %q: reason %q, want it to contain %q", w.line, w.field, r, w.reason)
				}
			}
			for _, code := range tc.loaded {
				b, err := st.GetBusiness(ctx, code)
				if err != nil {
					t.Fatalf("business %s: %v", code, err)
				}
				if want := tc.checkRisk[code]; want != "" && b.RiskCode != want {
					t.Errorf("%s risk = %s, want %s", code, b.RiskCode, want)
				}
				if want := tc.checkList[code]; want != "" && b.ListKind != want {
					t.Errorf("%s list = %s, want %s", code, b.ListKind, want)
				}
				if h, err := st.RiskHistory(ctx, code); err != nil || len(h) != 1 || h[0].SetBy != actor {
					t.Errorf("%s history = %+v, %v; want one entry set by %s", code, h, err, actor)
				}
			}
			all, err := st.ListBusinesses(ctx, store.BusinessFilter{}, store.Page{Limit: 100})
			if err != nil || len(all.Items) != len(tc.loaded) {
				t.Errorf("%d businesses registered, want %d (%v)", len(all.Items), len(tc.loaded), err)
			}
			audit, err := st.ListAudit(ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			last := audit[len(audit)-1]
			if last.Action != "import.businesses" || last.Object != "import/"+strconv.FormatInt(job.ID, 10) || last.Outcome != store.OutcomeOK {
				t.Errorf("last audit entry = %+v, want the import's", last)
			}
		})
	}
}

func TestBusinessesHeaders(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	tests := []struct {
		name, csv string
		wantField string // "" when the import must succeed
	}{
		{"mixed case and starred", "*USCC,Name,Region_Code,Industry,Latitude,LON,Extra\n91330922000000001H,A,330922,H621,30,122,x\n", ""},
		{"chinese short names", "统一社会信用代码,名称,区域,行业代码,纬度,经度\n91330922000000002L,乙,330922,H621,30,122\n", ""},
		{"missing uscc", "name,region,industry_code,lat,lng\nA,330922,H621,30,122\n", "uscc"},
		{"duplicate column", "uscc,name,名称,region,industry_code,lat,lng\n", "name"},
		{"empty file", "", "header"},
		{"not utf-8", "\xff\xfe,name\n", "header"},
		{"no known column", "a;b;c\n1;2;3\n", "header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job, err := csvimport.Businesses(context.Background(), st, actor, strings.NewReader(tc.csv), csvimport.Options{})
			if tc.wantField == "" {
				if err != nil || job.Status != store.ImportDone || job.RowsLoaded != 1 {
					t.Fatalf("job %+v, err %v; want one row loaded", job, err)
				}
				return
			}
			var ve *domain.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if !slices.ContainsFunc(ve.Fields, func(f domain.FieldError) bool { return f.Field == tc.wantField }) {
				t.Errorf("fields %+v do not name %q", ve.Fields, tc.wantField)
			}
			if job.Status != store.ImportFailed || job.Failure == "" || job.RowsLoaded != 0 {
				t.Errorf("job = %+v, want failed with a failure and nothing loaded", job)
			}
		})
	}
}

// A file may leave out columns to update registered businesses, but a new
// business still needs every required field: its row is refused, line and
// column named, and nothing of it is loaded.
func TestBusinessesMissingColumnRefusesNewRows(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	job, err := csvimport.Businesses(ctx, st, actor, fixture(t, "businesses_missing_lat.csv"), csvimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != store.ImportDone || job.RowsLoaded != 0 || job.RowsRejected != 1 ||
		!strings.Contains(reason(job.Errors, 2, "lat"), "required for a new business") {
		t.Errorf("job = %+v, want line 2 refused for lat", job)
	}
	all, err := st.ListBusinesses(ctx, store.BusinessFilter{}, store.Page{})
	if err != nil || len(all.Items) != 0 {
		t.Errorf("businesses = %d, %v; want none", len(all.Items), err)
	}
	// The same file with an empty cell in a present column refuses too.
	job, err = csvimport.Businesses(ctx, st, actor, strings.NewReader("uscc,name,region,industry_code,lat,lng\n91330922000000001H,A,330922,H621,,122\n"), csvimport.Options{})
	if err != nil || job.RowsRejected != 1 || !strings.Contains(reason(job.Errors, 2, "lat"), "required for a new business") {
		t.Errorf("job = %+v %v, want line 2 refused for lat", job, err)
	}
}

func TestBusinessesReimport(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	const head = "uscc,name,region,industry_code,lat,lng,risk_code,list_kind\n"
	steps := []struct {
		name, csv string
		risk      map[string]string // USCC → risk after the step
		history   map[string]int    // USCC → history entries after the step
		names     map[string]string
	}{{
		name:    "first load",
		csv:     head + "91330922000000001H,Old Name,330922,H621,30,122,red,key\n91330922000000002L,B,330922,H621,30,122,,\n",
		risk:    map[string]string{"91330922000000001H": "red", "91330922000000002L": "green"},
		history: map[string]int{"91330922000000001H": 1, "91330922000000002L": 1},
	}, {
		name:    "same file again changes nothing",
		csv:     head + "91330922000000001H,Old Name,330922,H621,30,122,red,key\n91330922000000002L,B,330922,H621,30,122,,\n",
		risk:    map[string]string{"91330922000000001H": "red", "91330922000000002L": "green"},
		history: map[string]int{"91330922000000001H": 1, "91330922000000002L": 1},
	}, {
		name:    "risk change and rename",
		csv:     head + "91330922000000001H,New Name,330922,H621,30,122,黄,key\n91330922000000002L,B,330922,H621,30,122,green,\n",
		risk:    map[string]string{"91330922000000001H": "yellow", "91330922000000002L": "green"},
		history: map[string]int{"91330922000000001H": 2, "91330922000000002L": 1},
		names:   map[string]string{"91330922000000001H": "New Name"},
	}, {
		name:    "no risk column keeps the bureau's codes",
		csv:     "uscc,name,region,industry_code,lat,lng\n91330922000000001H,Newer,330922,H621,30,122\n",
		risk:    map[string]string{"91330922000000001H": "yellow"},
		history: map[string]int{"91330922000000001H": 2},
		names:   map[string]string{"91330922000000001H": "Newer"},
	}}
	for _, s := range steps {
		if _, err := csvimport.Businesses(ctx, st, actor, strings.NewReader(s.csv), csvimport.Options{}); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for code, want := range s.risk {
			b, err := st.GetBusiness(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if b.RiskCode != want {
				t.Errorf("%s: %s risk = %s, want %s", s.name, code, b.RiskCode, want)
			}
			if n := s.names[code]; n != "" && b.Name != n {
				t.Errorf("%s: %s name = %s, want %s", s.name, code, b.Name, n)
			}
			if b.ListKind != "key" && code == "91330922000000001H" {
				t.Errorf("%s: list kind %s, want key kept", s.name, b.ListKind)
			}
			h, err := st.RiskHistory(ctx, code)
			if err != nil || len(h) != s.history[code] {
				t.Errorf("%s: %s history = %+v, want %d entries", s.name, code, h, s.history[code])
			}
		}
		all, _ := st.ListBusinesses(ctx, store.BusinessFilter{}, store.Page{})
		if len(all.Items) != 2 {
			t.Errorf("%s: %d businesses, want 2", s.name, len(all.Items))
		}
	}
}

// The round trip: a short file renamed a business, moved it from its
// grid to the township and blanked its contact because those columns were
// absent. Absent columns and empty cells now keep what is stored; empty=clear
// clears the optional columns it is told to.
func TestReimportKeepsAbsentColumnsAndEmptyCells(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	regions, err := st.RegionIDsByCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	town := regions["330922001"]
	grid := &domain.Region{Code: "330922001001", Name: "沿港网格", Level: domain.LevelGrid, ParentID: &town}
	if err := st.CreateRegion(ctx, actor, grid); err != nil {
		t.Fatal(err)
	}
	const code = "91330922000000001H"
	full := "uscc,name,address,region,industry_code,lat,lng,contact_name,contact_phone\n" +
		code + ",嵊泗海鲜大排档,沿港路1号,330922001001,H621,30.72,122.45,王五,+86 138 0000 0001\n"
	steps := []struct {
		name, csv string
		opt       csvimport.Options
		want      domain.Business // the fields checked
	}{{
		name: "first load", csv: full,
		want: domain.Business{Name: "嵊泗海鲜大排档", Address: "沿港路1号", RegionID: grid.ID, Lat: 30.72, ContactName: "王五", ContactPhone: "+86 138 0000 0001"},
	}, {
		name: "a file without the contact columns keeps the contact",
		csv:  "uscc,name,region,industry_code,lat,lng\n" + code + ",嵊泗海鲜大排档,330922001001,H621,30.72,122.45\n",
		want: domain.Business{Name: "嵊泗海鲜大排档", Address: "沿港路1号", RegionID: grid.ID, Lat: 30.72, ContactName: "王五", ContactPhone: "+86 138 0000 0001"},
	}, {
		name: "a short file changes only its columns",
		csv:  "uscc,lat\n" + code + ",30.73\n",
		want: domain.Business{Name: "嵊泗海鲜大排档", Address: "沿港路1号", RegionID: grid.ID, Lat: 30.73, ContactName: "王五", ContactPhone: "+86 138 0000 0001"},
	}, {
		name: "empty cells in present columns keep",
		csv:  "uscc,name,region,industry_code,lat,lng,contact_name,contact_phone\n" + code + ",,,,,,,\n",
		want: domain.Business{Name: "嵊泗海鲜大排档", Address: "沿港路1号", RegionID: grid.ID, Lat: 30.73, ContactName: "王五", ContactPhone: "+86 138 0000 0001"},
	}, {
		name: "empty=clear clears the optional columns given",
		csv:  "uscc,address,contact_phone\n" + code + ",,\n",
		opt:  csvimport.Options{Import: store.ImportOptions{EmptyCells: store.EmptyClear}},
		want: domain.Business{Name: "嵊泗海鲜大排档", Address: "", RegionID: grid.ID, Lat: 30.73, ContactName: "王五", ContactPhone: ""},
	}}
	for _, s := range steps {
		job, err := csvimport.Businesses(ctx, st, actor, strings.NewReader(s.csv), s.opt)
		if err != nil || job.RowsLoaded != 1 || job.RowsRejected != 0 {
			t.Fatalf("%s: %+v %v", s.name, job, err)
		}
		b, err := st.GetBusiness(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		got := domain.Business{Name: b.Name, Address: b.Address, RegionID: b.RegionID, Lat: b.Lat, ContactName: b.ContactName, ContactPhone: b.ContactPhone}
		if got != s.want {
			t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
		}
	}
	// empty=clear cannot clear what a business must have.
	job, err := csvimport.Businesses(ctx, st, actor, strings.NewReader("uscc,name\n"+code+",\n"),
		csvimport.Options{Import: store.ImportOptions{EmptyCells: store.EmptyClear}})
	if err != nil || job.RowsRejected != 1 || !strings.Contains(reason(job.Errors, 2, "name"), "cannot be cleared") {
		t.Errorf("clearing the name: %+v %v", job, err)
	}

	// Inspectors: a short file keeps name, phone, domains and leadership.
	if _, err := csvimport.Inspectors(ctx, st, actor, strings.NewReader(
		"code,name,team,domains,phone,is_leader\nZJ1,张三,T01,food_safety;fire,+86 139 0000 0002,是\n"), csvimport.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := csvimport.Inspectors(ctx, st, actor, strings.NewReader("code,name,phone,is_leader\nZJ1,,,\n"), csvimport.Options{}); err != nil {
		t.Fatal(err)
	}
	ins, err := st.ListInspectors(ctx, store.InspectorFilter{}, store.Page{})
	if err != nil || len(ins.Items) != 1 {
		t.Fatalf("inspectors %+v %v", ins, err)
	}
	if in := ins.Items[0]; in.Name != "张三" || in.Phone != "+86 139 0000 0002" || !in.IsLeader || !slices.Equal(in.Domains, []string{"food_safety", "fire"}) {
		t.Errorf("inspector after a short file: %+v", in)
	}
}

// Formula-looking cells are refused with their line and column; nothing of
// the row is loaded. A phone number with + passes.
func TestImportRefusesFormulaCells(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	csv := "uscc,name,region,industry_code,lat,lng,contact_phone\n" +
		"91330922000000001H,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"点我\"\")\",330922,H621,30,122,\n" +
		"91330922000000002L,+SUM(1+1),330922,H621,30,122,\n" +
		"91330922000000003P,正常店,330922,H621,30,122,+86 138 0000 0000\n"
	job, err := csvimport.Businesses(ctx, st, actor, strings.NewReader(csv), csvimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if job.RowsLoaded != 1 || job.RowsRejected != 2 {
		t.Fatalf("job %+v, want lines 2 and 3 refused", job)
	}
	for _, line := range []int{2, 3} {
		if r := reason(job.Errors, line, "name"); !strings.Contains(r, "formula") {
			t.Errorf("line %d: reason %q", line, r)
		}
	}
	if b, err := st.GetBusiness(ctx, "91330922000000003P"); err != nil || b.ContactPhone != "+86 138 0000 0000" {
		t.Errorf("phone row: %+v %v", b, err)
	}
	if _, err := st.GetBusiness(ctx, "91330922000000001H"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("the formula row was loaded: %v", err)
	}
}

// A database failure after the first batch fails the job, keeps the batch that
// was committed and says so in the counters.
func TestBusinessesDatabaseFailureMidway(t *testing.T) {
	st, dsn := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	extra := &domain.Region{Code: "GONE", Name: "to be removed", Level: domain.LevelCounty}
	if err := st.CreateRegion(ctx, actor, extra); err != nil {
		t.Fatal(err)
	}
	csv := "uscc,name,region,industry_code,lat,lng\n" +
		"91330922000000001H,A,330922,H621,30,122\n91330922000000002L,B,330922,H621,30,122\n" +
		"91330922000000003P,C,GONE,H621,30,122\n91330922000000004T,D,GONE,H621,30,122\n"
	removed := false
	job, err := csvimport.Businesses(ctx, st, actor, strings.NewReader(csv), csvimport.Options{
		BatchSize: 2,
		Workers:   1, // batch 2 must not start before batch 1's progress
		Progress: func(read, loaded, rejected int) {
			if removed {
				return
			}
			removed = true
			// The importer resolved GONE before the file was read; now it goes.
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DELETE FROM regions WHERE code = 'GONE'"); err != nil {
				t.Fatal(err)
			}
		},
	})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("err = %v, want a conflict from the foreign key", err)
	}
	if job.Status != store.ImportFailed || job.RowsLoaded != 2 || !strings.Contains(job.Failure, "line 4") {
		t.Errorf("job = %+v, want failed with 2 rows loaded and the failing batch's line", job)
	}
	all, _ := st.ListBusinesses(ctx, store.BusinessFilter{}, store.Page{})
	if len(all.Items) != 2 {
		t.Errorf("%d businesses, want the first batch's 2", len(all.Items))
	}
}

// Cancelling the caller's context stops the import, and the job still ends
// failed with what was loaded rather than staying "running".
func TestBusinessesCancelled(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job, err := csvimport.Businesses(ctx, st, actor, fixture(t, "businesses_en.csv"), csvimport.Options{
		BatchSize: 1,
		Workers:   1,
		Progress:  func(read, loaded, rejected int) { cancel() },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if job.Status != store.ImportFailed || job.RowsLoaded != 1 || job.FinishedAt == nil {
		t.Errorf("job = %+v, want failed after one row", job)
	}
}

func TestInspectors(t *testing.T) {
	st, dsn := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	if _, err := csvimport.Businesses(ctx, st, actor, fixture(t, "businesses_en.csv"), csvimport.Options{}); err != nil {
		t.Fatal(err)
	}
	job, err := csvimport.Inspectors(ctx, st, actor, fixture(t, "inspectors_zh.csv"), csvimport.Options{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if job.RowsRead != 6 || job.RowsLoaded != 2 || job.RowsRejected != 4 {
		t.Fatalf("job = read %d loaded %d rejected %d, want 6 2 4 (errors %+v)", job.RowsRead, job.RowsLoaded, job.RowsRejected, job.Errors)
	}
	for _, w := range []struct {
		line          int
		field, reason string
	}{
		{4, "队伍编码", `unknown team code "T99"`},
		{5, "队长", `"也许" is not yes or no`},
		{6, "回避", "not registered as a business: 91330922000000009A"},
		{7, "回避", "check character"},
	} {
		if r := reason(job.Errors, w.line, w.field); !strings.Contains(r, w.reason) {
			t.Errorf("line %d field %s: reason %q, want %q (errors %+v)", w.line, w.field, r, w.reason, job.Errors)
		}
	}
	byCode := inspectors(t, dsn)
	zs := byCode["ZJ330922001"]
	if zs.Name != "张三" || !zs.IsLeader || !slices.Equal(zs.Domains, []string{"food_safety", "fire"}) ||
		!slices.Equal(zs.Conflicts, []string{"91330922000000001H"}) {
		t.Errorf("ZJ330922001 = %+v", zs)
	}
	if ls := byCode["ZJ330922002"]; ls.IsLeader || len(ls.Conflicts) != 0 || !slices.Equal(ls.Domains, []string{"food_safety", "health"}) {
		t.Errorf("ZJ330922002 = %+v", ls)
	}

	// Re-import: conflicts are replaced where the column is present, kept
	// where it is absent, and no inspector is duplicated.
	steps := []struct {
		csv  string
		want []string
	}{
		{"code,name,team,conflicts\nZJ330922001,张三,T01,91330922000000003P;913309220000000087\n", []string{"91330922000000003P", "913309220000000087"}},
		{"code,name,team,conflicts\nZJ330922001,张三,T01,913309220000000087\n", []string{"913309220000000087"}},
		{"code,name,team\nZJ330922001,张三,T01\n", []string{"913309220000000087"}},
		{"code,name,team,conflicts\nZJ330922001,张三,T01,\n", []string{"913309220000000087"}}, // an empty cell keeps
		{"code,name,team,conflicts\nZJ330922001,张三,T01,\n|clear", []string{}},
	}
	for i, s := range steps {
		var opt csvimport.Options
		if text, ok := strings.CutSuffix(s.csv, "|clear"); ok {
			s.csv, opt.Import.EmptyCells = text, store.EmptyClear
		}
		if _, err := csvimport.Inspectors(ctx, st, actor, strings.NewReader(s.csv), opt); err != nil {
			t.Fatal(err)
		}
		byCode := inspectors(t, dsn)
		if len(byCode) != 2 {
			t.Errorf("step %d: %d inspectors, want 2", i, len(byCode))
		}
		if got := byCode["ZJ330922001"].Conflicts; !slices.Equal(got, s.want) {
			t.Errorf("step %d: conflicts = %v, want %v", i, got, s.want)
		}
	}
}

// inspectors reads the inspectors straight from the database, conflicts in
// USCC order, so the test does not depend on the store's read path.
func inspectors(t *testing.T, dsn string) map[string]domain.Inspector {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT code, name, team_id, domains, phone, is_leader,
		ARRAY(SELECT uscc::text FROM inspector_conflicts c WHERE c.inspector_id = i.id ORDER BY uscc)
		FROM inspectors i`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]domain.Inspector{}
	for rows.Next() {
		var in domain.Inspector
		if err := rows.Scan(&in.Code, &in.Name, &in.TeamID, &in.Domains, &in.Phone, &in.IsLeader, &in.Conflicts); err != nil {
			t.Fatal(err)
		}
		out[in.Code] = in
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
