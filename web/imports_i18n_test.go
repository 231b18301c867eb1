package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"inspectonce/api"
	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
	"inspectonce/uscc"
)

var (
	impErrorRow = regexp.MustCompile(`(?s)<tr class="imp-error" data-line="(\d+)" data-field="([^"]*)"><td class="num">\d+</td><td class="code">([^<]*)</td><td>(.*?)</td></tr>`)
	// englishWord is a run of Latin letters a Chinese reason may not show,
	// but for the names of formats and the values a cell may take.
	englishWord  = regexp.MustCompile(`[A-Za-z]{3,}`)
	allowedWords = map[string]bool{"CSV": true, "UTF": true, "NUL": true, "CWE": true, "true": true, "false": true, "xlsx": true, "MiB": true}
	cellRef      = regexp.MustCompile(`^[A-Z]{1,3}[0-9]+$`)
)

// pageRowError is a refused line as the imports page shows it.
type pageRowError struct {
	line             int
	dataField, field string
	reason           string
}

func pageRowErrors(body string) []pageRowError {
	var out []pageRowError
	for _, m := range impErrorRow.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, pageRowError{line: n, dataField: html.UnescapeString(m[2]), field: html.UnescapeString(m[3]),
			reason: html.UnescapeString(m[4])})
	}
	return out
}

