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
		{"empty name", head + "91330922000000001H,,330922,H621,30,122\n", nil, []int{2}, "name", "required"},
		{"too many fields", head + "91330922000000001H,A,330922,H621,30,122,x\n", nil, []int{2}, "", "has 7 fields"},
		{"unterminated quote swallows the rest", head + "91330922000000001H,\"A,330922,H621,30,122\n91330922000000002L,B,330922,H621,30,122\n",
			nil, []int{2}, "", "not valid CSV"},
		{"duplicate after a bad first copy loads", head + "91330922000000001H,A,330922,H621,300,122\n91330922000000001H,A,330922,H621,30,122\n",
			[]int{3}, []int{2}, "lat", "out of range"},
		{"short uscc", head + "9133,A,330922,H621,30,122\n", nil, []int{2}, "uscc", "must be 18 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newBusinessParser(strings.NewReader(tc.csv), testRegions)
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

func TestParseInspectorsConflictsColumn(t *testing.T) {
	for _, tc := range []struct {
		csv  string
		want []string
	}{
		{"code,name,team\nA1,x,T01\n", nil},
		{"code,name,team,conflicts\nA1,x,T01,\n", []string{}},
		{"code,name,team,conflicts\nA1,x,T01, 91330922000000001H ；91330922000000001h|91330922000000002L\n",
			[]string{"91330922000000001H", "91330922000000002L"}},
	} {
		p, err := newInspectorParser(strings.NewReader(tc.csv), testTeams)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseAll(p)
		if err != nil || len(got.good) != 1 {
			t.Fatalf("%q: %+v, %v", tc.csv, got, err)
		}
		c := got.good[0].Conflicts
		if (c == nil) != (tc.want == nil) || !slices.Equal(c, tc.want) {
			t.Errorf("%q: conflicts %#v, want %#v", tc.csv, c, tc.want)
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
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := newBusinessParser(bytes.NewReader(data), testRegions)
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
			if !(b.Lat >= -90 && b.Lat <= 90 && b.Lng >= -180 && b.Lng <= 180) || !validIndustry(b.IndustryCode) {
				t.Fatalf("loaded an out-of-range row %+v", b)
			}
			if b.RegionID == 0 || b.Name == "" {
				t.Fatalf("loaded a row without region or name %+v", b)
			}
			for _, s := range []string{b.Name, b.Address, b.ContactName, b.ContactPhone, b.RiskReason} {
				storable(t, s)
			}
			if b.RiskCode != "" && b.RiskCode != domain.RiskRed && b.RiskCode != domain.RiskYellow && b.RiskCode != domain.RiskGreen {
				t.Fatalf("risk code %q", b.RiskCode)
			}
		}
	})
}

// FuzzInspectorsCSV is FuzzBusinessesCSV for inspectors.
func FuzzInspectorsCSV(f *testing.F) {
	fuzzSeeds(f, "inspectors")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := newInspectorParser(bytes.NewReader(data), testTeams)
		if err != nil {
			return
		}
		got, err := parseAll(p)
		if err != nil {
			t.Fatalf("in-memory input failed as a whole: %v", err)
		}
		checkCounts(t, data, len(got.good)+len(got.bad), got.goodLines, got.badLines, got.bad)
		for _, in := range got.good {
			if !validCode(in.Code) || in.TeamID == 0 {
				t.Fatalf("loaded %+v", in)
			}
			storable(t, in.Name)
			storable(t, in.Phone)
			for _, c := range in.Conflicts {
				if uscc.Check(c) != nil {
					t.Fatalf("loaded conflict %q", c)
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
