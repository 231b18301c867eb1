package api

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// listWorkbook is an .xlsx file whose first sheet has a header row, an
// empty row and then codes in its first column (a name beside each).
func listWorkbook(t *testing.T, codes ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sh := f.GetSheetName(0)
	rows := [][]any{{"统一社会信用代码", "名称"}, {}}
	for _, c := range codes {
		rows = append(rows, []any{c, "店"})
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sh, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// postWorkbook posts the demand form as a planner with file as its
// businesses_file, named list.xlsx, in lang ("" = zh).
func (v *env) postWorkbook(form url.Values, file []byte, lang string) (int, http.Header, string) {
	v.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vals := range form {
		for _, val := range vals {
			_ = mw.WriteField(k, val)
		}
	}
	w, err := mw.CreateFormFile("businesses_file", "list.xlsx")
	if err != nil {
		v.t.Fatal(err)
	}
	_, _ = w.Write(file)
	_ = mw.Close()
	req, err := http.NewRequest("POST", v.srv.URL+"/demands/new", &buf)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+v.tokens["planner"])
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestDemandFormXLSX: the demand form takes its list from an .xlsx upload
// as from a CSV one. A bad code is named at the field with its row as Excel
// numbers it, in the page's language, and nothing is stored; with good codes
// the demand is made with exactly those targets.
func TestDemandFormXLSX(t *testing.T) {
	v := newEnv(t)
	before := v.counts()[0]
	form := url.Values{"title": {"表格名单"}, "item_id": {fmt.Sprint(v.itemA.ID)}, "window_from": {"2026-12-01"},
		"window_to": {"2026-12-31"}, "priority": {"3"}, "announce_days": {"0"}, "source": {"routine"},
		"target": {"list"}, "action": {"submit"}}
	bad := v.bizB.USCC[:17] + "X"
	if bad == v.bizB.USCC {
		bad = v.bizB.USCC[:17] + "Y"
	}
	book := listWorkbook(t, v.bizA.USCC, bad)

	status, _, body := v.postWorkbook(form, book, "")
	errs := fieldErrors(body)
	want := "企业名单：表格第 4 行 " + bad + "：校验位为“" + bad[17:] + "”，应为“" + v.bizB.USCC[17:] + "”"
	if status != http.StatusUnprocessableEntity || strings.Join(errs["businesses"], "\n") != want || len(errs["businesses_file"]) != 0 {
		t.Fatalf("bad code in a workbook: %d %v\nwant businesses: %s", status, errs, want)
	}
	_, _, body = v.postWorkbook(form, book, "en")
	errs = fieldErrors(body)
	want = "Business list: sheet row 4 " + bad + ": check character is " + bad[17:] + ", expected " + v.bizB.USCC[17:]
	if strings.Join(errs["businesses"], "\n") != want {
		t.Errorf("in English: %v\nwant %s", errs, want)
	}
	if n := v.counts()[0]; n != before {
		t.Fatalf("a refused workbook stored %d demands", n-before)
	}

	// Not a workbook after all: named at the file's field.
	status, _, body = v.postWorkbook(form, []byte("PK\x03\x04 not a zip"), "")
	if errs := fieldErrors(body); status != 422 || len(errs["businesses_file"]) != 1 ||
		errs["businesses_file"][0] != "CSV 或 Excel 文件：无法读取该 Excel 文件，请确认是 .xlsx 格式" {
		t.Errorf("broken workbook: %d %v", status, errs)
	}

	status, h, _ := v.postWorkbook(form, listWorkbook(t, v.bizA.USCC, strings.ToLower(v.bizB.USCC)), "")
	loc := h.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/demands?created=") {
		t.Fatalf("good workbook: %d %q", status, loc)
	}
	r := v.do("planner", "GET", "/api/v1/demands/"+strings.TrimPrefix(loc, "/demands?created="), nil)
	expect(t, r, 200, "the demand made from the workbook")
	var d struct {
		Businesses []string `json:"businesses"`
	}
	r.json(t, &d)
	if strings.Join(d.Businesses, ",") != v.bizA.USCC+","+v.bizB.USCC {
		t.Errorf("targets %v, want %s and %s", d.Businesses, v.bizA.USCC, v.bizB.USCC)
	}
}
