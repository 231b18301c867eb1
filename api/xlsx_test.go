package api

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"inspectonce/xlsxout"
)

// readXLSX opens a download and checks the headers every workbook is sent
// with; it returns the file and the rows of its first sheet.
func readXLSX(t *testing.T, r resp, sheet, fileName string) (*excelize.File, [][]string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != xlsxout.ContentType {
		t.Fatalf("Content-Type %q, body %.200s", ct, r.Body)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; ") || !strings.Contains(cd, fileName) {
		t.Errorf("Content-Disposition %q, want the file name %s", cd, fileName)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if list := f.GetSheetList(); len(list) == 0 || list[0] != sheet {
		t.Fatalf("sheets %v, want %s first", list, sheet)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("%s: header row not frozen: %+v %v", sheet, panes, err)
	}
	return f, rows
}

// header checks a sheet's header row against its layout in lang.
func header(t *testing.T, rows [][]string, s xlsxout.Sheet, lang string) {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no header row")
	}
	for i, c := range s.Columns {
		want := c.ZH
		if lang == xlsxout.EN {
			want = c.EN
		}
		if i >= len(rows[0]) || rows[0][i] != want {
			t.Fatalf("header %q, want %q in column %d", rows[0], want, i+1)
		}
	}
}

// dateCell checks that a cell is a date (a number in a date format), not text.
func dateCell(t *testing.T, f *excelize.File, sheet, cell, want string) {
	t.Helper()
	if got, _ := f.GetCellValue(sheet, cell); got != want {
		t.Errorf("%s = %q, want %q", cell, got, want)
	}
	typ, _ := f.GetCellType(sheet, cell)
	id, _ := f.GetCellStyle(sheet, cell)
	st, err := f.GetStyle(id)
	if typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString || err != nil || st.CustomNumFmt == nil ||
		!strings.HasPrefix(*st.CustomNumFmt, "yyyy-mm-dd") {
		t.Errorf("%s is not a date cell: type %v, style %+v", cell, typ, st)
	}
}

