package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"inspectonce/domain"
)

func init() {
	browserScenarios["visit_mobile"] = browserVisitMobile
}

// browserVisitMobile: on a phone-sized screen (390×844) an inspector of a
// visit with two tasks opens the door page on the visit's day, records a
// result (stored), then records another while the network is down: it waits
// in the phone's queue, and once the network is back it is sent and stored
// once.
func browserVisitMobile(t *testing.T, b *benv) {
	ctx := context.Background()
	// A visit of the plan with at least two tasks, and its lead inspector.
	rows := sqlRows(t, b, `SELECT pv.seq::text, pv.date::text, a.inspector_id::text
		FROM published_visits pv JOIN plan_assignments a ON a.plan_id = pv.plan_id AND a.visit_seq = pv.seq AND a.ord = 0
		WHERE pv.plan_id = $1 AND (SELECT count(*) FROM plan_tasks t WHERE t.plan_id = pv.plan_id AND t.visit_seq = pv.seq) >= 2
			AND NOT EXISTS (SELECT 1 FROM task_results r WHERE r.plan_id = pv.plan_id AND r.visit_seq = pv.seq)
		ORDER BY pv.date, pv.seq LIMIT 1`, b.Plan.ID)
	if len(rows) == 0 {
		t.Fatal("the plan has no visit with two tasks")
	}
	seq, date, inspector := rows[0][0], rows[0][1], rows[0][2]
	tok, _, err := b.st.CreateToken(ctx, "test", "door phone", domain.RoleInspector, inspector)
	if err != nil {
		t.Fatal(err)
	}
	day, err := time.ParseInLocation(time.DateOnly, date, b.Loc)
	if err != nil {
		t.Fatal(err)
	}
	b.SetNow(day.Add(9 * time.Hour))

	tab := b.Browser(t)
	if err := chromedp.Run(tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	b.LoginToken(t, tab, tok)
	if loc := b.Location(t, tab); !strings.HasSuffix(loc, "/inspect") {
		t.Fatalf("an inspector landed on %s, want /inspect", loc)
	}
	visit := fmt.Sprintf(`.door-visit[data-plan="%d"][data-seq="%s"]`, b.Plan.ID, seq)
	task := func(n int) string { return fmt.Sprintf(`%s form.door-task:nth-of-type(%d)`, visit, n) }
	var overflow bool
	if err := chromedp.Run(tab,
		chromedp.WaitVisible(visit, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow),
	); err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Errorf("the page is wider than the 390 px screen")
	}
	taskSeq := func(n int) string {
		t.Helper()
		s := b.Attrs(t, tab, task(n), "data-task")
		if len(s) != 1 {
			t.Fatalf("task %d: %v", n, s)
		}
		return s[0]
	}
	stored := func(task string) [][]string {
		t.Helper()
		return sqlRows(t, b, `SELECT outcome, coalesce(not_done_reason, '') FROM task_results WHERE plan_id = $1 AND task_seq = $2::int`,
			b.Plan.ID, task)
	}

	// The conditional fields follow the outcome.
	first := taskSeq(1)
	var ruleHidden, ruleShown bool
	if err := chromedp.Run(tab,
		chromedp.Click(task(1)+` input[value="compliant"]`, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).closest("label").hidden`, task(1)+` input[name="rule_cited"]`), &ruleHidden),
		chromedp.Click(task(1)+` input[value="minor"]`, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`!document.querySelector(%q).closest("label").hidden`, task(1)+` input[name="rule_cited"]`), &ruleShown),
		chromedp.Click(task(1)+` input[value="compliant"]`, chromedp.ByQuery),
		chromedp.SendKeys(task(1)+` textarea[name="note"]`, "证照齐全", chromedp.ByQuery),
		chromedp.Click(task(1)+` button.door-save`, chromedp.ByQuery),
		chromedp.WaitVisible(task(1)+` [data-state="saved"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("record a result: %v", err)
	}
	if !ruleHidden || !ruleShown {
		t.Errorf("rule_cited hidden for compliant: %v, shown for minor: %v", ruleHidden, ruleShown)
	}
	if got := stored(first); len(got) != 1 || got[0][0] != "compliant" {
		t.Fatalf("task %s stored %v, want one compliant result", first, got)
	}
	b.Screenshot(t, tab, "door-mobile")

	// Offline: the result waits in the queue, kept in localStorage.
	second := taskSeq(2)
	var queued string
	if err := chromedp.Run(tab,
		network.Enable(),
		networkOffline(true),
		network.OverrideNetworkState(true, 0, -1, -1),
		chromedp.Click(task(2)+` input[value="not_done"]`, chromedp.ByQuery),
		chromedp.SetValue(task(2)+` select[name="not_done_reason"]`, "closed", chromedp.ByQuery),
		chromedp.Click(task(2)+` button.door-save`, chromedp.ByQuery),
		chromedp.WaitVisible(`#door-queue`, chromedp.ByID),
		chromedp.Text(`#door-queue-count`, &queued, chromedp.ByID),
	); err != nil {
		t.Fatalf("record offline: %v", err)
	}
	if queued != "1" {
		t.Fatalf("queue shows %q entries while offline, want 1", queued)
	}
	if got := stored(second); len(got) != 0 {
		t.Fatalf("offline, yet task %s has %v", second, got)
	}
	var kept int
	if err := chromedp.Run(tab, chromedp.Evaluate(`JSON.parse(localStorage.getItem("inspectonce.door.queue.v1")).length`, &kept)); err != nil || kept != 1 {
		t.Fatalf("localStorage keeps %d entries (%v), want 1", kept, err)
	}
	b.Screenshot(t, tab, "door-mobile-offline")

	// Back online: retried, stored once, the queue empties.
	if err := chromedp.Run(tab,
		networkOffline(false),
		network.OverrideNetworkState(false, 0, -1, -1),
		// Coming back online may already have sent the queue and hidden the
		// retry button, so press it only while it is still shown.
		chromedp.Evaluate(`(b => b && b.offsetParent !== null && b.click())(document.getElementById("door-retry"))`, nil),
		chromedp.WaitVisible(task(2)+` [data-state="saved"]`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#door-queue`, chromedp.ByID),
	); err != nil {
		t.Fatalf("retry once online: %v", err)
	}
	if got := stored(second); len(got) != 1 || got[0][0] != "not_done" || got[0][1] != "closed" {
		t.Fatalf("task %s stored %v, want one not_done (closed)", second, got)
	}
	// The page, reloaded, shows the stored results.
	b.Open(t, tab, "/inspect")
	outcomes := b.Attrs(t, tab, visit+` .door-result`, "data-outcome")
	if len(outcomes) < 2 || outcomes[0] != "compliant" || outcomes[1] != "not_done" {
		t.Fatalf("reloaded page shows outcomes %v", outcomes)
	}

	// A refusal shows at its field, in Chinese, naming the form's label
	// (违反条款), never the API's field name.
	var fieldNote, stateText string
	if err := chromedp.Run(tab,
		chromedp.Click(task(1)+` input[value="minor"]`, chromedp.ByQuery),
		chromedp.Click(task(1)+` button.door-save`, chromedp.ByQuery),
		chromedp.WaitVisible(task(1)+` [data-state="refused"]`, chromedp.ByQuery),
		chromedp.Text(task(1)+` [data-state="refused"]`, &stateText, chromedp.ByQuery),
		chromedp.Text(task(1)+` .door-field .field-error`, &fieldNote, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("refusal: %v", err)
	}
	if !strings.Contains(stateText, "违反条款") || strings.Contains(stateText, "rule_cited") || strings.Contains(stateText, "outcome") {
		t.Errorf("refusal reads %q", stateText)
	}
	if fieldNote != "按所选检查结果必须填写" {
		t.Errorf("the rule field says %q", fieldNote)
	}
	b.Screenshot(t, tab, "door-mobile-refusal")

	// Whose confirmation is awaited: both inspectors, by name.
	names := sqlRows(t, b, `SELECT i.name FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
		WHERE a.plan_id = $1 AND a.visit_seq = $2::int ORDER BY a.ord`, b.Plan.ID, seq)
	awaiting := b.Texts(t, tab, visit+` [data-awaiting]`)
	if len(awaiting) != 1 || !strings.HasPrefix(awaiting[0], "待确认：") {
		t.Fatalf("awaiting %q", awaiting)
	}
	for _, n := range names {
		if !strings.Contains(awaiting[0], n[0]) {
			t.Errorf("awaiting %q lacks %s", awaiting[0], n[0])
		}
	}

	// "Next day" goes to the inspector's next day with a visit.
	next := b.Attrs(t, tab, "#door-next", "href")
	want := sqlRows(t, b, `SELECT coalesce(min(v.date)::text, '') FROM published_visits v JOIN visit_assignments a
		ON a.plan_id = v.plan_id AND a.visit_seq = v.seq WHERE a.inspector_id = $1::bigint AND v.date > $2::date`, inspector, date)
	if want[0][0] != "" && (len(next) != 1 || !strings.HasSuffix(next[0], "date="+want[0][0])) {
		t.Errorf("next day links to %v, want the next day with a visit %s", next, want[0][0])
	}
}

// networkOffline cuts (or restores) the tab's network, as a phone losing its
// signal would.
func networkOffline(offline bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := network.EmulateNetworkConditionsByRule([]*network.Conditions{
			{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}}).Do(ctx)
		return err
	})
}
