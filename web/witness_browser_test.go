package web_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"inspectonce/api"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// TestBrowserWitness (issue 19 part 4): on a service configured for witness
// randomness, a plan commits its frames and waits; the 司法局's witness
// signs in, lands on /witness, sees the commitment, is told at the field
// that a two-character value is no randomness, enters a real one, and the
// plan goes on to its draft drawn at the shift that value gives.
func TestBrowserWitness(t *testing.T) {
	b := newBrowserEnv(t)
	ctx := context.Background()
	cfg := *b.cfg
	cfg.Planning.Randomness = planning.RandomnessWitness
	now := func() time.Time { return b.Today.Add(9 * time.Hour) }
	plans, err := planning.New(planning.Options{Store: b.st, Config: &cfg, Calendar: b.cal, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: b.st, Config: &cfg, Calendar: b.cal, Now: now, Planning: plans,
		Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL

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
	dept, err1 := strconv.ParseInt(rows[0][0], 10, 64)
	item, err2 := strconv.ParseInt(rows[0][1], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	four := 4
	d := domain.Demand{DepartmentID: dept, Title: "浏览器测试：见证抽查", ItemIDs: []int64{item}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{Count: &four}, WindowFrom: from, WindowTo: to, Priority: 3, Source: domain.SourceRoutine}
	if _, err := b.st.CreateDemand(ctx, "test", nil, &d); err != nil {
		t.Fatal(err)
	}
	res, err := plans.Run(ctx, "test", planning.Request{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Awaiting {
		t.Fatalf("the run did not stop at its commitment: %+v", res.Plan)
	}
	cm, err := b.st.PlanCommitment(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}

	tab := b.Browser(t)
	b.Login(t, tab, domain.RoleWitness)
	if loc := b.Location(t, tab); !strings.HasSuffix(loc, "/witness") {
		t.Fatalf("a witness lands on %s", loc)
	}
	if hashes := b.Texts(t, tab, `#plan-`+strconv.FormatInt(res.PlanID, 10)+` .wit-hash`); len(hashes) != 1 || hashes[0] != cm.Commitment {
		t.Fatalf("commitment shown %q, want %s", hashes, cm.Commitment)
	}
	b.Screenshot(t, tab, "witness")
	form := `#plan-` + strconv.FormatInt(res.PlanID, 10) + ` form`
	if err := chromedp.Run(tab,
		chromedp.SetValue(form+` input[name="value"]`, "12", chromedp.ByQuery),
		chromedp.SetValue(form+` input[name="source"]`, "县司法局 王五", chromedp.ByQuery),
		chromedp.Submit(form, chromedp.ByQuery),
		chromedp.WaitVisible(`.field-error[data-field="value"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("a short value: %v", err)
	}
	if e := b.Texts(t, tab, `.field-error[data-field="value"]`); len(e) != 1 || !strings.Contains(e[0], "6 至 200") {
		t.Fatalf("field error %q", e)
	}
	if err := chromedp.Run(tab,
		chromedp.SetValue(form+` input[name="value"]`, "掷骰 3 6 1 4 2 5", chromedp.ByQuery),
		chromedp.Submit(form, chromedp.ByQuery),
		chromedp.WaitVisible(`#witness-entered`, chromedp.ByID),
	); err != nil {
		t.Fatalf("the value: %v", err)
	}
	b.Screenshot(t, tab, "witness_entered")
	var p store.Plan
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if p, err = plans.Get(ctx, res.PlanID); err != nil {
			t.Fatal(err)
		}
		if p.Status != store.PlanRunning {
			break
		}
	}
	cm, err = b.st.PlanCommitment(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.PlanDraft || cm.Value == nil || *cm.Value != "掷骰 3 6 1 4 2 5" || cm.Shift == nil || *cm.Shift != p.Shift {
		t.Fatalf("after the value: plan %s (%s), commitment %+v", p.Status, p.Failure, cm)
	}
}
