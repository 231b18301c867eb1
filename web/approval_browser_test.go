package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestBrowserPlanApproval (issue 18, the coordinator's path) runs on a demo
// county of its own, since it runs and publishes a plan: an admin starts a
// run from /plans (fixing a field error first), waits on the dashboard for
// the draft, reviews its figures, cannot publish before the 法制审核 step,
// refuses to approve without an opinion, approves with one, and publishes
// from the page. Then the tokens page issues a token (shown once) and
// revokes it.
func TestBrowserPlanApproval(t *testing.T) {
	b := newBrowserEnv(t)
	ctx := context.Background()
	if steps := b.cfg.Planning.ApprovalSteps; len(steps) != 1 || steps[0] != "法制审核" {
		t.Fatalf("default approval steps %q", steps)
	}
	// Work for a plan after the published one: the demo business and a few
	// others of its department, in a window past that plan's horizon.
	workday := func(from int) time.Time {
		d := b.Today.AddDate(0, 0, from)
		for !b.cal.IsWorkingDay(d) {
			d = d.AddDate(0, 0, 1)
		}
		return d
	}
	from, to := workday(30), workday(41)
	rows := sqlRows(t, b, `SELECT d.id::text, min(i.id)::text FROM departments d JOIN items i ON i.department_id = d.id WHERE d.code = 'SCJG' GROUP BY d.id`)
	if len(rows) != 1 {
		t.Fatal("no SCJG items")
	}
	dept, _ := strconv.ParseInt(rows[0][0], 10, 64)
	item, _ := strconv.ParseInt(rows[0][1], 10, 64)
	biz := []string{b.Scopes[domain.RoleBusiness]}
	for _, r := range sqlRows(t, b, `SELECT uscc FROM businesses WHERE list_kind <> 'leave_alone' AND uscc <> $1 ORDER BY uscc LIMIT 5`, biz[0]) {
		biz = append(biz, r[0])
	}
	d := domain.Demand{DepartmentID: dept, Title: "浏览器测试：审核发布", ItemIDs: []int64{item}, TargetKind: domain.TargetList,
		Businesses: biz, WindowFrom: from, WindowTo: to, Priority: 2, Source: domain.SourceRoutine}
	if _, err := b.st.CreateDemand(ctx, "test", nil, &d); err != nil {
		t.Fatal(err)
	}

	tab := b.Browser(t)
	b.Login(t, tab, domain.RoleAdmin)
	b.Open(t, tab, "/plans")
	if err := chromedp.Run(tab,
		chromedp.SetValue(`#run-from`, from.Format(time.DateOnly), chromedp.ByID),
		chromedp.SetValue(`#run-to`, "", chromedp.ByID),
		chromedp.Click(`#run-submit`, chromedp.ByID),
		chromedp.WaitVisible(`.field-error[data-field="to"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("submit without an end: %v", err)
	}
	if e := b.Texts(t, tab, `.field-error[data-field="to"]`); len(e) != 1 || e[0] != "请填写日期。" {
		t.Fatalf("field error %q", e)
	}
	if err := chromedp.Run(tab,
		chromedp.SetValue(`#run-to`, to.Format(time.DateOnly), chromedp.ByID),
		chromedp.Click(`#run-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#plan-status`, chromedp.ByID),
	); err != nil {
		t.Fatalf("start the run: %v", err)
	}
	loc := b.Location(t, tab)
	i := strings.LastIndex(loc, "/plans/")
	if i < 0 {
		t.Fatalf("after the run form: %s", loc)
	}
	planPath := loc[i:]
	if j := strings.IndexAny(planPath, "?#"); j >= 0 {
		planPath = planPath[:j]
	}
	// The dashboard follows the run (it reloads itself) until the draft.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := b.Attrs(t, tab, "#plan-status", "data-status")
		if len(st) == 1 && st[0] == store.PlanDraft {
			break
		}
		if len(st) == 1 && st[0] != store.PlanRunning {
			t.Fatalf("the run ended %q", st)
		}
		if time.Now().After(deadline) {
			t.Fatal("the plan is still running after 60 s")
		}
		time.Sleep(500 * time.Millisecond)
		b.Open(t, tab, planPath)
	}

	// Review: figures, unplaced, draws.
	visits := b.Texts(t, tab, `#stats [data-stat="visits"] .value`)
	if len(visits) != 1 || visits[0] == "0" {
		t.Fatalf("the draft's visits %q", visits)
	}
	for _, sel := range []string{"#targets", "#unplaced", "#draws", "#visits"} {
		if len(b.Texts(t, tab, sel)) != 1 {
			t.Errorf("the draft's dashboard lacks %s", sel)
		}
	}
	if st := b.Attrs(t, tab, `li.appr-step`, "data-state"); len(st) != 1 || st[0] != store.StepPending {
		t.Fatalf("approval steps %q", st)
	}
	if dis := b.Attrs(t, tab, `#publish-submit`, "disabled"); len(dis) != 1 {
		t.Fatal("no publish button")
	}
	var disabled bool
	if err := chromedp.Run(tab, chromedp.Evaluate(`document.querySelector("#publish-submit").disabled`, &disabled)); err != nil || !disabled {
		t.Fatalf("the publish button is enabled before the approval (%v)", err)
	}

	// No opinion: refused at the field.
	if err := chromedp.Run(tab,
		chromedp.Click(`#approve-submit`, chromedp.ByID),
		chromedp.WaitVisible(`.field-error[data-field="opinion"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("approve without an opinion: %v", err)
	}
	if e := b.Texts(t, tab, `.field-error[data-field="opinion"]`); len(e) != 1 || e[0] != "请填写审核意见。" {
		t.Fatalf("opinion error %q", e)
	}
	opinion := "抽查事项、依据和比例符合规定，同意发布。"
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#approve-opinion`, opinion, chromedp.ByID),
		chromedp.Click(`#approve-submit`, chromedp.ByID),
		chromedp.WaitVisible(`li.appr-step[data-state="approved"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if op := b.Texts(t, tab, `li.appr-step .appr-opinion`); len(op) != 1 || op[0] != opinion {
		t.Errorf("opinion shown %q", op)
	}
	if who := b.Texts(t, tab, `li.appr-step .appr-reviewer`); len(who) != 1 || !strings.HasPrefix(who[0], "admin#") {
		t.Errorf("reviewer shown %q", who)
	}
	if err := chromedp.Run(tab, chromedp.Evaluate(`document.querySelector("#publish-submit").disabled`, &disabled)); err != nil || disabled {
		t.Fatalf("the publish button is disabled once approved (%v)", err)
	}
	b.Screenshot(t, tab, "plan-approval")
	if err := chromedp.Run(tab,
		chromedp.Click(`#publish-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#plan-status[data-status="published"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("publish: %v", err)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(planPath, "/plans/"), 10, 64)
	pl, err := b.st.GetPlan(ctx, id)
	if err != nil || pl.Status != store.PlanPublished {
		t.Fatalf("plan %d after the button: %+v %v", id, pl, err)
	}
	audit := sqlRows(t, b, `SELECT action FROM audit_log WHERE object = $1 AND action IN ('plan.approve', 'plan.publish') ORDER BY id`, fmt.Sprintf("plan/%d", id))
	if len(audit) != 2 || audit[0][0] != "plan.approve" || audit[1][0] != "plan.publish" {
		t.Fatalf("audit %v", audit)
	}

	// Tokens: issue one (shown once), then revoke it.
	b.Open(t, tab, "/admin/tokens")
	if nav := b.Texts(t, tab, `header nav a[href="/admin/tokens"]`); len(nav) != 1 || nav[0] != "访问令牌" {
		t.Errorf("nav %q", nav)
	}
	if err := chromedp.Run(tab,
		chromedp.SendKeys(`#token-name`, "市场监管局 计划员", chromedp.ByID),
		chromedp.SetValue(`#token-role`, "planner", chromedp.ByID),
		chromedp.SendKeys(`#token-scope`, "SCJG", chromedp.ByID),
		chromedp.Click(`#token-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#token-secret`, chromedp.ByID),
	); err != nil {
		t.Fatalf("issue a token: %v", err)
	}
	secret := b.Texts(t, tab, "#token-secret")
	tid := b.Attrs(t, tab, "#token-created", "data-token")
	if len(secret) != 1 || !strings.HasPrefix(secret[0], store.TokenPrefix) || len(tid) != 1 {
		t.Fatalf("issued %q %q", secret, tid)
	}
	if p, err := b.st.Authenticate(ctx, secret[0]); err != nil || p.Role != domain.RolePlanner {
		t.Fatalf("the issued token: %+v %v", p, err)
	}
	b.Screenshot(t, tab, "tokens")
	if err := chromedp.Run(tab,
		chromedp.Click(fmt.Sprintf(`button.tok-revoke[data-token="%s"]`, tid[0]), chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`tr#token-%s[data-revoked="true"]`, tid[0]), chromedp.ByQuery),
	); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if len(b.Texts(t, tab, "#token-secret")) != 0 {
		t.Error("the secret is shown again")
	}
	if _, err := b.st.Authenticate(ctx, secret[0]); err == nil {
		t.Fatal("the revoked token still works")
	}
}
