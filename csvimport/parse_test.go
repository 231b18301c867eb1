package csvimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"inspectonce/domain"
	"inspectonce/uscc"
)

var testRegions = map[string]int64{"330922": 1, "330922001": 2}

var testTeams = map[string]int64{"T01": 1}

type parsed[T any] struct {
	good      []T
	goodLines []int
	bad       [][]RowError
	badLines  []int
}

func parseAll[T any](p *parser[T]) (parsed[T], error) {
	var out parsed[T]
	err := p.run(func(line int, v T) error {
		out.good, out.goodLines = append(out.good, v), append(out.goodLines, line)
		return nil
	}, func(line int, errs []RowError) error {
		out.bad, out.badLines = append(out.bad, errs), append(out.badLines, line)
		return nil
	})
	return out, err
}

// The line numbers and reasons of the parser alone, without a database.
func TestParseBusinesses(t *testing.T) {
	const head = "uscc,name,region,industry_code,lat,lng\n"
	tests := []struct {
		name      string
		csv       string
		goodLines []int
		badLines  []int
		field     string // of the first bad row's first error
		reason    string // substring of it
	}{
		{"good row", head + "91330922000000001H,A,330922,H621,30,122\n", []int{2}, nil, "", ""},
		{"crlf and blank lines", head + "\r\n91330922000000001H,A,330922,H621,30,122\r\n\r\n91330922000000002L,B,330922,H621,30,122\r\n",
			[]int{3, 5}, nil, "", ""},
		{"quoted newline shifts later lines", head + "91330922000000001H,\"A\nB\",330922,H621,30,122\n91330922000000002L,B,330922,H621,-91,122\n",
			[]int{2}, []int{4}, "lat", "out of range"},
		{"lower-case uscc and padding", head + " 91330922000000001h ,\u3000A\u3000,330922,h621,30,122\n", []int{2}, nil, "", ""},
		{"NaN latitude", head + "91330922000000001H,A,330922,H621,NaN,122\n", nil, []int{2}, "lat", "not a finite number"},
		{"NUL in name", head + "91330922000000001H,A\x00,330922,H621,30,122\n", nil, []int{2}, "name", "NUL"},
		{"bad UTF-8 in name", head + "91330922000000001H,\xff,330922,H621,30,122\n", nil, []int{2}, "name", "UTF-8"},
		{"empty name keeps the stored one", head + "91330922000000001H,,330922,H621,30,122\n", []int{2}, nil, "", ""},
		{"too many fields", head + "91330922000000001H,A,330922,H621,30,122,x\n", nil, []int{2}, "", "has 7 fields"},
		{"unterminated quote swallows the rest", head + "91330922000000001H,\"A,330922,H621,30,122\n91330922000000002L,B,330922,H621,30,122\n",
			nil, []int{2}, "", "not valid CSV"},
		{"duplicate after a bad first copy loads", head + "91330922000000001H,A,330922,H621,300,122\n91330922000000001H,A,330922,H621,30,122\n",
			[]int{3}, []int{2}, "lat", "out of range"},
		{"short uscc", head + "9133,A,330922,H621,30,122\n", nil, []int{2}, "uscc", "must be 18 characters"},
		{"only the key column", "uscc\n91330922000000001H\n", []int{2}, nil, "", ""},
		{"formula in name", head + "91330922000000001H,\"=HYPERLINK(\"\"http://x\"\")\",330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"plus formula in name", head + "91330922000000001H,+SUM(1+1),330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"at sign in name", head + "91330922000000001H,@SUM(A1),330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"minus formula in name", head + "91330922000000001H,-A1+1,330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"leading tab in name", head + "91330922000000001H,\"\tA\",330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"leading CR in name", head + "91330922000000001H,\"\rA\",330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"padded formula", head + "91330922000000001H,\" =1+1\",330922,H621,30,122\n", nil, []int{2}, "name", "formula"},
		{"negative number and plus inside are text", head + "91330922000000001H,-5 Co. A+B,330922,H621,30,122\n", []int{2}, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newBusinessParser(strings.NewReader(tc.csv), testRegions, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.goodLines, tc.goodLines) || !slices.Equal(got.badLines, tc.badLines) {
				t.Fatalf("good lines %v bad lines %v, want %v %v (errors %+v)", got.goodLines, got.badLines, tc.goodLines, tc.badLines, got.bad)
			}
			if len(tc.badLines) > 0 {
				e := got.bad[0][0]
				if e.Field != tc.field || !strings.Contains(e.Reason, tc.reason) {
					t.Errorf("first error %+v, want field %q reason containing %q", e, tc.field, tc.reason)
				}
			}
		})
	}
}

