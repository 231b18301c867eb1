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
	"inspectonce/planning"
	"inspectonce/store"
)

// TestBrowserRepairs (issue 17 part 2) runs on a demo county of its own,
// since its repairs change the published calendar the other scenarios read.
// The busiest township is closed for a typhoon on one day (its visits move)
// and then its ferries stop for the rest of the plan (its visits cannot
// move and are listed). The repairs page shows both repairs with what they
// did, and the visits a coordinator must see to with the reason, in both
// languages; a team leader reads it, an inspector may not.
func TestBrowserRepairs(t *testing.T) {
	b := newBrowserEnv(t)
	ctx := context.Background()
	plans, err := planning.New(planning.Options{Store: b.st, Config: b.cfg, Calendar: b.cal, Now: func() time.Time { return b.start }})
	if err != nil {
		t.Fatal(err)
	}
	// The township and working day (three or more days on) with the most visits.
	rows := sqlRows(t, b, `SELECT t.id::text, v.date::text, count(*)::text FROM published_visits v
		JOIN businesses bz ON bz.uscc = v.uscc JOIN regions g ON g.id = bz.region_id
		JOIN regions t ON t.id = CASE WHEN g.level = 'township' THEN g.id ELSE g.parent_id END
		WHERE v.date >= $1::date GROUP BY 1, 2 ORDER BY 3::int DESC, 1, 2 LIMIT 1`, b.Today.AddDate(0, 0, 3).Format(time.DateOnly))
	if len(rows) == 0 {
		t.Fatal("no published visits three days on")
	}
	town, _ := strconv.ParseInt(rows[0][0], 10, 64)
	day, _ := time.Parse(time.DateOnly, rows[0][1])
	typhoon, err := b.st.CreateClosure(ctx, "test", town, 0, day, day, "台风停航")
	if err != nil {
		t.Fatal(err)
	}
	first, err := plans.RunRepair(ctx, *typhoon.RepairID)
	if err != nil {
		t.Fatal(err)
	}
	ferries, err := b.st.CreateClosure(ctx, "test", town, 0, b.Today.AddDate(0, 0, 1), b.Today.AddDate(0, 0, 60), "渡轮停航")
	if err != nil {
		t.Fatal(err)
	}
	second, err := plans.RunRepair(ctx, *ferries.RepairID)
	if err != nil {
		t.Fatal(err)
	}
	if first.Moved == 0 || second.Unrepaired == 0 {
		t.Fatalf("the typhoon moved %d visits and the ferries left %d unrepaired: want both > 0", first.Moved, second.Unrepaired)
	}

	tab := b.Browser(t)
	b.Login(t, tab, domain.RoleAdmin)
	b.Open(t, tab, "/repairs")
	if s := b.Status(t, tab); s != 0 {
		t.Fatalf("repairs page: error %d", s)
	}
	ids := b.Attrs(t, tab, "#repairs tr.repair", "data-id")
	if strings.Join(ids, ",") != strconv.FormatInt(second.ID, 10)+","+strconv.FormatInt(first.ID, 10) {
		t.Fatalf("repairs listed %v, want the ferries' then the typhoon's", ids)
	}
	if moved := b.Attrs(t, tab, "#repairs tr.repair", "data-moved"); moved[1] != strconv.Itoa(first.Moved) {
		t.Errorf("typhoon row moved %v, want %d", moved, first.Moved)
	}
	cells := b.Texts(t, tab, "#repairs tr.repair:last-child td")
	if len(cells) < 5 || cells[1] != "停工" || cells[2] != "台风停航" || cells[4] != "已完成" {
		t.Errorf("typhoon row %q", cells)
	}
	probs := b.Attrs(t, tab, "#repair-problems tr.repair-problem", "data-reason")
	if len(probs) != min(second.Unrepaired, 200) {
		t.Fatalf("%d problems shown, the repair listed %d", len(probs), second.Unrepaired)
	}
	why := b.Texts(t, tab, "#repair-problems tr.repair-problem td:nth-child(5)")
	if !strings.Contains(why[0], "没有未停工且有余量的工作日") {
		t.Errorf("problem reason %q", why[0])
	}
	if nav := b.Texts(t, tab, `header nav a[href="/repairs"]`); len(nav) != 1 || nav[0] != "日程修复" {
		t.Errorf("nav %q", nav)
	}
	b.Screenshot(t, tab, "repairs")
	b.Open(t, tab, "/repairs?lang=en")
	if h := b.Texts(t, tab, "h1"); len(h) != 1 || h[0] != "Calendar repairs" {
		t.Errorf("English title %q", h)
	}
	if why := b.Texts(t, tab, "#repair-problems tr.repair-problem td:nth-child(5)"); !strings.HasPrefix(why[0], "No open working day") {
		t.Errorf("English reason %q", why[0])
	}

	leader := b.Browser(t)
	b.Login(t, leader, domain.RoleTeamLeader)
	b.Open(t, leader, "/repairs")
	if s := b.Status(t, leader); s != 0 || len(b.Texts(t, leader, "#repairs tr.repair")) != 2 {
		t.Errorf("team leader: status %d", s)
	}
	insp := b.Browser(t)
	b.Login(t, insp, domain.RoleInspector)
	b.Open(t, insp, "/repairs")
	if s := b.Status(t, insp); s != 403 {
		t.Errorf("inspector: status %d, want 403", s)
	}
	// No button to undo a repair whose closure stands.
	if n := b.Texts(t, tab, "#repairs form.restore button"); len(n) != 0 {
		t.Fatalf("restore buttons while the closures stand: %q", n)
	}
	// The typhoon passes early: the admin lifts it and asks for its visits back.
	if _, err := b.st.DeleteClosure(ctx, "test", typhoon.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.DeleteClosure(ctx, "test", ferries.ID); err != nil {
		t.Fatal(err)
	}
	b.Open(t, tab, "/repairs?lang=zh")
	button := fmt.Sprintf(`#repairs tr.repair[data-id="%d"] form.restore button`, first.ID)
	if got := b.Texts(t, tab, button); len(got) != 1 || got[0] != "恢复原定日期" {
		t.Fatalf("restore button %q", got)
	}
	if err := chromedp.Run(tab, chromedp.Click(button, chromedp.ByQuery), chromedp.WaitVisible(`#repairs tr.repair[data-status="pending"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	queued := b.Attrs(t, tab, `#repairs tr.repair[data-status="pending"]`, "data-id")
	back, _ := strconv.ParseInt(queued[0], 10, 64)
	r, err := plans.RunRepair(ctx, back)
	if err != nil || r.Cause != store.RepairCauseRestore || r.Moved == 0 {
		t.Fatalf("restore %+v %v", r, err)
	}
	b.Open(t, tab, "/repairs")
	if note := b.Texts(t, tab, fmt.Sprintf(`#repairs tr.repair[data-id="%d"] td:last-child`, first.ID)); len(note) != 1 ||
		note[0] != fmt.Sprintf("已恢复原定日期：修复 #%d", back) {
		t.Errorf("typhoon row after the restore %q", note)
	}
	if n := b.Texts(t, tab, "#repairs form.restore button"); len(n) != 0 {
		t.Errorf("restore buttons left: %q (the ferries moved nothing)", n)
	}
}
