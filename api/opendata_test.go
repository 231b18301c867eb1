package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"inspectonce/csvout"
)

// TestOpenDataCSVNeutralisedAndNamed: cells that a spreadsheet would run as
// formulas, put straight into the database (as an import of old could
// leave them), come out of the public CSV neutralised, in every column;
// the file starts with a UTF-8 BOM; the public sees department names (CSV,
// JSON and the /results page); and published_at is the same instant, in the
// county's zone with its offset, in JSON and CSV.
func TestOpenDataCSVNeutralisedAndNamed(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	planID := v.publishedVisitWithResults()
	for _, q := range []string{
		fmt.Sprintf(`UPDATE businesses SET name = '=HYPERLINK("http://x","y")' WHERE uscc = '%s'`, v.bizA.USCC),
		fmt.Sprintf(`UPDATE task_results SET rule_cited = '+SUM(1+1)' WHERE plan_id = %d AND department_id = %d`, planID, v.deptA.ID),
		fmt.Sprintf(`UPDATE items SET name = '-1+1', legal_basis = '@SUM(A1)' WHERE id = %d`, v.itemA.ID),
		fmt.Sprintf(`UPDATE items SET name = E'\t=1+2', legal_basis = E'\r=3+4' WHERE id = %d`, v.itemB.ID),
		fmt.Sprintf(`UPDATE inspectors SET name = '=1+2' WHERE id = %d`, v.inspector.ID),
	} {
		if err := v.st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := v.st.PublishReports(ctx, "publisher", 100); err != nil || n != 1 {
		t.Fatalf("publish: %d %v", n, err)
	}

	r := v.do("", "GET", "/api/v1/open-data/results.csv", nil)
	expect(t, r, 200, "open data CSV")
	if !strings.HasPrefix(string(r.Body), csvout.BOM) {
		t.Fatalf("the CSV does not start with a UTF-8 BOM: %q", r.Body[:min(len(r.Body), 20)])
	}
	rows, err := csv.NewReader(csvout.StripBOM(strings.NewReader(string(r.Body)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(ResultsCSVHeader, ",") {
		t.Fatalf("CSV rows %q", rows)
	}
	col := map[string]int{}
	for i, h := range ResultsCSVHeader {
		col[h] = i
	}
	a, b := rows[1], rows[2] // ordered by department code: SCJG, XFJY
	for _, c := range []struct{ name, got, want string }{
		{"business_name", a[col["business_name"]], `'=HYPERLINK("http://x","y")`},
		{"rule_cited", a[col["rule_cited"]], "'+SUM(1+1)"},
		{"item_name", a[col["item_name"]], "'-1+1"},
		{"legal_basis", a[col["legal_basis"]], "'@SUM(A1)"},
		{"item_name B", b[col["item_name"]], "'\t=1+2"},
		{"legal_basis B", b[col["legal_basis"]], "'\r=3+4"},
		{"inspectors", a[col["inspectors"]], "'=1+2; 李强"},
		{"department_name", a[col["department_name"]], v.deptA.Name},
		{"department_code", a[col["department_code"]], v.deptA.Code},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	for i, row := range rows[1:] {
		for j, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d %s = %q starts with a formula character", i+2, ResultsCSVHeader[j], cell)
			}
		}
	}
	if d := b[col["draws"]]; !strings.Contains(d, v.deptB.Name) {
		t.Errorf("draws %q do not name the department", d)
	}

	r = v.do("", "GET", "/api/v1/open-data/results.json", nil)
	expect(t, r, 200, "open data JSON")
	var page struct {
		Items []struct {
			PublishedAt string `json:"published_at"`
			PublishDue  string `json:"publish_due"`
			Items       []struct {
				DepartmentCode string `json:"department_code"`
				DepartmentName string `json:"department_name"`
			} `json:"items"`
			Draws []struct {
				DepartmentName string `json:"department_name"`
			} `json:"draws"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || len(page.Items[0].Items) != 2 || len(page.Items[0].Draws) != 1 {
		t.Fatalf("open data JSON: %s", r.Body)
	}
	got := page.Items[0]
	if got.Items[0].DepartmentName != v.deptA.Name || got.Items[1].DepartmentName != v.deptB.Name ||
		got.Draws[0].DepartmentName != v.deptB.Name {
		t.Errorf("JSON department names: %s", r.Body)
	}
	if csvAt := a[col["published_at"]]; got.PublishedAt != csvAt || !strings.HasSuffix(csvAt, "+08:00") {
		t.Errorf("published_at: JSON %q, CSV %q; want the same instant with the county's offset +08:00", got.PublishedAt, csvAt)
	}
	if got.PublishDue != a[col["publish_due"]] {
		t.Errorf("publish_due: JSON %q, CSV %q", got.PublishDue, a[col["publish_due"]])
	}

	res := v.page("/results")
	if !strings.Contains(res, v.deptA.Name) || !strings.Contains(res, v.deptB.Name) {
		t.Errorf("the public results page does not name the departments: %s", res)
	}
}
