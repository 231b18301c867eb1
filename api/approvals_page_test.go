package api

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"inspectonce/store"
)

// pageForm posts form to a page as who (bearer token), in language lang
// ("" = none: Chinese), not following redirects.
func (v *env) pageForm(who, path, lang string, form url.Values) (int, http.Header, string) {
	v.t.Helper()
	req, err := http.NewRequest("POST", v.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
	body, err := io.ReadAll(res.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

// fieldError is the text shown at field on a page, "" when none.
func fieldError(body, field string) string {
	m := regexp.MustCompile(`<p class="field-error"[^>]*data-field="` + regexp.QuoteMeta(field) + `"[^>]*>([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestPlanWorkspacePages: a coordinator starts a run from /plans (errors at
// the fields, in Chinese), sees the draft's approval step, cannot publish it
// before approving it with an opinion, then publishes from the page; each
// step is audited like its API twin. A planner sees the state but no form.
func TestPlanWorkspacePages(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_PLANNING_APPROVAL_STEPS=法制审核")
	v.planCounty()
	v.submit("planner", v.itemA.ID, v.bizA.USCC, v.bizB.USCC)

	_, _, body := v.pageReq("admin", "GET", "/plans")
	if !strings.Contains(body, `id="run-form"`) {
		t.Fatal("/plans has no run form for an admin")
	}
	if _, _, body := v.pageReq("planner", "GET", "/plans"); strings.Contains(body, `id="run-form"`) {
		t.Fatal("/plans shows the run form to a planner")
	}

	// Refused forms: the page again, 422, the reason at the field in Chinese.
	for _, c := range []struct {
		form         url.Values
		field, words string
	}{
		{url.Values{"from": {""}, "to": {"2026-12-11"}}, "from", "请填写日期"},
		{url.Values{"from": {"2026-11-30"}, "to": {"2026-11-27"}}, "to", "计划期结束日早于开始日"},
		{url.Values{"from": {"2026-11-30"}, "to": {"2027-11-30"}}, "to", "超过允许的"},
		{url.Values{"from": {"30.11.2026"}, "to": {"2026-12-11"}}, "from", "年-月-日"},
		{url.Values{"from": {"2026-11-30"}, "to": {"2026-12-11"}, "region": {"987654"}}, "region", "不存在"},
	} {
		status, _, body := v.pageForm("admin", "/plans", "", c.form)
		got := fieldError(body, c.field)
		if status != http.StatusUnprocessableEntity || !strings.Contains(got, c.words) {
			t.Errorf("%v: %d, at %s %q; want 422 with %q", c.form, status, c.field, got, c.words)
		}
		if strings.Contains(body, "is required") || strings.Contains(body, "validation failed") {
			t.Errorf("%v: the Chinese page shows an English refusal", c.form)
		}
	}
	if status, _, body := v.pageForm("admin", "/plans", "en", url.Values{"from": {""}, "to": {"2026-12-11"}}); status != 422 || fieldError(body, "from") != "Give a date." {
		t.Errorf("English refusal: %d %q", status, fieldError(body, "from"))
	}
	if status, _, _ := v.pageForm("planner", "/plans", "", url.Values{"from": {"2026-11-30"}, "to": {"2026-12-11"}}); status != http.StatusForbidden {
		t.Errorf("a planner starts a run: %d", status)
	}
	r := v.do("admin", "GET", "/api/v1/plans", nil)
	var none listResponse[store.Plan]
	r.json(t, &none)
	if len(none.Items) != 0 {
		t.Fatalf("refused forms left plans: %+v", none.Items)
	}

	status, h, _ := v.pageForm("admin", "/plans", "", url.Values{"from": {"2026-11-30"}, "to": {"2026-12-11"}, "mode": {"coordinated"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/plans/") {
		t.Fatalf("start a run: %d %q", status, h.Get("Location"))
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(h.Get("Location"), "/plans/"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if p := v.waitPlan(id); p.Status != store.PlanDraft || p.CreatedBy == "" || !strings.HasPrefix(p.CreatedBy, "admin#") {
		t.Fatalf("the page's run: %+v", p)
	}
	if n := len(v.auditOf("plan.create", id)); n != 1 {
		t.Errorf("%d plan.create audit entries", n)
	}
	planPath := fmt.Sprintf("/plans/%d", id)

	_, _, body = v.pageReq("admin", "GET", planPath)
	if !strings.Contains(body, `data-step="法制审核" data-state="pending"`) || !strings.Contains(body, `id="approve-form"`) ||
		!regexp.MustCompile(`id="publish-submit" disabled`).MatchString(body) || !strings.Contains(body, `id="stats"`) {
		t.Fatalf("draft dashboard lacks the pending step, the form or the disabled button:\n%.3000s", body)
	}
	_, _, body = v.pageReq("planner", "GET", planPath)
	if !strings.Contains(body, `data-state="pending"`) || strings.Contains(body, `id="approve-form"`) || strings.Contains(body, `id="publish-form"`) {
		t.Fatal("a planner's dashboard: want the state, no forms")
	}

	// Publishing before the approval is refused at the button.
	status, _, body = v.pageForm("admin", planPath+"/publish", "", nil)
	if status != 422 || !strings.Contains(body, "以下审核环节尚未通过：法制审核") {
		t.Fatalf("publish before approval: %d %.2000s", status, body)
	}
	status, _, body = v.pageForm("admin", planPath+"/approvals", "", url.Values{"step": {"法制审核"}, "decision": {"approve"}, "opinion": {" "}})
	if status != 422 || fieldError(body, "opinion") != "请填写审核意见。" {
		t.Fatalf("approve without an opinion: %d %q", status, fieldError(body, "opinion"))
	}
	if status, _, _ := v.pageForm("planner", planPath+"/approvals", "", url.Values{"step": {"法制审核"}, "decision": {"approve"}, "opinion": {"同意"}}); status != 403 {
		t.Fatalf("a planner approves: %d", status)
	}
	if n := len(v.auditOf("plan.approve", id)); n != 0 {
		t.Fatalf("%d approvals recorded by refused forms", n)
	}

	status, h, _ = v.pageForm("admin", planPath+"/approvals", "", url.Values{"step": {"法制审核"}, "decision": {"approve"}, "opinion": {"依据充分，同意发布。"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), planPath) {
		t.Fatalf("approve: %d %q", status, h.Get("Location"))
	}
	_, _, body = v.pageReq("admin", "GET", planPath)
	if !strings.Contains(body, `data-state="approved"`) || !strings.Contains(body, "依据充分，同意发布。") ||
		!strings.Contains(body, `class="appr-reviewer" translate="no">admin#`) || regexp.MustCompile(`id="publish-submit" disabled`).MatchString(body) {
		t.Fatalf("approved dashboard:\n%.3000s", body)
	}
	status, h, _ = v.pageForm("admin", planPath+"/publish", "", nil)
	if status != http.StatusSeeOther || h.Get("Location") != planPath {
		t.Fatalf("publish: %d %q", status, h.Get("Location"))
	}
	r = v.do("admin", "GET", "/api/v1"+planPath, nil)
	var pub store.Plan
	r.json(t, &pub)
	if pub.Status != store.PlanPublished {
		t.Fatalf("after the button: %+v", pub)
	}
	if len(v.auditOf("plan.approve", id)) != 1 || len(v.auditOf("plan.publish", id)) != 1 {
		t.Fatal("the page's approval and publication are not audited")
	}
	_, _, body = v.pageReq("admin", "GET", planPath)
	if !strings.Contains(body, `data-status="published"`) || strings.Contains(body, `id="publish-form"`) {
		t.Fatal("the published dashboard still offers to publish")
	}
}

// TestTokensPage: an admin lists, issues (the secret shown once, errors at
// the fields) and revokes tokens; the token works until revoked. Other
// roles may not open the page.
func TestTokensPage(t *testing.T) {
	v := newEnv(t)
	status, _, body := v.pageReq("admin", "GET", "/admin/tokens")
	if status != 200 || !strings.Contains(body, `id="tokens"`) || !strings.Contains(body, "plannerB") || !strings.Contains(body, "（当前登录）") {
		t.Fatalf("/admin/tokens: %d %.2000s", status, body)
	}
	if status, _, _ := v.pageReq("planner", "GET", "/admin/tokens"); status != 403 {
		t.Fatalf("a planner opens /admin/tokens: %d", status)
	}
	for _, c := range []struct {
		form         url.Values
		field, words string
	}{
		{url.Values{"name": {""}, "role": {"planner"}, "scope": {"SCJG"}}, "name", "请填写名称"},
		{url.Values{"name": {"张三"}, "role": {"mayor"}, "scope": {""}}, "role", "请选择角色"},
		{url.Values{"name": {"张三"}, "role": {"planner"}, "scope": {"NOPE"}}, "scope", "部门代码"},
		{url.Values{"name": {"张三"}, "role": {"admin"}, "scope": {"SCJG"}}, "scope", "管理员令牌没有范围"},
	} {
		status, _, body := v.pageForm("admin", "/admin/tokens", "", c.form)
		if got := fieldError(body, c.field); status != 422 || !strings.Contains(got, c.words) {
			t.Errorf("%v: %d, at %s %q; want %q", c.form, status, c.field, got, c.words)
		}
	}
	status, h, body := v.pageForm("admin", "/admin/tokens", "", url.Values{"name": {"市场监管 李四"}, "role": {"planner"}, "scope": {"SCJG"}})
	m := regexp.MustCompile(`id="token-secret">(io_[A-Za-z0-9_-]+)<`).FindStringSubmatch(body)
	if status != http.StatusCreated || m == nil || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("issue a token: %d, Cache-Control %q, %.1500s", status, h.Get("Cache-Control"), body)
	}
	v.tokens["li"] = m[1]
	expect(t, v.do("li", "GET", "/api/v1/plans", nil), 200, "the new token reads plans")
	if _, _, again := v.pageReq("admin", "GET", "/admin/tokens"); strings.Contains(again, m[1]) {
		t.Fatal("the secret is shown again")
	}
	tid := regexp.MustCompile(`data-token="(\d+)" role="status"`).FindStringSubmatch(body)
	if tid == nil {
		t.Fatal("no id of the new token")
	}
	status, h, _ = v.pageForm("admin", "/admin/tokens/"+tid[1]+"/revoke", "", nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin/tokens") {
		t.Fatalf("revoke: %d %q", status, h.Get("Location"))
	}
	expect(t, v.do("li", "GET", "/api/v1/plans", nil), 401, "the revoked token")
	_, _, body = v.pageReq("admin", "GET", "/admin/tokens")
	if !strings.Contains(body, `id="token-`+tid[1]+`" class="token" data-token="`+tid[1]+`" data-revoked="true"`) {
		t.Fatal("the list does not show the token revoked")
	}
	entries, err := v.st.ListAudit(t.Context(), 0, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	var created, revoked bool
	for _, e := range entries {
		created = created || (e.Action == "token.create" && e.Object == "token/"+tid[1] && strings.HasPrefix(e.Actor, "admin#"))
		revoked = revoked || (e.Action == "token.revoke" && e.Object == "token/"+tid[1])
	}
	if !created || !revoked {
		t.Fatalf("audit: created %v, revoked %v", created, revoked)
	}
	if status, _, _ := v.pageForm("admin", "/admin/tokens/"+tid[1]+"/revoke", "", nil); status != 404 {
		t.Fatalf("revoke twice: %d", status)
	}
}
