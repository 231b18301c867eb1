package csvimport

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/uscc"
)

// xlsxCell is one cell a test workbook holds: a value, or a formula.
type xlsxCell struct {
	ref     string
	value   any
	formula string
	date    bool // give the cell a date number format
}

// buildXLSX makes a workbook whose first sheet holds cells, and a second
// sheet that an import must ignore.
func buildXLSX(t testing.TB, cells ...xlsxCell) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	dateFmt := "yyyy\"年\"m\"月\"d\"日\""
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if c.formula != "" {
			if err := f.SetCellFormula(sheet, c.ref, c.formula); err != nil {
				t.Fatal(err)
			}
			continue
		}
		switch v := c.value.(type) {
		case string:
			err = f.SetCellStr(sheet, c.ref, v)
		default:
			err = f.SetCellValue(sheet, c.ref, v)
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.date {
			if err := f.SetCellStyle(sheet, c.ref, c.ref, dateStyle); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.NewSheet("Other"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellStr("Other", "A1", "not read"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xrow lays out values from column A of row n.
func xrow(n int, values ...any) []xlsxCell {
	var out []xlsxCell
	for i, v := range values {
		if v == nil {
			continue
		}
		ref, _ := excelize.CoordinatesToCellName(i+1, n)
		switch v := v.(type) {
		case xlsxCell:
			v.ref = ref
			out = append(out, v)
		default:
			out = append(out, xlsxCell{ref: ref, value: v})
		}
	}
	return out
}

// code is a valid USCC, the n-th of the test county.
func code(t testing.TB, n int) string {
	c, err := uscc.Complete(fmt.Sprintf("91330922%09d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cells(rows ...[]xlsxCell) []xlsxCell {
	var out []xlsxCell
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// TestParseBusinessesXLSX: a workbook is read from its first sheet with
// the row numbers Excel shows (blank rows skipped but counted), numbers as
// stored, and bad rows refused by row and column: a formula cell, a text
// cell a spreadsheet would run, a bad value, a value outside the header.
func TestParseBusinessesXLSX(t *testing.T) {
	data := buildXLSX(t, cells(
		xrow(1, "统一社会信用代码", "企业名称", "区域编码", "行业代码", "纬度", "经度", "联系电话"),
		xrow(2, "91330922000000001H", "嵊泗海鲜酒家", "330922", "H621", 30.7123456, 122.45, 13800000000),
		// row 3 blank
		xrow(4, "91330922000000002L", xlsxCell{formula: "A2&\"x\""}, "330922", "H621", 30.7, 122.4),
		xrow(5, code(t, 3), "=HYPERLINK(\"http://x\")", "330922", "H621", 30.7, 122.4),
		xrow(6, code(t, 4), "B", "330922", "H621", 91, 122.4),
		xrow(7, code(t, 5), "C", "330922", "H621", 30.7, 122.4, nil, "extra"),
		xrow(8, code(t, 6), "D", "330922001", "H621", 30.7, 122.4),
	)...)
	p, err := newBusinessParser(bytes.NewReader(data), testRegions, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAll(p)
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(got.goodLines, []int{2, 8}) || !equalInts(got.badLines, []int{4, 5, 6, 7}) {
		t.Fatalf("good %v bad %v (%+v)", got.goodLines, got.badLines, got.bad)
	}
	b := got.good[0]
	if b.USCC != "91330922000000001H" || *b.Name != "嵊泗海鲜酒家" || *b.Lat != 30.7123456 || *b.Lng != 122.45 || *b.ContactPhone != "13800000000" {
		t.Fatalf("first row %+v", b)
	}
	for i, want := range []struct{ field, reason string }{
		{"企业名称", "cell B4 holds a formula"},
		{"企业名称", "would be read as a formula"},
		{"纬度", "out of range"},
		{"H7", "has a value but its column has no header"},
	} {
		e := got.bad[i][0]
		if e.Field != want.field || !strings.Contains(e.Reason, want.reason) {
			t.Errorf("row %d: %q %q, want %q %q", got.badLines[i], e.Field, e.Reason, want.field, want.reason)
		}
	}
}

// TestParseUnavailabilityXLSX: date cells are read as dates whatever their
// number format (here 2026年12月10日), and text dates still parse.
func TestParseUnavailabilityXLSX(t *testing.T) {
	day := func(d int) xlsxCell {
		return xlsxCell{value: time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC), date: true}
	}
	data := buildXLSX(t, cells(
		xrow(1, "执法证号", "开始日期", "结束日期", "原因"),
		xrow(2, "ZJ-0001", day(10), day(12), "年假"),
		xrow(3, "ZJ-0001", "2026/12/20", "2026-12-21", "培训"),
		xrow(4, "ZJ-0001", day(12), day(10), "倒置"),
		xrow(5, "ZJ-0001", xlsxCell{formula: "TODAY()"}, day(10), "公式"),
	)...)
	p, err := newUnavailabilityParser(bytes.NewReader(data), testInspectors)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAll(p)
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(got.goodLines, []int{2, 3}) || !equalInts(got.badLines, []int{4, 5}) {
		t.Fatalf("good %v bad %v (%+v)", got.goodLines, got.badLines, got.bad)
	}
	if civil(got.good[0].From) != "2026-12-10" || civil(got.good[1].From) != "2026-12-20" {
		t.Fatalf("dates %v %v", got.good[0].From, got.good[1].From)
	}
	if e := got.bad[1][0]; e.Field != "开始日期" || !strings.Contains(e.Reason, "B5 holds a formula") {
		t.Fatalf("formula row: %+v", e)
	}
}

// TestXLSXFileErrors: what makes a workbook unusable as a whole is a
// validation error naming the file or the header.
func TestXLSXFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []byte
		field string
	}{
		{"empty sheet", buildXLSX(t), "header"},
		{"unknown columns", buildXLSX(t, xrow(1, "foo", "bar")...), "header"},
		{"missing id column", buildXLSX(t, xrow(1, "企业名称")...), "uscc"},
		{"broken zip", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{1}, 100)...), "file"},
		{"formula in header", buildXLSX(t, xlsxCell{ref: "A1", formula: "1+1"}), "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newBusinessParser(bytes.NewReader(tc.data), testRegions, false)
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != tc.field {
				t.Fatalf("err %v, want a validation error on %s", err, tc.field)
			}
		})
	}
}

func TestCustomDate(t *testing.T) {
	for f, want := range map[string]bool{
		"yyyy-mm-dd": true, `yyyy"年"m"月"d"日"`: true, "[$-804]yyyy年m月d日": true, "d/m/yy": true, "m/d": true,
		"0.00": false, "0.00E+00": false, "h:mm": false, `"day "0`: false, "[Red]0": false, "General": false, "mm:ss": false,
	} {
		if got := customDate(f); got != want {
			t.Errorf("customDate(%q) = %v, want %v", f, got, want)
		}
	}
}

// FuzzBusinessesXLSX: whatever the bytes behind a ZIP header, the parser
// fails cleanly or hands every row to exactly one callback, with row
// numbers that increase. Inputs are bounded so a run stays fast.
func FuzzBusinessesXLSX(f *testing.F) {
	f.Add(buildXLSX(f, cells(
		xrow(1, "uscc", "name", "region", "industry_code", "lat", "lng"),
		xrow(2, "91330922000000001H", "A", "330922", "H621", 30, 122),
		xrow(3, "91330922000000002L", xlsxCell{formula: "1+1"}, "330922", "H621", 30, 122),
	)...))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		p, err := newBusinessParser(bytes.NewReader(data), testRegions, false)
		if err != nil {
			return
		}
		last := 0
		err = p.run(func(line int, _ store.BusinessPatch) error {
			if line <= last {
				t.Fatalf("line %d after %d", line, last)
			}
			last = line
			return nil
		}, func(line int, errs []RowError) error {
			if line <= last || len(errs) == 0 {
				t.Fatalf("line %d after %d, %d errors", line, last, len(errs))
			}
			last = line
			return nil
		})
		if err != nil {
			var ve *domain.ValidationError
			if !errors.As(err, &ve) {
				t.Logf("read error: %v", err)
			}
		}
	})
}
