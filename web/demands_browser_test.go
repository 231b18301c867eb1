package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// TestBrowserDemands (issue 18 part 1) walks the planner's path on a demo
// county of its own, since it publishes a plan: sign in, open the demand
// form, choose a sample (township and industry) and see the population
// count appear; submit with the window ending before it starts and read the
// refusal at the field in Chinese; fix it and submit; find the demand open on
// /demands; a double submission makes one demand; the coordinator runs and
// publishes a plan, and /demands shows the demand planned with its plan and
// dates.
func TestBrowserDemands(t *testing.T) {
	b := newBrowserEnv(t)
	ctx := context.Background()
	regions, err := b.st.ListRegions(ctx, store.RegionFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var town int64
	for _, r := range regions.Items {
		if r.Code == "SS-CY" {
			town = r.ID
		}
	}
	if town == 0 {
		t.Fatal("no township SS-CY in the demo county")
	}
	want, err := b.st.CountPopulation(ctx, store.PopulationFilter{RegionIDs: []int64{town}, IndustryCodes: []string{"H6210"}})
	if err != nil {
		t.Fatal(err)
	}
	if want.Frame < 3 {
		t.Fatalf("population of restaurants in SS-CY: %+v, want at least 3", want)
	}
	demands := func() int {
		t.Helper()
		return len(sqlRows(t, b, `SELECT id FROM demands`))
	}
	before := demands()

	tab := b.Browser(t)
	b.Login(t, tab, domain.RolePlanner)
	if nav := b.Texts(t, tab, `header nav a[href="/demands"]`); len(nav) != 1 || nav[0] != "检查需求" {
		t.Fatalf("nav link to /demands: %q", nav)
	}
	b.Open(t, tab, "/demands/new")
	if s := b.Status(t, tab); s != 0 {
		t.Fatalf("/demands/new: error %d", s)
	}
	if h := b.Texts(t, tab, "h1"); len(h) != 1 || !strings.HasPrefix(h[0], "提交检查需求") {
		t.Fatalf("title %q", h)
	}
	// Only SCJG's items, each with its legal basis.
	items := b.Attrs(t, tab, "#items input[name=item_id]", "value")
	if len(items) == 0 {
		t.Fatal("no items offered")
	}
	ids := make([]int64, len(items))
	for i, s := range items {
		ids[i], _ = strconv.ParseInt(s, 10, 64)
	}
	its, err := b.st.ItemsByID(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range its {
		if fmt.Sprint(it.DepartmentID) != fmt.Sprint(departmentID(t, b, "SCJG")) {
			t.Errorf("item %s of another department offered", it.Code)
		}
	}
	if legal := b.Texts(t, tab, "#items li.item .legal"); len(legal) != len(items) {
		t.Errorf("%d items, %d legal bases shown", len(items), len(legal))
	}

	// The sample: the township's restaurants, three of them.
	from := workdayAfter(b, 3)
	to := workdayAfter(b, 20)
	if err := chromedp.Run(tab,
		chromedp.Click("#target-sample", chromedp.ByID),
		chromedp.WaitVisible("#region_id", chromedp.ByID),
		chromedp.Evaluate(fmt.Sprintf(`(function(){var s=document.getElementById("region_id");
			Array.prototype.forEach.call(s.options,function(o){o.selected=(o.value==="%d")});
			s.dispatchEvent(new Event("change"));})()`, town), nil),
		chromedp.SendKeys("#industry", "H6210", chromedp.ByID),
		chromedp.WaitVisible(`#population[data-state="counted"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("choose the sample: %v", err)
	}
	waitAttr(t, tab, "#population", "data-population", strconv.Itoa(want.Frame))
	if err := chromedp.Run(tab, chromedp.SendKeys("#count", "3", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	// The key list is inspected on top of the 3 drawn from the rest.
	expected := want.Key + min(3, want.Frame-want.Key)
	waitAttr(t, tab, "#population", "data-expected", strconv.Itoa(expected))
	if txt := b.Texts(t, tab, "#population"); !strings.Contains(txt[0], fmt.Sprintf("抽查总体 %d 户", want.Frame)) ||
		!strings.Contains(txt[0], fmt.Sprintf("预计抽取 %d 户", expected)) {
		t.Errorf("population text %q", txt)
	}

	// The window ends before it starts: refused at the field, in Chinese.
	if err := chromedp.Run(tab,
		chromedp.SendKeys("#title", "浏览器测试：菜园镇餐饮抽查", chromedp.ByID),
		chromedp.Click("#item-"+items[0], chromedp.ByID),
		chromedp.SetValue("#window_from", to.Format(time.DateOnly), chromedp.ByID),
		chromedp.SetValue("#window_to", from.Format(time.DateOnly), chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, tab, "demands-new")
	if err := chromedp.Run(tab,
		chromedp.Click("#submit-btn", chromedp.ByID),
		chromedp.WaitVisible(`.field-error[data-field="window_to"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("submit with a bad window: %v", err)
	}
	msg := b.Texts(t, tab, `.field-error[data-field="window_to"]`)
	if len(msg) != 1 || !strings.HasPrefix(msg[0], "结束日期：") || !strings.Contains(msg[0], "早于开始日期") {
		t.Fatalf("window refusal %q", msg)
	}
	if all := strings.Join(b.Texts(t, tab, ".field-error"), " "); regexp.MustCompile(`[A-Za-z]{3,}`).MatchString(all) {
		t.Errorf("English in the Chinese refusals: %q", all)
	}
	if demands() != before {
		t.Fatal("a refused demand was stored")
	}
	// The form came back as it was filled in.
	if v := b.Attrs(t, tab, "#population", "data-expected"); len(v) != 1 || v[0] != "3" {
		t.Errorf("population after the refusal: %q", v)
	}
	if err := chromedp.Run(tab,
		chromedp.SetValue("#window_from", from.Format(time.DateOnly), chromedp.ByID),
		chromedp.SetValue("#window_to", to.Format(time.DateOnly), chromedp.ByID),
		chromedp.Click("#submit-btn", chromedp.ByID),
		chromedp.WaitVisible("#dem-created", chromedp.ByID),
	); err != nil {
		t.Fatalf("submit: %v", err)
	}
	created := b.Attrs(t, tab, "#dem-created", "data-id")[0]
	if st := b.Attrs(t, tab, "#demand-"+created, "data-state"); len(st) != 1 || st[0] != "open" {
		t.Fatalf("demand %s on /demands: state %q, want open", created, st)
	}
	if demands() != before+1 {
		t.Fatalf("%d demands stored, want one more", demands()-before)
	}
	d, err := b.st.GetDemand(ctx, mustInt(t, created), 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.TargetKind != domain.TargetSample || d.Sample == nil || d.Sample.Count == nil || *d.Sample.Count != 3 ||
		len(d.Sample.RegionIDs) != 1 || d.Sample.RegionIDs[0] != town || strings.Join(d.Sample.IndustryCodes, ",") != "H6210" {
		t.Errorf("stored demand %+v sample %+v", d, d.Sample)
	}

	// A double click on submit makes one demand.
	b.Open(t, tab, "/demands/new")
	if err := chromedp.Run(tab,
		chromedp.SendKeys("#businesses", b.Scopes[domain.RoleBusiness], chromedp.ByID),
		chromedp.Click("#item-"+items[0], chromedp.ByID),
		chromedp.SetValue("#window_from", from.Format(time.DateOnly), chromedp.ByID),
		chromedp.SetValue("#window_to", to.Format(time.DateOnly), chromedp.ByID),
		chromedp.Evaluate(`(function(){var s=document.getElementById("submit-btn"); s.click(); s.click();})()`, nil),
		chromedp.WaitVisible("#dem-created", chromedp.ByID),
	); err != nil {
		t.Fatalf("double submit: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // let a second request finish, if one went out
	if n := demands(); n != before+2 {
		t.Fatalf("double click: %d demands stored, want %d", n, before+2)
	}
	// The same form posted twice (a retry after a lost answer) replays.
	token := "0123456789abcdef0123456789abcdef"
	form := url.Values{"token": {token}, "target": {"list"}, "businesses": {b.Scopes[domain.RoleBusiness]},
		"item_id": {items[0]}, "window_from": {from.Format(time.DateOnly)}, "window_to": {to.Format(time.DateOnly)},
		"priority": {"2"}, "announce_days": {"0"}, "source": {"routine"}, "action": {"submit"}}
	first := postForm(t, b, "/demands/new", form)
	second := postForm(t, b, "/demands/new", form)
	if first == "" || first != strings.Replace(second, "&replayed=1", "", 1) || !strings.Contains(second, "replayed=1") {
		t.Fatalf("retried form went to %q then %q", first, second)
	}
	if n := demands(); n != before+3 {
		t.Fatalf("retried form: %d demands stored, want %d", n, before+3)
	}

	// The coordinator plans and publishes; the demand is planned.
	plans, err := planning.New(planning.Options{Store: b.st, Config: b.cfg, Calendar: b.cal, Now: func() time.Time { return b.start }})
	if err != nil {
		t.Fatal(err)
	}
	run, err := plans.Run(ctx, "test", planning.Request{From: b.Today.AddDate(0, 0, 1), To: b.Today.AddDate(0, 0, 28)})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	approveAll(t, plans, run.PlanID)
	if _, err := plans.Publish(ctx, "test", run.PlanID); err != nil {
		t.Fatalf("publish: %v", err)
	}
	b.Open(t, tab, "/demands")
	if st := b.Attrs(t, tab, "#demand-"+created, "data-state"); len(st) != 1 || st[0] != "planned" {
		t.Fatalf("after publication demand %s is %q, want planned", created, st)
	}
	pl := b.Attrs(t, tab, "#demand-"+created+" .dem-placement", "data-plan")
	if len(pl) != 1 || pl[0] != strconv.FormatInt(run.PlanID, 10) {
		t.Fatalf("placements %q, want plan %d", pl, run.PlanID)
	}
	dates := b.Attrs(t, tab, "#demand-"+created+" .dem-placement time", "datetime")
	if len(dates) == 0 {
		t.Fatal("no visit dates shown")
	}
	for _, s := range dates {
		if s < from.Format(time.DateOnly) || s > to.Format(time.DateOnly) {
			t.Errorf("visit date %s outside the window %s – %s", s, from.Format(time.DateOnly), to.Format(time.DateOnly))
		}
	}
	if txt := b.Texts(t, tab, "#demand-"+created+" .dem-placement"); !strings.Contains(txt[0], fmt.Sprintf("计划 #%d", run.PlanID)) {
		t.Errorf("placement text %q", txt)
	}
	b.Screenshot(t, tab, "demands")

	// Cancelling needs a reason; an open demand can be cancelled with one.
	later := domain.Demand{DepartmentID: departmentID(t, b, "SCJG"), Title: "浏览器测试：下月检查", ItemIDs: []int64{ids[0]},
		TargetKind: domain.TargetList, Businesses: []string{b.Scopes[domain.RoleBusiness]},
		WindowFrom: workdayAfter(b, 40), WindowTo: workdayAfter(b, 50), Priority: 3, Source: domain.SourceRoutine}
	if _, err := b.st.CreateDemand(ctx, "test", nil, &later); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(later.ID, 10)
	b.Open(t, tab, "/demands")
	if st := b.Attrs(t, tab, "#demand-"+id, "data-state"); len(st) != 1 || st[0] != "open" {
		t.Fatalf("demand %s shows %q, want open", id, st)
	}
	if err := chromedp.Run(tab,
		chromedp.Click("#demand-"+id+" details.dem-cancel summary", chromedp.ByQuery),
		// The browser would ask for the reason itself; the server must too.
		chromedp.Evaluate(`document.getElementById("reason-`+id+`").removeAttribute("required")`, nil),
		chromedp.Click("#demand-"+id+" .dem-cancel-form button", chromedp.ByQuery),
		chromedp.WaitVisible("#err-reason-"+id, chromedp.ByID),
	); err != nil {
		t.Fatalf("cancel without a reason: %v", err)
	}
	if msg := b.Texts(t, tab, "#err-reason-"+id); len(msg) != 1 || msg[0] != "撤销原因：必填" {
		t.Errorf("cancel refusal %q", msg)
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys("#reason-"+id, "并入专项行动", chromedp.ByID),
		chromedp.Click("#demand-"+id+" .dem-cancel-form button", chromedp.ByQuery),
		chromedp.WaitVisible("#dem-cancelled", chromedp.ByID),
	); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if st := b.Attrs(t, tab, "#demand-"+id, "data-state"); len(st) != 1 || st[0] != "cancelled" {
		t.Errorf("cancelled demand shows %q", st)
	}
	if txt := b.Texts(t, tab, "#demand-"+id+" .dem-cancel-reason"); len(txt) != 1 || !strings.Contains(txt[0], "并入专项行动") {
		t.Errorf("cancel reason shown %q", txt)
	}
	if rows := sqlRows(t, b, `SELECT count(*)::text FROM audit_log WHERE action = 'demand.cancel' AND object = $1`, "demand/"+id); rows[0][0] != "1" {
		t.Errorf("cancel audited %s times", rows[0][0])
	}

	// A phone-sized screen.
	if err := chromedp.Run(tab, chromedp.EmulateViewport(360, 780)); err != nil {
		t.Fatal(err)
	}
	b.Open(t, tab, "/demands/new")
	var wide bool
	if err := chromedp.Run(tab, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide)); err != nil {
		t.Fatal(err)
	}
	if wide {
		t.Error("/demands/new scrolls sideways at 360 px")
	}
	b.Screenshot(t, tab, "demands-new-360")

	// The department's results download.
	res := getWithToken(t, b, "/demands/results.csv")
	if !strings.HasPrefix(res, "\uFEFF\"需求编号\"") {
		t.Errorf("results CSV starts %q", res[:min(len(res), 60)])
	}
}

func departmentID(t *testing.T, b *benv, code string) int64 {
	t.Helper()
	rows := sqlRows(t, b, `SELECT id::text FROM departments WHERE code = $1`, code)
	return mustInt(t, rows[0][0])
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// workdayAfter is the first working day n or more days after the test's today.
func workdayAfter(b *benv, n int) time.Time {
	d := b.Today.AddDate(0, 0, n)
	for !b.cal.IsWorkingDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// waitAttr waits until sel's attribute is want.
func waitAttr(t *testing.T, ctx context.Context, sel, attr, want string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.WaitVisible(fmt.Sprintf(`%s[%s="%s"]`, sel, attr, want), chromedp.ByQuery)); err != nil {
		t.Fatalf("wait for %s[%s=%s]: %v", sel, attr, want, err)
	}
}

// postForm posts a form as the planner (bearer token: scripts' way in) and
// returns where it redirected.
func postForm(t *testing.T, b *benv, path string, form url.Values) string {
	t.Helper()
	req, err := http.NewRequest("POST", b.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+b.Tokens[domain.RolePlanner])
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, body)
	}
	return res.Header.Get("Location")
}

func getWithToken(t *testing.T, b *benv, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", b.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.Tokens[domain.RolePlanner])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return string(body)
}