// englishIn is the first English word of s, "" when there is none.
func englishIn(s string) string {
	for _, w := range englishWord.FindAllString(s, -1) {
		if !allowedWords[w] {
			return w
		}
	}
	return ""
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestImportErrorsInChinese: a Chinese reader importing files with every
// kind of bad row, as a dry run and for real, reads every refusal in
// Chinese: no English sentence, and no column but as the file names it (or
// the column's Chinese label when the file lacks it, or a cell's
// reference). In English the reasons are the API's. The API adds each
// reason's code and its text in the request's language.
func TestImportErrorsInChinese(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testStart }
	res, err := seed.LoadAt(ctx, st, testStart)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	tokens := map[domain.Role]string{}
	for _, tk := range res.Tokens {
		tokens[tk.Role] = tk.Token
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httptest.NewServer(api.New(api.Options{Store: st, Config: cfg, Calendar: cal, Logger: log, Now: now}))
	t.Cleanup(srv.Close)

	var region, team, inspector string
	if err := st.SQL().QueryRowContext(ctx, `SELECT (SELECT code FROM regions ORDER BY id LIMIT 1),
		(SELECT code FROM teams ORDER BY id LIMIT 1), (SELECT code FROM inspectors ORDER BY id LIMIT 1)`).
		Scan(&region, &team, &inspector); err != nil {
		t.Fatal(err)
	}
	code := func(n int) string {
		c, err := uscc.Complete(fmt.Sprintf("91330922%09d", 900000000+n))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	badCheck := code(2)[:17] + "0"
	if badCheck == code(2) {
		badCheck = code(2)[:17] + "1"
	}

	post := func(kind, lang string, dry bool, name string, file []byte) (int, http.Header, string) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		_ = w.WriteField("kind", kind)
		if dry {
			_ = w.WriteField("dry_run", "true")
		}
		fw, err := w.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
		_ = w.Close()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/imports", &buf)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tokens[domain.RoleAdmin])
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	get := func(path, lang string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tokens[domain.RoleAdmin])
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	// headers are each file's columns as the file names them.
	type file struct {
		kind, name string
		body       []byte
		headers    []string
		// want are the refused lines in order, each with a piece of its
		// Chinese reason.
		want []string
	}
	csvFile := func(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }
	bizHead := "统一社会信用代码,企业名称,区域编码,行业代码,纬度,经度,风险码,名单,联系人"
	row := func(c, lat, risk, list, contact string) string {
		return fmt.Sprintf("%s,店,%s,H621,%s,120.1,%s,%s,%s", c, region, lat, risk, list, contact)
	}
	xlsxBook := func() []byte {
		f := excelize.NewFile()
		defer f.Close()
		sh := f.GetSheetName(0)
		for i, r := range [][]any{
			{"统一社会信用代码", "企业名称", "区域编码", "行业代码", "纬度", "经度"},
			{code(20), "店", region, "H621", 28.1, 120.1},
			{code(21), nil, region, "H621", 28.1, 120.1},
			{code(22), "店", region, "H621", 28.1, 120.1, "多余"},
		} {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sh, cell, &r); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.SetCellFormula(sh, "B3", `"店"&"铺"`); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	files := []file{
		{kind: store.ImportBusinesses, name: "企业.csv", body: csvFile(bizHead,
			row("9133", "28.1", "", "", ""),                                        // 2
			strings.Replace(row(code(3), "28.1", "", "", ""), region, "不存在", 1),    // 3
			strings.Replace(row(code(4), "28.1", "", "", ""), "H621", "X99999", 1), // 4
			row(code(5), "北纬", "", "", ""),                                         // 5
			row(code(6), "91", "", "", ""),                                         // 6
			row(code(7), "28.1", "紫", "", ""),                                      // 7
			row(code(8), "28.1", "", "其他", ""),                                     // 8
			row(code(9), "28.1", "", "", "=1+1"),                                   // 9
			row(code(10), "28.1", "", "", ""),                                      // 10 good
			row(code(10), "28.1", "", "", ""),                                      // 11
			row(badCheck, "28.1", "", "", ""),                                      // 12
			code(13)+",店",                                                          // 13
			row(code(14), "28.1", "", "", `联系"人`),                                  // 14
		), headers: strings.Split(bizHead, ","), want: []string{
			"统一社会信用代码应为 18 位", "没有区域编码", "不是行业代码", "不是以度为单位的十进制数", "超出范围",
			"不是风险码", "不是名单类别", "会被电子表格当作公式执行", "已在第 10 行出现", "校验位为", "个字段，表头有", "CSV 格式有误"}},
		{kind: store.ImportBusinesses, name: "缺列.csv", body: csvFile("统一社会信用代码,企业名称,区域编码,行业代码",
			code(30)+",店,"+region+",H621"), want: []string{"新登记的市场主体必须填写", "新登记的市场主体必须填写"}},
		{kind: store.ImportBusinesses, name: "企业.xlsx", body: xlsxBook(), headers: []string{"企业名称"}, want: []string{"是公式", "所在列没有表头"}},
		{kind: store.ImportInspectors, name: "人员.csv", body: csvFile("执法证号,姓名,队伍编码,资格领域,队长,回避",
			"!!,张三,"+team+",food,是,",
			"ZF-T-2,张三,无此队,food,是,",
			"ZF-T-3,张三,"+team+",9x,是,",
			"ZF-T-4,张三,"+team+",food,也许,",
			"ZF-T-5,张三,"+team+",food,是,12",
			"ZF-T-6,张三,"+team+",food,是,"+code(40),
			"ZF-T-7,,"+team+",food,是,",
		), headers: []string{"执法证号", "姓名", "队伍编码", "资格领域", "队长", "回避"}, want: []string{
			"不是执法证号", "没有队伍编码", "不是资格领域", "不是“是”或“否”", "应为 18 位", "尚未登记", "新登记的执法人员必须填写"}},
		{kind: store.ImportUnavailability, name: "请假.csv", body: csvFile("执法证号,开始日期,结束日期,原因",
			"无此人,2027-01-04,2027-01-05,培训",
			inspector+",明天,2027-01-05,培训",
			inspector+",2027-01-05,2027-01-04,培训",
			inspector+",2027-01-01,2029-01-01,培训",
			inspector+",2027-01-04,2027-01-05,",
			",2027-01-04,2027-01-05,培训",
			inspector+",,2027-01-05,培训",
			inspector+",2027-02-01,2027-02-02,培训",
			inspector+",2027-02-01,2027-02-02,培训",
		), headers: []string{"执法证号", "开始日期", "结束日期", "原因"}, want: []string{
			"没有执法证号为", "不是日期", "不能早于开始日期", "时间段最长", "请说明原因", "执法人员的执法证号", "日期，格式为", "相同的请假已在第 9 行出现"}},
		{kind: store.ImportClosures, name: "停工.csv", body: csvFile("区域,队伍,开始日期,结束日期,原因",
			region+","+team+",2027-01-04,2027-01-05,台风",
			",,2027-01-04,2027-01-05,台风",
			"不存在,,2027-01-04,2027-01-05,台风",
			",无此队,2027-01-04,2027-01-05,台风",
			region+",,2027-02-01,2027-02-02,台风",
			region+",,2027-02-01,2027-02-02,台风",
		), headers: []string{"区域", "队伍", "开始日期", "结束日期", "原因"}, want: []string{
			"区域和队伍只能填一个", "停工的区域或队伍", "没有区域编码", "没有队伍编码", "相同的停工已在第 6 行出现"}},
	}
	labels := map[string]string{"lat": "纬度", "lng": "经度", "name": "企业名称"}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			status, _, body := post(f.kind, "", true, f.name, f.body)
			if status != http.StatusOK {
				t.Fatalf("dry run: %d %s", status, body)
			}
			got := pageRowErrors(body)
			if len(got) != len(f.want) {
				t.Fatalf("%d refused lines shown, want %d: %+v", len(got), len(f.want), got)
			}
			for i, e := range got {
				if !strings.Contains(e.reason, f.want[i]) {
					t.Errorf("line %d: %q, want it to say %q", e.line, e.reason, f.want[i])
				}
				if !hasHan(e.reason) {
					t.Errorf("line %d: %q is not Chinese", e.line, e.reason)
				}
				if w := englishIn(e.reason); w != "" {
					t.Errorf("line %d: %q shows the English word %q", e.line, e.reason, w)
				}
				switch {
				case e.field == "", cellRef.MatchString(e.field), strings.Contains(strings.Join(f.headers, ","), e.field) && hasHan(e.field):
				case hasHan(e.field) && e.field == labels[e.dataField]:
				default:
					t.Errorf("line %d: column %q is not as the file names it", e.line, e.field)
				}
			}
		})
	}

	// A file refused as a whole: named at the file's field, in Chinese.
	fileErr := regexp.MustCompile(`<span class="error field-error" data-field="file">([^<]*)</span>`)
	for _, c := range []struct{ kind, body, want string }{
		{store.ImportBusinesses, "甲,乙\n1,2\n", `文件或选项被拒绝：表头：第一行 "甲,乙" 中没有可识别的列：文件须为逗号分隔的 UTF-8 文本，第一行为列名（例如 统一社会信用代码，企业名称，区域编码，行业代码，纬度，经度）`},
		{store.ImportBusinesses, "企业名称,区域编码\n店,1\n", "文件或选项被拒绝：统一社会信用代码：缺少必需的列：列名应为 统一社会信用代码"},
		{store.ImportClosures, "开始日期,结束日期,原因\n2027-01-04,2027-01-05,台风\n", "文件或选项被拒绝：区域：缺少列：须有区域列（区域）或队伍列（队伍）"},
	} {
		status, _, body := post(c.kind, "", true, "f.csv", []byte(c.body))
		m := fileErr.FindStringSubmatch(body)
		if status != http.StatusBadRequest || m == nil || html.UnescapeString(m[1]) != c.want {
			t.Errorf("file refused: %d %q\nwant %q", status, m, c.want)
		}
	}

	// The English page shows the API's reasons.
	_, _, body := post(store.ImportBusinesses, "en", true, "企业.csv", files[0].body)
	if got := pageRowErrors(body); len(got) == 0 || got[0].reason != "invalid unified social credit code: must be 18 characters, got 4" {
		t.Errorf("English page: %+v", got)
	}

	// For real: the job's page reads the stored reasons back in Chinese.
	status, h, body := post(store.ImportBusinesses, "", false, "企业.csv", files[0].body)
	if status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", status, body)
	}
	jobPath := h.Get("Location")
	var jobBody string
	for range 200 {
		_, jobBody = get(jobPath, "")
		if strings.Contains(jobBody, `data-status="done"`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := pageRowErrors(jobBody)
	if len(got) != len(files[0].want) {
		t.Fatalf("job page: %d refused lines, want %d", len(got), len(files[0].want))
	}
	for i, e := range got {
		if !strings.Contains(e.reason, files[0].want[i]) || englishIn(e.reason) != "" {
			t.Errorf("job page line %d: %q", e.line, e.reason)
		}
	}

	// The API: reason stays English, with the code and the message.
	id := strings.TrimPrefix(jobPath, "/imports/")
	status, apiBody := get("/api/v1/imports/"+id, "")
	var job struct {
		Errors []struct{ Reason, Code, Message string } `json:"errors"`
	}
	if err := json.Unmarshal([]byte(apiBody), &job); status != 200 || err != nil || len(job.Errors) == 0 {
		t.Fatalf("API job: %d %v", status, err)
	}
	first := job.Errors[0]
	if first.Reason != "invalid unified social credit code: must be 18 characters, got 4" || first.Code != "imp.reject.uscc_length" ||
		first.Message != "统一社会信用代码应为 18 位，实际 4 位" {
		t.Errorf("API error %+v", first)
	}
	_, apiBody = get("/api/v1/imports/"+id+"?lang=en", "")
	if err := json.Unmarshal([]byte(apiBody), &job); err != nil || job.Errors[0].Message != job.Errors[0].Reason {
		t.Errorf("API error in English %+v", job.Errors[0])
	}
}
