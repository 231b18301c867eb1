package web

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/uscc"
)

var verbRe = regexp.MustCompile(`%(\[\d+\])?[-+# 0-9.]*[a-zA-Z%]`)

// TestDemandMessages: every refusal the demand form translates has its text
// in both languages with the same placeholders, and the form's labels exist.
func TestDemandMessages(t *testing.T) {
	verbs := func(s string) string { return strings.Join(verbRe.FindAllString(s, -1), " ") }
	for format, key := range apiReasons {
		m, ok := messages.Texts(key)
		if !ok {
			t.Errorf("%q: key %s not in the catalog", format, key)
			continue
		}
		if m[0] == "" || m[1] == "" {
			t.Errorf("%s: a language is missing", key)
		}
		if verbs(m[0]) != verbs(m[1]) {
			t.Errorf("%s: placeholders %q in zh, %q in en", key, verbs(m[0]), verbs(m[1]))
		}
	}
	for _, k := range messages.Keys() {
		if !strings.HasPrefix(k, "dem.") {
			continue
		}
		m, _ := messages.Texts(k)
		if verbs(m[0]) != verbs(m[1]) {
			t.Errorf("%s: placeholders %q in zh, %q in en", k, verbs(m[0]), verbs(m[1]))
		}
	}
	for _, f := range []string{"title", "source", "priority", "announce_days", "scenario_id", "businesses", "window",
		"department_id", "window.from", "window.to", "item_ids[3]", "sample", "sample.count", "sample.ratio",
		"sample.region_ids", "sample.industry_codes[0]", "sample.scenario_id", "sample.risk_codes[1]"} {
		field := formField(f)
		if field == "" {
			t.Errorf("API field %s has no form field", f)
			continue
		}
		if !messages.Has("dem.f." + field) {
			t.Errorf("form field %s (API %s) has no label", field, f)
		}
	}
	// A reason the form does not know is still said in Chinese.
	fe := domain.FieldError{Field: "title", Reason: "something new", Format: "something new"}
	if got := fieldMessage(LangZH, fe); got != "填写有误" {
		t.Errorf("unknown reason in zh: %q", got)
	}
	if got := fieldMessage(LangEN, fe); got != "something new" {
		t.Errorf("unknown reason in en: %q", got)
	}
	// Args the zh text leaves out do not show as %!(EXTRA …).
	v := &domain.ValidationError{}
	v.Add("sample.region_ids", "%s %d does not exist", "region", 42)
	if got := fieldMessage(LangZH, v.Fields[0]); got != "42 不存在" {
		t.Errorf("missing region: %q", got)
	}
}

// TestUSCCProblems names what is wrong with a code in each language.
func TestUSCCProblems(t *testing.T) {
	good, err := uscc.Complete("91330922MA2A0000X")
	if err != nil {
		t.Fatal(err)
	}
	wrongCheck := good[:17] + "0"
	if good[17] == '0' {
		wrongCheck = good[:17] + "1"
	}
	for _, c := range []struct{ code, zh, en string }{
		{good, "", ""},
		{"123", "应为 18 位，实际 3 位", "must be 18 characters, got 3"},
		{"91330922MA2A0000I" + "X", "第 17 位字符“I”不允许", "character 17 (I) is not allowed"},
		{"91AB0922MA2A00001X", "第 3 至 8 位为行政区划码，须为数字", "characters 3 to 8 are the division code and must be digits"},
		{wrongCheck, fmt.Sprintf("校验位为“%c”，应为“%c”", wrongCheck[17], good[17]), fmt.Sprintf("check character is %c, expected %c", wrongCheck[17], good[17])},
	} {
		if got := usccProblem(LangZH, c.code); got != c.zh {
			t.Errorf("%s zh: %q, want %q", c.code, got, c.zh)
		}
		if got := usccProblem(LangEN, c.code); got != c.en {
			t.Errorf("%s en: %q, want %q", c.code, got, c.en)
		}
	}
}

// TestCSVCodes reads the first column with line numbers, skipping a header
// and blank lines, and refuses a spreadsheet.
func TestCSVCodes(t *testing.T) {
	rows, err := csvCodes([]byte("\uFEFF统一社会信用代码,名称\r\n\r\n91330922MA2A00001X,店\n\"91330922MA2A00002X\"\n"))
	if err != nil || len(rows) != 2 || rows[0] != (csvCode{"91330922MA2A00001X", 3}) || rows[1] != (csvCode{"91330922MA2A00002X", 4}) {
		t.Fatalf("rows %+v err %v", rows, err)
	}
	// A bad code in the first row is a code, not a header.
	if rows, _ := csvCodes([]byte("91330922BAD\n")); len(rows) != 1 || rows[0].line != 1 {
		t.Errorf("first-row code: %+v", rows)
	}
	if _, err := csvCodes([]byte("PK\x03\x04rest")); err != errSpreadsheet {
		t.Errorf("xlsx: %v", err)
	}
}

// FuzzListInput: whatever is pasted or uploaded, reading it never panics,
// every code read comes from the input, and line numbers are positive.
func FuzzListInput(f *testing.F) {
	f.Add([]byte("91330922MA2A00001X\n91330922MA2A00002X,名称"))
	f.Add([]byte("\uFEFF\"a\"\"b\",c\n\"unterminated"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rows, _ := csvCodes(raw)
		if bytes.HasPrefix(raw, zipMagic) {
			rows, _ = xlsxCodes(raw)
		}
		for _, r := range rows {
			if r.line < 1 || r.code == "" {
				t.Fatalf("row %+v", r)
			}
		}
		for _, line := range strings.Split(string(raw), "\n") {
			for _, c := range splitCodes(line) {
				if !strings.Contains(line, c) {
					t.Fatalf("code %q not in line %q", c, line)
				}
				if msg := usccProblem(LangZH, strings.ToUpper(c)); msg == "" && uscc.Check(strings.ToUpper(c)) != nil {
					t.Fatalf("bad code %q passed", c)
				}
			}
		}
		if utf8.Valid(raw) {
			_ = usccProblem(LangEN, string(raw))
		}
	})
}

// TestDemandTemplatesStyled: every class the workspace's templates use has
// a rule in app.css (classes made from a value, dem-{{.State}}, are checked
// for each value).
func TestDemandTemplatesStyled(t *testing.T) {
	css, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, page := range []string{"demands.html", "demand_new.html"} {
		b, err := os.ReadFile("templates/" + page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range classAttr.FindAllStringSubmatch(string(b), -1) {
			for _, c := range strings.Fields(action.ReplaceAllString(m[1], " ")) {
				names := []string{c}
				if c == "dem-" {
					names = []string{"dem-open", "dem-planned", "dem-unplaced", "dem-done", "dem-cancelled"}
				}
				for _, c := range names {
					n++
					if !regexp.MustCompile(`\.` + regexp.QuoteMeta(c) + `([^-\w]|$)`).Match(css) {
						t.Errorf("class %q is used in %s and has no rule in app.css", c, page)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no classes found")
	}
}