// TestXLSXDownloads: a plan's visits, a roster, demands and published
// results download as .xlsx under the same roles and scope as their JSON,
// and read back with the expected sheet, headers, rows, date cells and
// frozen header; text a spreadsheet could run stays a string cell.
func TestXLSXDownloads(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	planID := v.publishedVisitWithResults()
	if err := v.st.ExecForTest(ctx, fmt.Sprintf(`UPDATE businesses SET name = '=HYPERLINK("http://x","y")' WHERE uscc = '%s'`, v.bizA.USCC)); err != nil {
		t.Fatal(err)
	}
	if n, err := v.st.PublishReports(ctx, "publisher", 100); err != nil || n != 1 {
		t.Fatalf("publish: %d %v", n, err)
	}
	day := testToday.AddDate(0, 0, -1).Format("2006-01-02")

	t.Run("plan visits", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/plans/%d/visits?format=xlsx", planID)
		f, rows := readXLSX(t, v.do("admin", "GET", path, nil), "走访", fmt.Sprintf("plan-%d-visits.xlsx", planID))
		header(t, rows, xlsxout.PlanVisitsSheet, xlsxout.ZH)
		if len(rows) != 2 {
			t.Fatalf("rows %q", rows)
		}
		r := rows[1]
		if r[0] != "1" || r[2] != v.team.Name || r[4] != v.bizA.USCC || r[5] != `=HYPERLINK("http://x","y")` ||
			r[6] != v.deptA.Name+"、"+v.deptB.Name || r[7] != v.itemA.Name+"、"+v.itemB.Name || !strings.HasPrefix(r[8], v.inspector.Name) || r[9] != "45" {
			t.Errorf("visit row %q", r)
		}
		dateCell(t, f, "走访", "B2", day)
		if formula, _ := f.GetCellFormula("走访", "F2"); formula != "" {
			t.Errorf("the business name became a formula: %q", formula)
		}
		// A planner sees its own department's tasks only, as in JSON.
		_, rows = readXLSX(t, v.do("plannerB", "GET", path, nil), "走访", "visits")
		if len(rows) != 2 || rows[1][7] != v.itemB.Name {
			t.Errorf("planner B's visits %q", rows)
		}
		// English on request, in the headers and the sheet's name.
		_, rows = readXLSX(t, v.do("admin", "GET", path+"&lang=en", nil), "Visits", "visits")
		header(t, rows, xlsxout.PlanVisitsSheet, xlsxout.EN)
		expect(t, v.do("inspector", "GET", path, nil), 403, "an inspector's plan visits")
		expect(t, v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits?format=pdf", planID), nil), 422, "format=pdf")
		expect(t, v.do("admin", "GET", "/api/v1/plans/999999/visits?format=xlsx", nil), 404, "an unknown plan")
	})

	t.Run("roster", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/teams/%d/rosters/%s?format=xlsx", v.team.ID, day)
		f, rows := readXLSX(t, v.do("team_leader", "GET", path, nil), "排班表", "roster-"+v.team.Code+"-"+day+".xlsx")
		header(t, rows, xlsxout.RosterSheet, xlsxout.ZH)
		if len(rows) != 2 || rows[1][3] != v.bizA.USCC || !strings.Contains(rows[1][8], v.itemA.Name) {
			t.Fatalf("roster rows %q", rows)
		}
		dateCell(t, f, "排班表", "B2", day)
		cd := v.do("team_leader", "GET", path, nil).Header.Get("Content-Disposition")
		if !strings.Contains(cd, "filename*=UTF-8''"+v.team.Code+"%E6%8E%92%E7%8F%AD%E8%A1%A8"+day+".xlsx") {
			t.Errorf("Content-Disposition %q lacks the Chinese name", cd)
		}
		expect(t, v.do("planner", "GET", path, nil), 403, "a planner's roster")
		expect(t, v.do("team_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/2026-13-01?format=xlsx", v.team.ID), nil), 422, "a bad date")
	})

	t.Run("demands", func(t *testing.T) {
		f, rows := readXLSX(t, v.do("planner", "GET", "/api/v1/demands?format=xlsx", nil), "检查需求", "demands.xlsx")
		header(t, rows, xlsxout.DemandsSheet, xlsxout.ZH)
		if len(rows) != 2 || rows[1][1] != v.deptA.Name || rows[1][3] != "有效" || rows[1][9] != "名单：1 家" {
			t.Fatalf("planner A's demands %q", rows)
		}
		dateCell(t, f, "检查需求", "G2", testToday.AddDate(0, 0, -10).Format("2006-01-02"))
		_, rows = readXLSX(t, v.do("admin", "GET", "/api/v1/demands?format=xlsx", nil), "检查需求", "demands.xlsx")
		if len(rows) != 3 {
			t.Errorf("admin's demands %q", rows)
		}
		_, rows = readXLSX(t, v.do("planner", "GET", fmt.Sprintf("/api/v1/demands?format=xlsx&department_id=%d", v.deptB.ID), nil),
			"检查需求", "demands.xlsx")
		if len(rows) != 1 {
			t.Errorf("planner A asking for B's demands got %q", rows)
		}
		expect(t, v.do("team_leader", "GET", "/api/v1/demands?format=xlsx", nil), 403, "a team leader's demands")
	})

	t.Run("results", func(t *testing.T) {
		f, rows := readXLSX(t, v.do("", "GET", "/api/v1/open-data/results.xlsx", nil), "检查结果", "results.xlsx")
		header(t, rows, xlsxout.ResultsSheet, xlsxout.ZH)
		if len(rows) != 3 || rows[1][5] != v.deptA.Name || rows[1][8] != "违法" || rows[2][8] != "合规" {
			t.Fatalf("results %q", rows)
		}
		dateCell(t, f, "检查结果", "A2", day)
		dateCell(t, f, "检查结果", "K2", "2026-12-31")
		if typ, _ := f.GetCellType("检查结果", "C2"); typ != excelize.CellTypeInlineString {
			t.Errorf("the business name is not a string cell: %v", typ)
		}
		_, rows = readXLSX(t, v.do("", "GET", "/api/v1/open-data/results.xlsx?department=xfjy", nil), "检查结果", "results-XFJY.xlsx")
		if len(rows) != 2 || rows[1][5] != v.deptB.Name {
			t.Errorf("XFJY's results %q", rows)
		}
		expect(t, v.do("", "GET", "/api/v1/open-data/results.xlsx?from=2026-12-01&to=2026-11-01", nil), 422, "to before from")
	})

	t.Run("pages", func(t *testing.T) {
		visits := fmt.Sprintf("/plans/%d/visits.xlsx", planID)
		roster := fmt.Sprintf("/teams/%d/rosters/%s/roster.xlsx", v.team.ID, day)
		for _, c := range []struct {
			who, path string
			status    int
			sheet     string
		}{
			{"admin", visits, 200, "走访"}, {"plannerB", visits, 200, "走访"}, {"inspector", visits, 403, ""},
			{"team_leader", roster, 200, "排班表"}, {"inspector", roster, 200, "排班表"}, {"planner", roster, 403, ""},
		} {
			status, h, body := v.pageReq(c.who, "GET", c.path)
			if status != c.status {
				t.Errorf("%s as %s: %d, want %d", c.path, c.who, status, c.status)
				continue
			}
			if c.status != 200 {
				continue
			}
			if h.Get("Content-Type") != xlsxout.ContentType {
				t.Errorf("%s: Content-Type %q", c.path, h.Get("Content-Type"))
			}
			f, err := excelize.OpenReader(strings.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", c.path, err)
			}
			rows, err := f.GetRows(c.sheet)
			if err != nil || len(rows) != 2 {
				t.Errorf("%s as %s: rows %q %v", c.path, c.who, rows, err)
			}
			_ = f.Close()
		}
		// The pages link their downloads.
		for _, c := range []struct{ who, page, link string }{
			{"admin", fmt.Sprintf("/plans/%d", planID), visits},
			{"team_leader", fmt.Sprintf("/teams/%d/rosters/%s", v.team.ID, day), roster},
		} {
			if status, body := v.pageAs(c.who, c.page); status != 200 || !strings.Contains(body, `href="`+c.link+`"`) {
				t.Errorf("%s (%d) does not link %s", c.page, status, c.link)
			}
		}
		if res := v.page("/results"); !strings.Contains(res, `id="export-xlsx" href="/api/v1/open-data/results.xlsx?`) {
			t.Errorf("the results page does not link the workbook")
		}
	})
}

