package csvimport

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

var testInspectors = map[string]store.InspectorRef{"ZJ-0001": {ID: 7, TeamID: 1}, "ZJ-0002": {ID: 8, TeamID: 1}}

// The parser of unavailability files alone: lines, columns and reasons.
func TestParseUnavailability(t *testing.T) {
	const head = "inspector,from,to,reason\n"
	tests := []struct {
		name      string
		csv       string
		goodLines []int
		field     string // of the first refused row's first error ("" when none)
		reason    string
	}{
		{"good row", head + "ZJ-0001,2026-12-01,2026-12-03,年休假\n", []int{2}, "", ""},
		{"slashes and BOM", "\uFEFF" + head + "ZJ-0001,2026/12/1,2026/12/3,年休假\n", []int{2}, "", ""},
		{"chinese header", "执法证号,开始日期,结束日期,原因\nZJ-0001,2026-12-01,2026-12-01,培训\n", []int{2}, "", ""},
		{"unknown code", head + "ZJ-9999,2026-12-01,2026-12-03,年休假\n", nil, "inspector", "unknown inspector"},
		{"bad date", head + "ZJ-0001,2026-13-01,2026-12-03,年休假\n", nil, "from", "not a date"},
		{"backwards", head + "ZJ-0001,2026-12-03,2026-12-01,年休假\n", nil, "to", "must not be before"},
		{"too long", head + "ZJ-0001,2026-01-01,2027-01-02,借调\n", nil, "to", "at most 366 days"},
		{"no reason", head + "ZJ-0001,2026-12-01,2026-12-03,\n", nil, "reason", "required"},
		{"formula reason", head + "ZJ-0001,2026-12-01,2026-12-03,@SUM(A1)\n", nil, "reason", "formula"},
		{"repeated row", head + "ZJ-0001,2026-12-01,2026-12-03,年休假\nZJ-0001,2026-12-01,2026-12-03,年休假\n", []int{2}, "inspector", "already on line 2"},
		{"same days, other reason", head + "ZJ-0001,2026-12-01,2026-12-03,年休假\nZJ-0001,2026-12-01,2026-12-03,病假\n", []int{2, 3}, "", ""},
		{"short row", head + "ZJ-0001,2026-12-01\n", nil, "", "has 2 fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newUnavailabilityParser(strings.NewReader(tc.csv), testInspectors)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(got.goodLines, tc.goodLines) {
				t.Fatalf("good lines %v, want %v (refused %v)", got.goodLines, tc.goodLines, got.bad)
			}
			if tc.reason == "" {
				if len(got.bad) != 0 {
					t.Fatalf("refused %v", got.bad)
				}
				return
			}
			if len(got.bad) == 0 {
				t.Fatal("nothing refused")
			}
			e := got.bad[0][0]
			if e.Field != tc.field || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("error %+v, want %s: …%s…", e, tc.field, tc.reason)
			}
		})
	}
	p, _ := newUnavailabilityParser(strings.NewReader(head+"ZJ-0002,2026/12/1,2026-12-02,借调\n"), testInspectors)
	got, _ := parseAll(p)
	if u := got.good[0]; u.InspectorID != 8 || u.InspectorCode != "ZJ-0002" || civil(u.From) != "2026-12-01" ||
		civil(u.To) != "2026-12-02" || u.Reason != "借调" {
		t.Fatalf("parsed %+v", u)
	}
}

