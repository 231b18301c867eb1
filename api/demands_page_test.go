package api

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// formReq posts a form to a page as who (bearer token) in lang ("" = zh);
// files maps a field to a file's content (then the form is multipart).
func (v *env) formReq(who, path, lang string, form url.Values, files map[string]string) (int, http.Header, string) {
	v.t.Helper()
	var body io.Reader
	ctype := "application/x-www-form-urlencoded"
	if files == nil {
		body = strings.NewReader(form.Encode())
	} else {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, vals := range form {
			for _, val := range vals {
				_ = mw.WriteField(k, val)
			}
		}
		for field, content := range files {
			w, err := mw.CreateFormFile(field, "list.csv")
			if err != nil {
				v.t.Fatal(err)
			}
			_, _ = io.WriteString(w, content)
		}
		_ = mw.Close()
		body, ctype = &buf, mw.FormDataContentType()
	}
	req, err := http.NewRequest("POST", v.srv.URL+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+v.tokens[who])
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

var fieldErrorRe = regexp.MustCompile(`<p class="field-error" data-field="([a-z_]+)">([^<]*)</p>`)

// fieldErrors are the refusals a form page shows, by field.
func fieldErrors(body string) map[string][]string {
	out := map[string][]string{}
	for _, m := range fieldErrorRe.FindAllStringSubmatch(body, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

// TestDemandFormPage: the demand form without script. The count button shows
// the sample's population; the list names every bad, repeated or
// unregistered code by its line (pasted or in an uploaded CSV); the API's
// refusals appear at the form's fields under their labels, in Chinese or in
// English; nothing refused is stored; a planner sees only its department's
// items and an admin chooses the department.
func TestDemandFormPage(t *testing.T) {
	v := newEnv(t)
	before := v.counts()[0]
	base := url.Values{"title": {"冬季检查"}, "item_id": {fmt.Sprint(v.itemA.ID)}, "window_from": {"2026-12-01"},
		"window_to": {"2026-12-31"}, "priority": {"3"}, "announce_days": {"0"}, "source": {"routine"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, vals := range base {
			f[k] = append([]string{}, vals...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}

	// The count button (no script): the population of the rule, the form kept.
	status, _, body := v.formReq("planner", "/demands/new", "", with("target", "sample", "industry", "h621",
		"size_kind", "count", "count", "1", "action", "count"), nil)
	if status != 200 || !strings.Contains(body, `data-population="1" data-expected="1"`) || !strings.Contains(body, "抽查总体 1 户，预计抽取 1 户") {
		t.Fatalf("count: %d %s", status, excerpt(body, "population"))
	}
	if !strings.Contains(body, `value="h621"`) || !strings.Contains(body, `value="冬季检查"`) {
		t.Error("the counted form lost what was filled in")
	}

	// A list with a bad code, an unregistered one and a repeat, pasted and
	// uploaded (header row, then codes with line numbers).
	unregistered := mustUSCC(t, 555)
	status, _, body = v.formReq("planner", "/demands/new", "", with("target", "list",
		"businesses", "91330922ABC\n"+unregistered+"\n"+v.bizA.USCC+"，"+v.bizA.USCC, "action", "submit"),
		map[string]string{"businesses_file": "\uFEFF统一社会信用代码,名称\n" + v.bizB.USCC + ",渔家乐\n" + v.bizB.USCC[:17] + "X,错\n"})
	errs := fieldErrors(body)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("bad list: %d", status)
	}
	want := []string{
		"企业名单：第 1 行 91330922ABC：应为 18 位，实际 11 位",
		"企业名单：第 3 行 " + v.bizA.USCC + "：与第 3 行重复",
		"企业名单：文件第 3 行 " + v.bizB.USCC[:17] + "X：校验位为“X”，应为“" + v.bizB.USCC[17:] + "”",
		"企业名单：第 2 行 " + unregistered + "：该市场主体未登记",
	}
	if strings.Join(errs["businesses"], "\n") != strings.Join(want, "\n") {
		t.Errorf("list refusals:\n%s\nwant:\n%s", strings.Join(errs["businesses"], "\n"), strings.Join(want, "\n"))
	}
	// The window ends before it starts: at the field, in Chinese, naming the label.
	status, _, body = v.formReq("planner", "/demands/new", "", with("target", "list", "businesses", v.bizA.USCC,
		"window_from", "2026-12-20", "window_to", "2026-12-10", "priority", "9", "action", "submit"), nil)
	errs = fieldErrors(body)
	if status != 422 || len(errs["window_to"]) != 1 || errs["window_to"][0] != "结束日期：结束日期（2026-12-10）早于开始日期（2026-12-20）" ||
		len(errs["priority"]) != 1 || errs["priority"][0] != "优先级：须在 1（最高）到 5 之间，现为 9" {
		t.Errorf("window and priority refusals: %d %v", status, errs)
	}
	for f, msgs := range errs {
		for _, m := range msgs {
			if regexp.MustCompile(`[a-z]{3,}|_`).MatchString(m) {
				t.Errorf("%s: %q shows English or a field name on the Chinese page", f, m)
			}
		}
	}
	// The same in English.
	_, _, body = v.formReq("planner", "/demands/new", "en", with("target", "list", "businesses", v.bizA.USCC,
		"window_from", "2026-12-20", "window_to", "2026-12-10", "action", "submit"), nil)
	if errs = fieldErrors(body); len(errs["window_to"]) != 1 || errs["window_to"][0] != "To: ends (2026-12-10) before the window starts (2026-12-20)" {
		t.Errorf("English refusal %v", errs)
	}
	// A sample without a size, items missing.
	_, _, body = v.formReq("planner", "/demands/new", "", with("target", "sample", "item_id", "", "size_kind", "count", "action", "submit"), nil)
	errs = fieldErrors(body)
	if len(errs["sample"]) != 1 || errs["sample"][0] != "抽取多少：请填写抽取数量或比例" || len(errs["item_ids"]) != 1 {
		t.Errorf("sample refusals %v", errs)
	}
	if n := v.counts()[0]; n != before {
		t.Fatalf("refused forms stored %d demands", n-before)
	}

	// Accepted: to /demands, where it is listed open.
	status, h, _ := v.formReq("planner", "/demands/new", "", with("target", "sample", "region_id", fmt.Sprint(v.town.ID),
		"risk", "yellow", "size_kind", "ratio", "ratio_pct", "50", "token", "00112233445566778899aabbccddeeff", "action", "submit"), nil)
	loc := h.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/demands?created=") {
		t.Fatalf("submit: %d %q", status, loc)
	}
	id := strings.TrimPrefix(loc, "/demands?created=")
	r := v.do("planner", "GET", "/api/v1/demands/"+id, nil)
	expect(t, r, 200, "the demand made by the form")
	var d struct {
		Sample struct {
			RegionIDs []int64  `json:"region_ids"`
			RiskCodes []string `json:"risk_codes"`
			Ratio     *float64
		}
		Window windowJSON
	}
	r.json(t, &d)
	if len(d.Sample.RegionIDs) != 1 || d.Sample.RegionIDs[0] != v.town.ID || d.Sample.Ratio == nil || *d.Sample.Ratio != 0.5 ||
		d.Window.To != "2026-12-31" {
		t.Errorf("stored %+v", d)
	}
	status, _, body = v.pageReq("planner", "GET", "/demands")
	if status != 200 || !strings.Contains(body, `id="demand-`+id+`" data-id="`+id+`" data-state="open"`) {
		t.Fatalf("/demands: %d", status)
	}

	status, _, body = v.pageReq("planner", "GET", "/demands?lang=en")
	if status != 200 || !strings.Contains(body, "My demands") || !strings.Contains(body, `data-state="open"`) {
		t.Fatalf("/demands in English: %d", status)
	}
	// A planner sees only its department's items; another planner's demand is not found.
	_, _, body = v.pageReq("planner", "GET", "/demands/new")
	if !strings.Contains(body, fmt.Sprintf(`id="item-%d"`, v.itemA.ID)) || strings.Contains(body, fmt.Sprintf(`id="item-%d"`, v.itemB.ID)) {
		t.Error("the planner's form offers another department's items, or not its own")
	}
	if status, _, _ := v.formReq("plannerB", "/demands/"+id+"/cancel", "", url.Values{"reason": {"x"}}, nil); status != 404 {
		t.Errorf("another department cancels: %d", status)
	}
	// An admin chooses the department first.
	_, _, body = v.pageReq("admin", "GET", "/demands/new")
	if !strings.Contains(body, `id="dem-dept"`) || strings.Contains(body, `id="dem-form"`) {
		t.Error("admin without a department: no choice offered, or a form anyway")
	}
	_, _, body = v.pageReq("admin", "GET", fmt.Sprintf("/demands/new?department_id=%d", v.deptB.ID))
	if !strings.Contains(body, fmt.Sprintf(`id="item-%d"`, v.itemB.ID)) || strings.Contains(body, fmt.Sprintf(`id="item-%d"`, v.itemA.ID)) {
		t.Error("admin's form for XFJY shows the wrong items")
	}
	for _, who := range []string{"inspector", "team_leader", "business"} {
		if status, _, _ := v.pageReq(who, "GET", "/demands"); status != 403 {
			t.Errorf("%s on /demands: %d", who, status)
		}
	}
	// The population for the page's script, in the page's language.
	status, _, body = v.pageReq("planner", "GET", "/demands/population?industry=H621&count=1")
	if status != 200 || !strings.Contains(body, `"population":1`) || !strings.Contains(body, `"text":"抽查总体 1 户，预计抽取 1 户。"`) {
		t.Errorf("page population: %d %s", status, body)
	}
	status, _, body = v.pageReq("planner", "GET", "/demands/population?ratio=5")
	if status != 422 || !strings.Contains(body, `"ratio_pct":"须大于 0 且不超过 100%"`) {
		t.Errorf("page population refusal: %d %s", status, body)
	}
}

func excerpt(body, near string) string {
	i := strings.Index(body, near)
	if i < 0 {
		return body[:min(len(body), 300)]
	}
	return body[max(0, i-100):min(len(body), i+300)]
}
