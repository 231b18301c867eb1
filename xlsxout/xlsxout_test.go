package xlsxout

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var testSheet = Sheet{ZH: "测试", EN: "Test", Columns: []Column{
	{ZH: "名称", EN: "Name"},
	{ZH: "日期", EN: "Date", Kind: Date},
	{ZH: "数量", EN: "Count", Kind: Int},
	{ZH: "时间", EN: "At", Kind: DateTime},
	{ZH: "经度", EN: "Lng", Kind: Number},
}}

// write builds a workbook of testSheet with rows, and a second sheet.
func write(t *testing.T, lang string, rows ...[]any) *excelize.File {
	t.Helper()
	w, err := New(lang)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sheet(testSheet); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Row(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sheet(Sheet{ZH: "第二页", EN: "Second", Columns: []Column{{ZH: "甲", EN: "A"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Row("x"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkSheet reads a sheet back and checks what every workbook of the
// service promises: the headers, a frozen header row, widths fitted to the
// headers, and the rows as given (rows of display values).
func checkSheet(t *testing.T, f *excelize.File, sheet string, s Sheet, lang string, rows [][]string) {
	t.Helper()
	got, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("sheet %q: %v (sheets %v)", sheet, err, f.GetSheetList())
	}
	if len(got) != len(rows)+1 {
		t.Fatalf("sheet %q has %d rows, want %d: %q", sheet, len(got), len(rows)+1, got)
	}
	for i, c := range s.Columns {
		want := c.ZH
		if lang == EN {
			want = c.EN
		}
		if i >= len(got[0]) || got[0][i] != want {
			t.Fatalf("header %q, want column %d %q", got[0], i, want)
		}
		width, err := f.GetColWidth(sheet, colName(i))
		if err != nil || width < float64(displayWidth(want)) {
			t.Errorf("column %s (%s) is %v wide: narrower than its header", colName(i), want, width)
		}
	}
	for r, want := range rows {
		g := append(got[r+1], make([]string, len(want))...)[:len(want)]
		if strings.Join(g, "|") != strings.Join(want, "|") {
			t.Errorf("row %d: %q, want %q", r+2, g, want)
		}
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 || panes.TopLeftCell != "A2" {
		t.Errorf("panes %+v %v: the header row is not frozen", panes, err)
	}
}

func colName(i int) string { n, _ := excelize.ColumnNumberToName(i + 1); return n }

// checkDate: the cell is a number with a date format, not text, and reads
// as want.
func checkDate(t *testing.T, f *excelize.File, sheet, cell, want string) {
	t.Helper()
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	serial, err := excelize.ExcelDateToTime(mustFloat(t, raw), false)
	if err != nil {
		t.Fatalf("%s: raw %q is not a date serial: %v", cell, raw, err)
	}
	if typ, _ := f.GetCellType(sheet, cell); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("%s has type %v, want a number", cell, typ)
	}
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil || st.CustomNumFmt == nil || !strings.HasPrefix(*st.CustomNumFmt, "yyyy-mm-dd") {
		t.Errorf("%s has style %+v: not a date format", cell, st)
	}
	if shown, _ := f.GetCellValue(sheet, cell); shown != want || !strings.HasPrefix(want, serial.Format(time.DateOnly)) {
		t.Errorf("%s shows %q (serial %v), want %q", cell, shown, serial, want)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return f
}

func TestWorkbook(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	rows := [][]any{
		{"嵊泗海鲜酒家", "2026-12-10", 3, time.Date(2026, 11, 23, 10, 5, 0, 0, shanghai), 122.45},
		{"菜园镇便利店", time.Date(2026, 12, 31, 23, 0, 0, 0, shanghai), int64(0), nil, -0.5},
		{"no date", "", nil, time.Time{}, nil},
	}
	for _, lang := range []string{ZH, EN} {
		t.Run(lang, func(t *testing.T) {
			f := write(t, lang, rows...)
			name := testSheet.ZH
			if lang == EN {
				name = testSheet.EN
			}
			if list := f.GetSheetList(); len(list) != 2 || list[0] != name {
				t.Fatalf("sheets %v", list)
			}
			checkSheet(t, f, name, testSheet, lang, [][]string{
				{"嵊泗海鲜酒家", "2026-12-10", "3", "2026-11-23 10:05", "122.45"},
				{"菜园镇便利店", "2026-12-31", "0", "", "-0.5"},
				{"no date", "", "", "", ""},
			})
			checkDate(t, f, name, "B2", "2026-12-10")
			checkDate(t, f, name, "B3", "2026-12-31")
			checkDate(t, f, name, "D2", "2026-11-23 10:05")
			if typ, _ := f.GetCellType(name, "C2"); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
				t.Errorf("C2 has type %v, want a number", typ)
			}
		})
	}
}

// TestTextCellsAreNeverFormulas: a text cell a spreadsheet could run
// (csvout's list: = + - @ tab CR, and a formula after a separator) is
// written as a string cell holding the text as it was, never as a formula;
// characters XML cannot carry are dropped and the file still opens.
func TestTextCellsAreNeverFormulas(t *testing.T) {
	cells := []string{`=HYPERLINK("http://evil.example","点我")`, "+SUM(1+1)", "-2+3", "@SUM(A1)", "\t=1", "'=1",
		"a;=cmd|' /C calc'!A0", "=1+1", "-12.5"}
	w, err := New(ZH)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sheet(Sheet{ZH: "文本", Columns: []Column{{ZH: "文本"}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if err := w.Row(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Row("bell\x07 and \x00nul"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, want := range cells {
		ref := "A" + strconv.Itoa(i+2)
		formula, err := f.GetCellFormula("文本", ref)
		if err != nil || formula != "" {
			t.Errorf("%s (%q) is a formula %q %v", ref, want, formula, err)
		}
		typ, _ := f.GetCellType("文本", ref)
		if typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
			t.Errorf("%s (%q) has type %v, want a string", ref, want, typ)
		}
		if got, _ := f.GetCellValue("文本", ref, excelize.Options{RawCellValue: true}); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
	if got, _ := f.GetCellValue("文本", "A"+strconv.Itoa(len(cells)+2)); got != "bell and nul" {
		t.Errorf("control characters: %q", got)
	}
}

func TestRowErrors(t *testing.T) {
	w, err := New(ZH)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Row("x"); err == nil {
		t.Error("a row before a sheet was accepted")
	}
	if err := w.Sheet(testSheet); err != nil {
		t.Fatal(err)
	}
	if err := w.Row("x"); err == nil {
		t.Error("a short row was accepted")
	}
}

func TestDisposition(t *testing.T) {
	got := Disposition("计划12走访.xlsx", "plan-12-visits.xlsx")
	want := `attachment; filename="plan-12-visits.xlsx"; filename*=UTF-8''%E8%AE%A1%E5%88%9212%E8%B5%B0%E8%AE%BF.xlsx`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := Disposition("a", `x"y;z`); !strings.Contains(got, `filename="x_y_z"`) {
		t.Errorf("fallback not cleaned: %s", got)
	}
}

func TestLang(t *testing.T) {
	for _, tc := range []struct{ query, accept, want string }{
		{"", "", ZH}, {"?lang=en", "", EN}, {"?lang=zh", "en-US", ZH}, {"", "en-US,en;q=0.9", EN},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", ZH}, {"", "fr", ZH}, {"?lang=xx", "en", EN},
	} {
		r := httptest.NewRequest("GET", "/x"+tc.query, nil)
		if tc.accept != "" {
			r.Header.Set("Accept-Language", tc.accept)
		}
		if got := Lang(r); got != tc.want {
			t.Errorf("%q %q: %s, want %s", tc.query, tc.accept, got, tc.want)
		}
	}
}

func TestSheetName(t *testing.T) {
	if got := sheetName("a/b:c[d]*e?f\\g 0123456789012345678901234567890"); len([]rune(got)) != 31 || strings.ContainsAny(got, `/:[]*?\`) {
		t.Errorf("%q", got)
	}
}