func TestParseClosures(t *testing.T) {
	tests := []struct {
		name      string
		csv       string
		goodLines []int
		field     string
		reason    string
	}{
		{"region", "region,from,to,reason\n330922001,2026-12-07,2026-12-08,台风停航\n", []int{2}, "", ""},
		{"team", "队伍,开始日期,结束日期,原因\nT01,2026-12-07,2026-12-07,节日值班\n", []int{2}, "", ""},
		{"both", "region,team,from,to,reason\n330922,T01,2026-12-07,2026-12-08,x\n", nil, "team", "not both"},
		{"neither", "region,team,from,to,reason\n,,2026-12-07,2026-12-08,x\n", nil, "region", "required"},
		{"unknown region", "region,from,to,reason\nXX,2026-12-07,2026-12-08,x\n", nil, "region", "unknown region"},
		{"unknown team", "team,from,to,reason\nXX,2026-12-07,2026-12-08,x\n", nil, "team", "unknown team"},
		{"repeated", "region,from,to,reason\n330922,2026-12-07,2026-12-08,x\n330922,2026-12-07,2026-12-08,x\n", []int{2}, "region", "already on line 2"},
		{"region and team of the same id differ", "region,team,from,to,reason\n330922,,2026-12-07,2026-12-08,x\n,T01,2026-12-07,2026-12-08,x\n", []int{2, 3}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newClosureParser(strings.NewReader(tc.csv), testRegions, testTeams)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(got.goodLines, tc.goodLines) {
				t.Fatalf("good lines %v, want %v (refused %v)", got.goodLines, tc.goodLines, got.bad)
			}
			if tc.reason == "" {
				return
			}
			if len(got.bad) == 0 {
				t.Fatal("nothing refused")
			}
			if e := got.bad[0][0]; e.Field != tc.field || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("error %+v, want %s: …%s…", e, tc.field, tc.reason)
			}
		})
	}
	_, err := newClosureParser(strings.NewReader("from,to,reason\n"), testRegions, testTeams)
	if ve, ok := errors.AsType[*domain.ValidationError](err); !ok || ve.Fields[0].Field != "region" {
		t.Fatalf("a header without region or team: %v", err)
	}
	_, err = newUnavailabilityParser(strings.NewReader("inspector,from,to\n"), testInspectors)
	if ve, ok := errors.AsType[*domain.ValidationError](err); !ok || ve.Fields[0].Field != "reason" {
		t.Fatalf("a header without reason: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkSpan holds a parsed span to what the API would accept.
func checkSpan(t *testing.T, from, to string, days int, reason string) {
	t.Helper()
	if from == "0001-01-01" || to < from || days > maxSpanDays || reason == "" || formulaLike(reason) {
		t.Fatalf("loaded %s..%s (%d days) %q", from, to, days, reason)
	}
	storable(t, reason)
}

func FuzzUnavailabilityCSV(f *testing.F) {
	f.Add([]byte("inspector,from,to,reason\nZJ-0001,2026-12-01,2026-12-03,年休假\n"))
	f.Add([]byte("\xef\xbb\xbf执法证号,开始日期,结束日期,原因\nZJ-0002,2026/1/31,2026/2/1,\"培\n训\"\nZJ-0001,2026-12-01,2026-12-03,=1\n"))
	f.Add([]byte("inspector,from,to,reason,x\nZJ-0001,2026-12-01,2025-12-03,a,b\n,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := newUnavailabilityParser(bytes.NewReader(data), testInspectors)
		if err != nil {
			if _, ok := errors.AsType[*domain.ValidationError](err); !ok {
				t.Fatalf("header error is not a validation error: %v", err)
			}
			return
		}
		got, err := parseAll(p)
		if err != nil {
			t.Fatalf("in-memory input failed as a whole: %v", err)
		}
		checkCounts(t, data, len(got.good)+len(got.bad), got.goodLines, got.badLines, got.bad)
		seen := map[string]bool{}
		for _, u := range got.good {
			if ref, ok := testInspectors[u.InspectorCode]; !ok || ref.ID != u.InspectorID {
				t.Fatalf("loaded an unknown inspector %+v", u)
			}
			checkSpan(t, civil(u.From), civil(u.To), int(u.To.Sub(u.From).Hours()/24)+1, u.Reason)
			k := store.UnavailabilityImportKey(u)
			if seen[k] {
				t.Fatalf("loaded a repeated row %+v", u)
			}
			seen[k] = true
		}
	})
}

func FuzzClosuresCSV(f *testing.F) {
	f.Add([]byte("region,team,from,to,reason\n330922,,2026-12-07,2026-12-08,台风停航\n,T01,2026/12/9,2026/12/9,节日值班\n"))
	f.Add([]byte("区域,开始日期,结束日期,原因\n330922001,2026-12-07,2026-12-08,\"\t台风\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := newClosureParser(bytes.NewReader(data), testRegions, testTeams)
		if err != nil {
			if _, ok := errors.AsType[*domain.ValidationError](err); !ok {
				t.Fatalf("header error is not a validation error: %v", err)
			}
			return
		}
		got, err := parseAll(p)
		if err != nil {
			t.Fatalf("in-memory input failed as a whole: %v", err)
		}
		checkCounts(t, data, len(got.good)+len(got.bad), got.goodLines, got.badLines, got.bad)
		for _, c := range got.good {
			if (c.RegionID == 0) == (c.TeamID == 0) || c.Code == "" {
				t.Fatalf("loaded a closure of neither or both %+v", c)
			}
			checkSpan(t, civil(c.From), civil(c.To), int(c.To.Sub(c.From).Hours()/24)+1, c.Reason)
		}
	})
}