// Every free-text column refuses what a spreadsheet would run as a formula,
// naming the column and the line, and still takes phone numbers and signed
// numbers.
func TestParseFormulaCells(t *testing.T) {
	cells := []struct {
		value string
		ok    bool
	}{
		{"=HYPERLINK(\"http://evil.example\",\"点我\")", false},
		{"+SUM(1+1)", false},
		{"-SUM(1+1)", false},
		{"@SUM(1+1)", false},
		{"=1+1", false},
		{"\t=1+1", false},
		{"\tplain", false},
		{"\rplain", false},
		{"+", false},
		{"-", false},
		{"+86 138 0000 0000", true},
		{"+8613800000000", true},
		{"-1", true},
		{"0571-8888 8888", true},
		{"张三 = 李四", true},
		{"a@b.example", true},
	}
	for _, col := range []string{"name", "address", "contact_name", "contact_phone", "risk_reason"} {
		for _, c := range cells {
			t.Run(col+"/"+c.value, func(t *testing.T) {
				rec := map[string]string{"name": "A", "address": "", "contact_name": "", "contact_phone": "", "risk_reason": ""}
				rec[col] = c.value
				var b strings.Builder
				w := csv.NewWriter(&b)
				_ = w.Write([]string{"uscc", "name", "region", "industry_code", "lat", "lng", "address", "contact_name", "contact_phone", "risk_reason"})
				_ = w.Write([]string{"9133092200000001AE", rec["name"], "330922", "H621", "30", "122", rec["address"], rec["contact_name"], rec["contact_phone"], rec["risk_reason"]})
				w.Flush()
				p, err := newBusinessParser(strings.NewReader(b.String()), testRegions, false)
				if err != nil {
					t.Fatal(err)
				}
				got, err := parseAll(p)
				if err != nil {
					t.Fatal(err)
				}
				if c.ok {
					if len(got.good) != 1 {
						t.Fatalf("%q refused: %+v", c.value, got.bad)
					}
					return
				}
				if len(got.bad) != 1 || got.badLines[0] != 2 || got.bad[0][0].Field != col || !strings.Contains(got.bad[0][0].Reason, "formula") {
					t.Fatalf("%q in %s: good %d, bad %+v; want line 2 refused naming %s", c.value, col, len(got.good), got.bad, col)
				}
			})
		}
	}
	// Inspectors' free text too.
	p, err := newInspectorParser(strings.NewReader("code,name,team,phone\nA1,=cmd|' /C calc'!A0,T01,+86 138\nA2,李四,T01,=1+1\n"), testTeams, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAll(p)
	if err != nil || len(got.bad) != 2 || got.bad[0][0].Field != "name" || got.bad[1][0].Field != "phone" {
		t.Fatalf("inspectors: %+v %v", got, err)
	}
}

// Absent columns and empty cells leave a field unset (nil) unless the import
// clears; a column that can never be empty is refused, not cleared.
func TestParseEmptyCells(t *testing.T) {
	const csvText = "uscc,name,address,contact_phone,risk_code,list_kind\n91330922000000001H,,,,,\n"
	for _, clear := range []bool{false, true} {
		p, err := newBusinessParser(strings.NewReader(csvText), testRegions, clear)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if !clear {
			if len(got.good) != 1 {
				t.Fatalf("keep: %+v", got.bad)
			}
			b := got.good[0]
			if b.Name != nil || b.Address != nil || b.ContactPhone != nil || b.RiskCode != nil || b.ListKind != nil || b.RegionID != nil || b.Lat != nil {
				t.Errorf("keep: a field is set: %+v", b)
			}
			continue
		}
		if len(got.bad) != 1 || got.bad[0][0].Field != "name" || !strings.Contains(got.bad[0][0].Reason, "cannot be cleared") {
			t.Fatalf("clear with an empty name: %+v", got.bad)
		}
	}
	p, err := newBusinessParser(strings.NewReader("uscc,address,contact_phone,risk_code\n91330922000000001H,,,\n"), testRegions, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAll(p)
	if err != nil || len(got.good) != 1 {
		t.Fatalf("clear: %+v %v", got, err)
	}
	if b := got.good[0]; b.Address == nil || *b.Address != "" || b.ContactPhone == nil || *b.ContactPhone != "" || b.RiskCode != nil || b.Name != nil {
		t.Errorf("clear: %+v, want address and phone cleared, risk code and name unset", b)
	}
}

func TestParseInspectorsConflictsColumn(t *testing.T) {
	for _, tc := range []struct {
		csv   string
		clear bool
		want  []string
	}{
		{"code,name,team\nA1,x,T01\n", false, nil},
		{"code,name,team,conflicts\nA1,x,T01,\n", false, nil}, // an empty cell keeps
		{"code,name,team,conflicts\nA1,x,T01,\n", true, []string{}},
		{"code,name,team,conflicts\nA1,x,T01, 91330922000000001H ；91330922000000001h|91330922000000002L\n", false,
			[]string{"91330922000000001H", "91330922000000002L"}},
	} {
		p, err := newInspectorParser(strings.NewReader(tc.csv), testTeams, tc.clear)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseAll(p)
		if err != nil || len(got.good) != 1 {
			t.Fatalf("%q: %+v, %v", tc.csv, got, err)
		}
		c := got.good[0].Conflicts
		if (c == nil) != (tc.want == nil) || c != nil && !slices.Equal(*c, tc.want) {
			t.Errorf("%q: conflicts %v, want %#v", tc.csv, c, tc.want)
		}
	}
}

func fuzzSeeds(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", prefix+"*.csv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzBusinessesCSV checks the parser on arbitrary input: it never panics,
// every row read is either handed on or refused, refusals carry real line
// numbers and storable text, and what it hands on passes the database's
// checks.
func FuzzBusinessesCSV(f *testing.F) {
	fuzzSeeds(f, "businesses")
	f.Add([]byte("uscc,name,region,industry_code,lat,lng\n91330922000000001H,\"A\n\",330922,H621,1e400,-0\n"))
	f.Add([]byte("\xef\xbb\xbfuscc,name,region,industry_code,lat,lng\n\"\"\"\",a\"b,330922\n"))
	f.Add([]byte("uscc,name,contact_phone\n91330922000000001H,\"\t=1+1\",+86 138\n91330922000000002L,,-\n\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The last byte's low bit picks empty=clear, so both modes are fuzzed.
		clear := len(data) > 0 && data[len(data)-1]&1 == 1
		p, err := newBusinessParser(bytes.NewReader(data), testRegions, clear)
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
		for _, b := range got.good {
			if err := uscc.Check(b.USCC); err != nil || seen[b.USCC] {
				t.Fatalf("loaded a bad or repeated USCC %q: %v", b.USCC, err)
			}
			seen[b.USCC] = true
			if b.Lat != nil && !(*b.Lat >= -90 && *b.Lat <= 90) || b.Lng != nil && !(*b.Lng >= -180 && *b.Lng <= 180) ||
				b.IndustryCode != nil && !validIndustry(*b.IndustryCode) {
				t.Fatalf("loaded an out-of-range row %+v", b)
			}
			if b.RegionID != nil && *b.RegionID == 0 || b.Name != nil && *b.Name == "" {
				t.Fatalf("loaded a row with an empty region or name %+v", b)
			}
			for _, s := range []*string{b.Name, b.Address, b.ContactName, b.ContactPhone, &b.RiskReason} {
				if s != nil {
					storable(t, *s)
					if formulaLike(*s) {
						t.Fatalf("loaded a formula %q", *s)
					}
				}
			}
			if b.RiskCode != nil && *b.RiskCode != domain.RiskRed && *b.RiskCode != domain.RiskYellow && *b.RiskCode != domain.RiskGreen {
				t.Fatalf("risk code %q", *b.RiskCode)
			}
		}
	})
}

// FuzzInspectorsCSV is FuzzBusinessesCSV for inspectors.
func FuzzInspectorsCSV(f *testing.F) {
	fuzzSeeds(f, "inspectors")
	f.Fuzz(func(t *testing.T, data []byte) {
		clear := len(data) > 0 && data[len(data)-1]&1 == 1
		p, err := newInspectorParser(bytes.NewReader(data), testTeams, clear)
		if err != nil {
			return
		}
		got, err := parseAll(p)
		if err != nil {
			t.Fatalf("in-memory input failed as a whole: %v", err)
		}
		checkCounts(t, data, len(got.good)+len(got.bad), got.goodLines, got.badLines, got.bad)
		for _, in := range got.good {
			if !validCode(in.Code) || in.TeamID != nil && *in.TeamID == 0 || in.Name != nil && *in.Name == "" {
				t.Fatalf("loaded %+v", in)
			}
			for _, s := range []*string{in.Name, in.Phone} {
				if s != nil {
					storable(t, *s)
					if formulaLike(*s) {
						t.Fatalf("loaded a formula %q", *s)
					}
				}
			}
			if in.Conflicts != nil {
				for _, c := range *in.Conflicts {
					if uscc.Check(c) != nil {
						t.Fatalf("loaded conflict %q", c)
					}
				}
			}
		}
	})
}

// checkCounts holds the parser to an independent count of the records after
// the header, each CSV syntax error counting as one.
func checkCounts(t *testing.T, data []byte, handled int, goodLines, badLines []int, bad [][]RowError) {
	t.Helper()
	data = bytes.TrimPrefix(data, utf8BOM)
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	records := -1 // the header
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.As(err, new(*csv.ParseError)) {
			t.Fatal(err)
		}
		records++
	}
	if handled != records {
		t.Fatalf("handed on or refused %d rows, the file has %d", handled, records)
	}
	lines := slices.Concat(goodLines, badLines)
	slices.Sort(lines)
	for i, l := range lines {
		if l < 2 || i > 0 && l <= lines[i-1] {
			t.Fatalf("row lines %v: each must be ≥ 2 and distinct", lines)
		}
	}
	for i, errs := range bad {
		if len(errs) == 0 {
			t.Fatalf("row on line %d refused without a reason", badLines[i])
		}
		for _, e := range errs {
			if e.Line != badLines[i] || e.Reason == "" {
				t.Fatalf("error %+v on the row of line %d", e, badLines[i])
			}
			storable(t, e.Field)
			storable(t, e.Reason)
		}
	}
}

// storable fails unless PostgreSQL would accept s as text.
func storable(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		t.Fatalf("%q is not storable text", s)
	}
}