// TestImportXLSX: the registry imports take an .xlsx body (by its media
// type) with the CSV's checks: the dry run and the import report a bad row
// by the row number Excel shows, and a formula cell by its cell; a body
// declared .xlsx that is not one is a 422 naming the file.
func TestImportXLSX(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range [][]any{
		{"统一社会信用代码", "企业名称", "区域编码", "行业代码", "纬度", "经度"},
		{mustUSCC(t, 41), "新开的面馆", v.grid.Code, "H621", 30.71, 122.44},
		{},
		{mustUSCC(t, 42), "坐标错了", v.grid.Code, "H621", 300, 122.44},
		{mustUSCC(t, 43), nil, v.grid.Code, "H621", 30.7, 122.4},
	} {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetCellFormula("Sheet1", "B5", `"面"&"馆"`); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	post := func(query string, body []byte) resp {
		return v.do("admin", "POST", "/api/v1/imports/businesses"+query, body, "Content-Type", xlsxout.ContentType)
	}
	type rowError struct {
		Line   int    `json:"line"`
		Field  string `json:"field"`
		Reason string `json:"reason"`
	}
	var rep struct {
		RowsNew      int        `json:"rows_new"`
		RowsRejected int        `json:"rows_rejected"`
		RowsLoaded   int        `json:"rows_loaded"`
		Errors       []rowError `json:"errors"`
	}
	check := func(what string) {
		t.Helper()
		if rep.RowsRejected != 2 || len(rep.Errors) != 2 || rep.Errors[0].Line != 4 || rep.Errors[0].Field != "纬度" ||
			rep.Errors[1].Line != 5 || rep.Errors[1].Field != "企业名称" || !strings.Contains(rep.Errors[1].Reason, "B5") {
			t.Fatalf("%s: %+v", what, rep)
		}
	}
	r := post("?dry_run=true", buf.Bytes())
	expect(t, r, 200, "dry run of an .xlsx file")
	r.json(t, &rep)
	check("dry run")
	if rep.RowsNew != 1 {
		t.Errorf("dry run: %d new rows, want 1", rep.RowsNew)
	}
	if _, err := v.st.GetBusiness(ctx, mustUSCC(t, 41)); err == nil {
		t.Fatal("the dry run loaded a row")
	}
	r = post("", buf.Bytes())
	expect(t, r, 200, "import of an .xlsx file")
	r.json(t, &rep)
	check("import")
	if b, err := v.st.GetBusiness(ctx, mustUSCC(t, 41)); err != nil || b.Name != "新开的面馆" || b.Lat != 30.71 {
		t.Errorf("loaded %+v %v", b, err)
	}
	r = post("", []byte("uscc,name\n"))
	expect(t, r, 422, "CSV sent as .xlsx")
	if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "file" {
		t.Errorf("CSV sent as .xlsx: %s", r.Body)
	}
	expect(t, v.do("admin", "POST", "/api/v1/imports/businesses", buf.Bytes(), "Content-Type", "application/pdf"), 415, "a PDF")
}
