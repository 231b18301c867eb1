package csvimport_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"inspectonce/csvimport"
	"inspectonce/store/storetest"
)

// workbook builds an .xlsx file whose first sheet holds rows from A1; a
// value starting with "=" becomes a formula cell.
func workbook(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, row := range rows {
		for c, v := range row {
			ref, err := excelize.CoordinatesToCellName(c+1, r+1)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := v.(string); ok && strings.HasPrefix(s, "=") {
				err = f.SetCellFormula("Sheet1", ref, s[1:])
			} else {
				err = f.SetCellValue("Sheet1", ref, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBusinessesXLSX: an .xlsx register loads like its CSV: the dry run
// reports the new rows and the refused ones by the row number Excel shows,
// and the import loads the good rows and refuses the same ones.
func TestBusinessesXLSX(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	data := workbook(t,
		[]any{"统一社会信用代码", "企业名称", "区域编码", "行业代码", "纬度", "经度", "风险码"},
		[]any{"91330922000000001H", "嵊泗海鲜酒家", "330922", "H621", 30.72, 122.45, "红"},
		[]any{"91330922000000002L", "=B2", "330922", "H621", 30.72, 122.45, "黄"},
		[]any{"91330922000000003P", "菜园镇便利店", "330922", "H621", 95, 122.45, "绿"},
	)
	rep, err := csvimport.DryRunBusinesses(ctx, st, actor, bytes.NewReader(data), csvimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsNew != 1 || rep.RowsRejected != 2 || !equal(lines(rep.Errors), []int{3, 4}) {
		t.Fatalf("dry run %+v", rep)
	}
	if r := reason(rep.Errors, 3, "企业名称"); !strings.Contains(r, "B3 holds a formula") {
		t.Errorf("row 3: %q", r)
	}
	if _, err := st.GetBusiness(ctx, "91330922000000001H"); err == nil {
		t.Fatal("the dry run loaded a row")
	}
	job, err := csvimport.Businesses(ctx, st, actor, bytes.NewReader(data), csvimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if job.RowsLoaded != 1 || job.RowsRejected != 2 || !equal(lines(job.Errors), []int{3, 4}) {
		t.Fatalf("job %+v", job)
	}
	if r := reason(job.Errors, 4, "纬度"); !strings.Contains(r, "out of range") {
		t.Errorf("row 4: %q", r)
	}
	b, err := st.GetBusiness(ctx, "91330922000000001H")
	if err != nil || b.Name != "嵊泗海鲜酒家" || b.Lat != 30.72 || b.RiskCode != "red" {
		t.Fatalf("loaded %+v %v", b, err)
	}
}

func equal(a, b []int) bool {
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
