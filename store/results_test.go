package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/planning"
	"inspectonce/risk"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// resultRules are the default rules with today 2026-03-05, the Thursday after
// the hand plan's first visits (03-03 and 03-04).
func resultRules(t testing.TB) (store.ResultRules, *calendar.Calendar) {
	t.Helper()
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	return store.ResultRules{Today: day("2026-03-05"), Calendar: cal, Risk: cfg.Risk.Rule,
		PublishWithinWorkingDays: cfg.Results.PublishWithinWorkingDays,
		RedoMinWindowWorkingDays: cfg.Results.RedoMinWindowWorkingDays, ReinspectionWindowWorkingDays: cfg.Results.ReinspectionWindowWorkingDays}, cal
}

var uuidN int

// newUUID makes distinct, valid client ids.
func newUUID() string {
	uuidN++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", uuidN)
}

func countRows(t testing.TB, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func fieldErr(err error) string {
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) == 0 {
		return ""
	}
	return v.Fields[0].Field
}

// doorTasks returns the task numbers of a visit by department.
func doorTasks(t testing.TB, st *store.Store, planID int64, seq int, inspector int64) (store.DoorVisit, map[int64]int) {
	t.Helper()
	v, err := st.DoorVisit(context.Background(), planID, seq, inspector)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int{}
	for _, tk := range v.Tasks {
		out[tk.DepartmentID] = tk.TaskSeq
	}
	return v, out
}

func TestRetriedUploadsRecordOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	rules, _ := resultRules(t)
	// Visit 1 (biz[0], 03-03) is assigned to inspectors 1 and 0.
	insp := f.inspectors[1]
	_, tasks := doorTasks(t, st, p.ID, 1, insp)

	lat, lng, acc := 30.71, 122.45, 12.5
	at := time.Date(2026, 3, 3, 1, 30, 0, 0, time.UTC)
	ci := store.CheckInInput{ClientID: newUUID(), At: &at, Lat: &lat, Lng: &lng, AccuracyM: &acc}
	first, replayed, err := st.RecordCheckIn(ctx, p.ID, 1, insp, ci, rules)
	if err != nil || replayed {
		t.Fatalf("check-in: %v (replayed %v)", err, replayed)
	}
	again, replayed, err := st.RecordCheckIn(ctx, p.ID, 1, insp, ci, rules)
	if err != nil || !replayed {
		t.Fatalf("retried check-in: %v (replayed %v)", err, replayed)
	}
	if a, b := mustJSON(t, first), mustJSON(t, again); a != b {
		t.Fatalf("retried check-in answered %s, first %s", b, a)
	}
	if n := countRows(t, st, "visit_checkins"); n != 1 {
		t.Fatalf("%d check-ins after a retry, want 1", n)
	}
	// The same client id saying something else is a conflict; a second
	// check-in under a new id too.
	other := lat + 1
	if _, _, err := st.RecordCheckIn(ctx, p.ID, 1, insp, store.CheckInInput{ClientID: ci.ClientID, At: &at, Lat: &other, Lng: &lng}, rules); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("same client id, other position: %v, want a conflict", err)
	}
	if _, _, err := st.RecordCheckIn(ctx, p.ID, 1, insp, store.CheckInInput{ClientID: newUUID()}, rules); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second check-in: %v, want a conflict", err)
	}

	in := store.ResultInput{ClientID: newUUID(), Outcome: store.ResultCompliant, Note: " 台账齐全 "}
	r1, replayed, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], insp, in, rules)
	if err != nil || replayed || r1.ID == 0 || r1.Note != "台账齐全" || r1.USCC != f.biz[0] || r1.DepartmentID != f.deptA {
		t.Fatalf("result: %+v %v (replayed %v)", r1, err, replayed)
	}
	r2, replayed, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], insp, in, rules)
	if err != nil || !replayed {
		t.Fatalf("retried result: %v (replayed %v)", err, replayed)
	}
	if a, b := mustJSON(t, r1), mustJSON(t, r2); a != b {
		t.Fatalf("retried result answered %s, first %s", b, a)
	}
	if n := countRows(t, st, "task_results"); n != 1 {
		t.Fatalf("%d results after a retry, want 1", n)
	}
	changed := in
	changed.Outcome, changed.RuleCited = store.ResultMinor, "《食品安全法》第五十四条"
	if _, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], insp, changed, rules); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("same client id, other outcome: %v, want a conflict", err)
	}
	if n := countRows(t, st, "task_results"); n != 1 {
		t.Fatalf("%d results after a conflict, want 1", n)
	}

	// Refusals that depend on the visit: each names its field or says why,
	// and records nothing.
	refusals := []struct {
		name    string
		seq     int
		task    int
		insp    int64
		in      store.ResultInput
		rules   store.ResultRules
		field   string
		sentErr error
	}{
		{"rectify_by on the visit's day", 1, tasks[f.deptA], insp,
			store.ResultInput{Outcome: store.ResultViolation, RuleCited: "第一条", RectifyBy: "2026-03-03"}, rules, "rectify_by", nil},
		{"rectify_by decades out (2062 for 2026)", 1, tasks[f.deptA], insp,
			store.ResultInput{Outcome: store.ResultViolation, RuleCited: "第一条", RectifyBy: "2062-03-13"}, rules, "rectify_by", nil},
		{"rectify_by past the configured bound", 1, tasks[f.deptA], insp,
			store.ResultInput{Outcome: store.ResultViolation, RuleCited: "第一条", RectifyBy: "2026-04-03"},
			func() store.ResultRules { r := rules; r.MaxRectifyDays = 30; return r }(), "rectify_by", nil},
		{"transfer to the task's own department", 1, tasks[f.deptA], insp,
			store.ResultInput{Outcome: store.ResultTransferred, TransferredTo: f.deptA}, rules, "transferred_to", nil},
		{"transfer to no department", 1, tasks[f.deptA], insp,
			store.ResultInput{Outcome: store.ResultTransferred, TransferredTo: 9999}, rules, "transferred_to", nil},
		{"inspector not assigned", 1, tasks[f.deptA], f.inspectors[2],
			store.ResultInput{Outcome: store.ResultCompliant}, rules, "", domain.ErrNotFound},
		{"task of another visit", 2, tasks[f.deptA], f.inspectors[2],
			store.ResultInput{Outcome: store.ResultCompliant}, rules, "", domain.ErrNotFound},
		{"visit not due yet", 1, tasks[f.deptA], insp,
			store.ResultInput{Outcome: store.ResultCompliant}, store.ResultRules{Today: day("2026-03-02")}, "", domain.ErrConflict},
	}
	for _, c := range refusals {
		c.in.ClientID = newUUID()
		_, _, err := st.RecordResult(ctx, p.ID, c.seq, c.task, c.insp, c.in, c.rules)
		switch {
		case c.field != "" && fieldErr(err) != c.field:
			t.Errorf("%s: %v, want a validation error on %s", c.name, err, c.field)
		case c.sentErr != nil && !errors.Is(err, c.sentErr):
			t.Errorf("%s: %v, want %v", c.name, err, c.sentErr)
		}
	}
	if n := countRows(t, st, "task_results"); n != 1 {
		t.Fatalf("%d results after refusals, want 1", n)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfirmedViolationTurnsRedAndFollowsUp: both inspectors confirm a visit
// with a violation and a task not done. The report is written with the
// publication deadline 20 working days on; the business turns red (history
// names the result, the audit log has it); a redo and a re-inspection demand
// are made; nothing more can be recorded; and the next plan weighs the
// business red and places the redo demand again.
func TestConfirmedViolationTurnsRedAndFollowsUp(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	rules, cal := resultRules(t)
	a, b := f.inspectors[1], f.inspectors[0]
	_, tasks := doorTasks(t, st, p.ID, 1, a)
	if _, _, err := st.RecordCheckIn(ctx, p.ID, 1, a, store.CheckInInput{ClientID: newUUID()}, rules); err != nil {
		t.Fatal(err)
	}
	viol, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], a, store.ResultInput{ClientID: newUUID(),
		Outcome: store.ResultViolation, RuleCited: "《食品安全法》第五十五条", RectifyBy: "2026-03-13"}, rules)
	if err != nil {
		t.Fatal(err)
	}
	// Confirming before every task has a result is refused.
	if _, _, err := st.ConfirmVisit(ctx, "inspector", p.ID, 1, a, newUUID(), rules); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("confirm with a task left: %v, want a conflict", err)
	}
	if _, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptB], b, store.ResultInput{ClientID: newUUID(),
		Outcome: store.ResultCompliant}, rules); err != nil {
		t.Fatal(err)
	}
	oa, _, err := st.ConfirmVisit(ctx, "inspector-a", p.ID, 1, a, newUUID(), rules)
	if err != nil || oa.Report != nil || len(oa.ConfirmedBy) != 1 || !oa.Confirmation.Current {
		t.Fatalf("first confirmation: %+v %v", oa, err)
	}
	// A change after a confirmation makes it stale: b's confirmation alone
	// is not two.
	notDone, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptB], b, store.ResultInput{ClientID: newUUID(),
		Outcome: store.ResultNotDone, NotDoneReason: "refused", Note: "负责人拒绝配合消防检查"}, rules)
	if err != nil {
		t.Fatal(err)
	}
	ob, _, err := st.ConfirmVisit(ctx, "inspector-b", p.ID, 1, b, newUUID(), rules)
	if err != nil || ob.Report != nil || len(ob.ConfirmedBy) != 1 || ob.ConfirmedBy[0] != b {
		t.Fatalf("confirmation after a change: %+v %v", ob, err)
	}
	if n := countRows(t, st, "visit_reports"); n != 0 {
		t.Fatalf("a stale confirmation made a report")
	}
	auditBefore := countRows(t, st, "audit_log")
	confirmA := newUUID()
	final, replayed, err := st.ConfirmVisit(ctx, "inspector-a", p.ID, 1, a, confirmA, rules)
	if err != nil || replayed || final.Report == nil || len(final.ConfirmedBy) != 2 {
		t.Fatalf("second current confirmation: %+v %v", final, err)
	}
	rep := final.Report
	wantDue := cal.AddWorkingDays(day("2026-03-03"), 20)
	if rep.VisitDate != "2026-03-03" || rep.PublishDue != wantDue.Format(time.DateOnly) || rep.PerformedTasks != 1 ||
		rep.NotDoneTasks != 1 || len(rep.DepartmentIDs) != 1 || rep.DepartmentIDs[0] != f.deptA || rep.CheckedInAt == nil ||
		rep.USCC != f.biz[0] || rep.PublishedAt != nil {
		t.Fatalf("report %+v, want visit 2026-03-03 due %s, SCJG performed, XFJY not done", rep, wantDue.Format(time.DateOnly))
	}
	if wantDue.Format(time.DateOnly) != "2026-03-31" {
		t.Fatalf("20 working days after 2026-03-03 is %s (calendar)", wantDue.Format(time.DateOnly))
	}

	// Red, with the violation as the reason, in history and the audit log.
	if final.Risk == nil || !final.Risk.Changed || final.Risk.From != domain.RiskGreen || final.Risk.To != domain.RiskRed || final.Risk.ResultID != viol.ID {
		t.Fatalf("risk outcome %+v, want green → red by result %d", final.Risk, viol.ID)
	}
	bz, err := st.GetBusiness(ctx, f.biz[0])
	if err != nil || bz.RiskCode != domain.RiskRed || !strings.Contains(bz.RiskReason, "《食品安全法》第五十五条") {
		t.Fatalf("business after the report: %+v %v", bz, err)
	}
	var histResult int64
	var histBy string
	if err := st.SQL().QueryRow(`SELECT result_id, set_by FROM risk_code_history WHERE uscc = $1 AND risk_code = 'red'`, f.biz[0]).
		Scan(&histResult, &histBy); err != nil || histResult != viol.ID || histBy != "inspector-a" {
		t.Fatalf("risk history: result %d by %q, %v; want result %d", histResult, histBy, err, viol.ID)
	}
	// The reason: a stable code and parameters, and its words in Chinese
	// (the default language), stored and in the history.
	wantVisit := fmt.Sprintf("计划%d第1号检查（2026年3月3日）", p.ID)
	if final.Risk.ReasonCode != risk.ReasonViolation || final.Risk.ReasonParams == nil || final.Risk.ReasonParams.PlanID != p.ID ||
		final.Risk.ReasonParams.RuleCited != "《食品安全法》第五十五条" || !strings.HasPrefix(final.Risk.Reason, wantVisit+"发现违法行为：") ||
		bz.RiskReason != final.Risk.Reason {
		t.Fatalf("risk reason %+v (business: %q), want a violation at %s", final.Risk, bz.RiskReason, wantVisit)
	}
	hist, err := st.RiskHistory(ctx, f.biz[0])
	if err != nil || len(hist) == 0 {
		t.Fatal(hist, err)
	}
	if h := hist[len(hist)-1]; h.ReasonCode != risk.ReasonViolation || h.Reason != final.Risk.Reason ||
		risk.ReasonText(messages.EN, h.ReasonCode, h.ReasonParams, "") != fmt.Sprintf("violation at plan %d visit 1 (2026-03-03): %s (《食品安全法》第五十五条)", p.ID, final.Risk.ReasonParams.Item) {
		t.Fatalf("history %+v", h)
	}
	var actions []string
	if _, err := st.ChainAudit(ctx, true); err != nil {
		t.Fatal(err)
	}
	rows, err := st.SQL().Query(`SELECT action FROM audit_log WHERE seq > $1 ORDER BY seq`, auditBefore)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		actions = append(actions, a)
	}
	rows.Close()
	if got := strings.Join(actions, ","); got != "visit.report,business.risk_change,demand.follow_up,demand.follow_up" {
		t.Fatalf("audit actions %s", got)
	}
	if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil || n == 0 {
		t.Fatalf("audit chain: %d %+v %v", n, brk, err)
	}

	// One redo demand (XFJY, the item refused) and one re-inspection (SCJG,
	// unannounced, after the deadline).
	if len(final.FollowUps) != 2 {
		t.Fatalf("follow-ups %+v", final.FollowUps)
	}
	redo, reinspect := final.FollowUps[0], final.FollowUps[1]
	if redo.Kind != store.OriginRedo || redo.DepartmentID != f.deptB || len(redo.ItemIDs) != 1 || redo.ItemIDs[0] != f.itemB ||
		redo.WindowFrom != "2026-03-06" || redo.WindowTo != "2026-03-27" {
		t.Fatalf("redo demand %+v, want XFJY item %d from 2026-03-06 to the original end 2026-03-27", redo, f.itemB)
	}
	if reinspect.Kind != store.OriginReinspection || reinspect.DepartmentID != f.deptA || reinspect.ItemIDs[0] != f.itemA ||
		reinspect.WindowFrom != "2026-03-16" || reinspect.WindowTo != cal.AddWorkingDays(day("2026-03-16"), 19).Format(time.DateOnly) {
		t.Fatalf("re-inspection demand %+v, want SCJG from 2026-03-16 (the working day after 03-13) for 20 working days", reinspect)
	}
	d, err := st.GetDemand(ctx, redo.DemandID, 0)
	if err != nil || d.Source != domain.SourceComplaint || d.Priority != 2 || len(d.Businesses) != 1 || d.Businesses[0] != f.biz[0] || d.TargetKind != domain.TargetList {
		t.Fatalf("redo demand %+v %v", d, err)
	}
	if d, err := st.GetDemand(ctx, reinspect.DemandID, 0); err != nil || d.AnnounceDays != 0 {
		t.Fatalf("re-inspection demand %+v %v: want unannounced", d, err)
	}
	_ = notDone
	// Their titles in Chinese: the kind, the original demand's title and the visit.
	for _, fu := range final.FollowUps {
		d, err := st.GetDemand(ctx, fu.DemandID, 0)
		want := map[string]string{store.OriginRedo: "补查（未能检查）", store.OriginReinspection: "复查（整改期满）"}[fu.Kind]
		if err != nil || !strings.HasPrefix(d.Title, want) || !strings.HasSuffix(d.Title, " · "+wantVisit) || strings.Contains(d.Title, "plan") {
			t.Fatalf("%s demand title %q %v, want %q … %s", fu.Kind, d.Title, err, want, wantVisit)
		}
	}

	// Final: no more results, check-ins or confirmations; a replay of the
	// deciding confirmation still answers.
	if _, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], a, store.ResultInput{ClientID: newUUID(), Outcome: store.ResultCompliant}, rules); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("result after the report: %v, want a conflict", err)
	}
	if _, _, err := st.ConfirmVisit(ctx, "inspector-b", p.ID, 1, b, newUUID(), rules); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("confirmation after the report: %v, want a conflict", err)
	}
	again, replayed, err := st.ConfirmVisit(ctx, "inspector-a", p.ID, 1, a, confirmA, rules)
	if err != nil || !replayed || again.Report == nil || again.Confirmation.ClientID != confirmA || countRows(t, st, "visit_reports") != 1 {
		t.Fatalf("replayed confirmation: %+v %v", again, err)
	}
	if n := countRows(t, st, "demands WHERE origin_kind IS NOT NULL"); n != 2 {
		t.Fatalf("%d follow-up demands, want 2", n)
	}

	// The next plan: its input has the business red, a new sample's frame
	// weighs it red, and the redo demand is placed again at the business.
	dc := &domain.Department{Code: "WSJK", Name: "卫健"}
	if err := st.CreateDepartment(ctx, "test", dc); err != nil {
		t.Fatal(err)
	}
	ic := &domain.Item{Code: "WSJK-01", DepartmentID: dc.ID, Name: "公共卫生", Domain: "food_safety", Minutes: 20}
	if err := st.CreateItem(ctx, "test", ic); err != nil {
		t.Fatal(err)
	}
	// Recusal keeps the visit's two inspectors away from the business next
	// time: the team needs two more.
	for i := range 2 {
		in := &domain.Inspector{Code: fmt.Sprintf("N%d", i), Name: fmt.Sprintf("新%d", i), TeamID: f.team,
			Domains: []string{"food_safety", "fire_safety"}}
		if err := st.CreateInspector(ctx, "test", in); err != nil {
			t.Fatal(err)
		}
	}
	ratio := 0.5
	sample := &domain.Demand{DepartmentID: dc.ID, ItemIDs: []int64{ic.ID}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{IndustryCodes: []string{"H6210"}, Ratio: &ratio}, WindowFrom: day("2026-03-09"),
		WindowTo: day("2026-03-27"), Priority: 3, Source: domain.SourceCampaign}
	if _, err := st.CreateDemand(ctx, "test", nil, sample); err != nil {
		t.Fatal(err)
	}
	in, err := st.PlannerInput(ctx, day("2026-03-09"), day("2026-03-27"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bz := range in.Businesses {
		if want := map[bool]string{true: domain.RiskRed, false: domain.RiskGreen}[bz.USCC == f.biz[0]]; bz.Risk != want {
			t.Fatalf("planner input: business %s is %s, want %s", bz.USCC, bz.Risk, want)
		}
	}
	followUps := 0
	for _, d := range in.Demands {
		if d.FollowUp {
			followUps++
		}
	}
	if followUps != 2 {
		t.Fatalf("planner input holds %d follow-up demands, want 2", followUps)
	}

	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 5, 16, 0, 0, 0, cfg.Location())
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Run(ctx, "tester", planning.Request{From: day("2026-03-09"), To: day("2026-03-27")})
	if err != nil {
		t.Fatal(err)
	}
	weighed := false
	for _, dr := range res.Result.Draws {
		if dr.DemandID != sample.ID {
			continue
		}
		for _, c := range dr.Frame {
			want := cfg.Risk.Weights[domain.RiskGreen]
			if c.Key == f.biz[0] {
				want, weighed = cfg.Risk.Weights[domain.RiskRed], true
			}
			if c.Weight != want {
				t.Fatalf("draw frame weighs %s %g, want %g", c.Key, c.Weight, want)
			}
		}
	}
	if !weighed {
		t.Fatalf("the red business is not in the new sample's frame")
	}
	placed := map[int64]bool{}
	for _, v := range res.Result.Visits {
		for _, tk := range v.Tasks {
			if v.USCC == f.biz[0] {
				placed[tk.DemandID] = true
			}
		}
	}
	if !placed[redo.DemandID] || !placed[reinspect.DemandID] {
		t.Fatalf("next plan's visits at %s serve demands %v; want the redo %d and the re-inspection %d (unplaced: %+v)",
			f.biz[0], placed, redo.DemandID, reinspect.DemandID, res.Result.Unplaced)
	}
}

// TestCleanVisitsStepDown: a red business with two clean confirmed visits
// steps down to yellow; the risk rule is read from the rules passed in.
func TestCleanVisitsStepDown(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	rules, _ := resultRules(t)
	rules.Risk = risk.Rule{OnViolation: risk.Red, OnMinor: risk.Yellow, CleanVisitsToStepDown: 1}
	bz, err := st.GetBusiness(ctx, f.biz[1])
	if err != nil {
		t.Fatal(err)
	}
	bz.RiskCode, bz.RiskReason = domain.RiskRed, "投诉查实"
	if err := st.UpdateBusiness(ctx, "admin", &bz); err != nil {
		t.Fatal(err)
	}
	// Visit 2 (biz[1], 03-03, SCJG): inspectors 2 and 1.
	_, tasks := doorTasks(t, st, p.ID, 2, f.inspectors[2])
	if _, _, err := st.RecordResult(ctx, p.ID, 2, tasks[f.deptA], f.inspectors[2],
		store.ResultInput{ClientID: newUUID(), Outcome: store.ResultTransferred, TransferredTo: f.deptB}, rules); err != nil {
		t.Fatal(err)
	}
	for _, in := range []int64{f.inspectors[2], f.inspectors[1]} {
		if _, _, err := st.ConfirmVisit(ctx, "insp", p.ID, 2, in, newUUID(), rules); err != nil {
			t.Fatal(err)
		}
	}
	bz, _ = st.GetBusiness(ctx, f.biz[1])
	if bz.RiskCode != domain.RiskYellow {
		t.Fatalf("after a clean visit with a one-visit rule: %s, want yellow", bz.RiskCode)
	}
	// Why, in Chinese, the codes by their names; a reason set by hand stays
	// as written.
	hist, err := st.RiskHistory(ctx, f.biz[1])
	if err != nil || len(hist) < 2 {
		t.Fatal(hist, err)
	}
	byHand, ruled := hist[len(hist)-2], hist[len(hist)-1]
	want := fmt.Sprintf("连续1次检查未发现问题，最近一次为计划%d第2号检查（2026年3月3日）：红码 → 黄码", p.ID)
	if ruled.ReasonCode != risk.ReasonStepDown || ruled.Reason != want || bz.RiskReason != want {
		t.Fatalf("step-down reason %+v (business %q), want %q", ruled, bz.RiskReason, want)
	}
	if byHand.Reason != "投诉查实" || byHand.ReasonCode != "" || byHand.ReasonParams != nil {
		t.Fatalf("reason set by hand %+v", byHand)
	}
	if n := countRows(t, st, "demands WHERE origin_kind IS NOT NULL"); n != 0 {
		t.Fatalf("a clean visit made %d follow-up demands", n)
	}
}

func TestValidateResult(t *testing.T) {
	id := "5f0c6a57-3b8e-4a53-9a52-2f1f7f4c9d10"
	cases := []struct {
		name  string
		in    store.ResultInput
		field string // "" = valid
	}{
		{"compliant", store.ResultInput{ClientID: id, Outcome: "compliant"}, ""},
		{"minor with rule", store.ResultInput{ClientID: id, Outcome: "minor", RuleCited: "第十条"}, ""},
		{"violation", store.ResultInput{ClientID: id, Outcome: "violation", RuleCited: "第十条", RectifyBy: "2026-04-01"}, ""},
		{"transferred", store.ResultInput{ClientID: id, Outcome: "transferred", TransferredTo: 3}, ""},
		{"not done", store.ResultInput{ClientID: id, Outcome: "not_done", NotDoneReason: "closed"}, ""},
		{"upper-case uuid", store.ResultInput{ClientID: strings.ToUpper(id), Outcome: "compliant"}, ""},
		{"no client id", store.ResultInput{Outcome: "compliant"}, "client_id"},
		{"bad client id", store.ResultInput{ClientID: "retry-1", Outcome: "compliant"}, "client_id"},
		{"unknown outcome", store.ResultInput{ClientID: id, Outcome: "fine"}, "outcome"},
		{"minor without rule", store.ResultInput{ClientID: id, Outcome: "minor", RuleCited: "  "}, "rule_cited"},
		{"violation without deadline", store.ResultInput{ClientID: id, Outcome: "violation", RuleCited: "第十条"}, "rectify_by"},
		{"violation bad deadline", store.ResultInput{ClientID: id, Outcome: "violation", RuleCited: "第十条", RectifyBy: "next week"}, "rectify_by"},
		{"compliant citing a rule", store.ResultInput{ClientID: id, Outcome: "compliant", RuleCited: "第十条"}, "rule_cited"},
		{"minor with a deadline", store.ResultInput{ClientID: id, Outcome: "minor", RuleCited: "第十条", RectifyBy: "2026-04-01"}, "rectify_by"},
		{"transferred nowhere", store.ResultInput{ClientID: id, Outcome: "transferred"}, "transferred_to"},
		{"not done without reason", store.ResultInput{ClientID: id, Outcome: "not_done"}, "not_done_reason"},
		{"not done bad reason", store.ResultInput{ClientID: id, Outcome: "not_done", NotDoneReason: "rain"}, "not_done_reason"},
		{"reason on compliant", store.ResultInput{ClientID: id, Outcome: "compliant", NotDoneReason: "closed"}, "not_done_reason"},
		{"transfer on compliant", store.ResultInput{ClientID: id, Outcome: "compliant", TransferredTo: 2}, "transferred_to"},
		{"long note", store.ResultInput{ClientID: id, Outcome: "compliant", Note: strings.Repeat("记", 2001)}, "note"},
		{"long rule", store.ResultInput{ClientID: id, Outcome: "minor", RuleCited: strings.Repeat("条", 501)}, "rule_cited"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := store.ValidateResult(c.in)
			if got := fieldErr(err); got != c.field {
				t.Fatalf("ValidateResult: %v (field %q), want field %q", err, got, c.field)
			}
		})
	}
}

// FuzzValidateResult: whatever a phone sends, validation answers with field
// errors or accepts, never panics, and accepts only what the table's CHECKs
// would take.
func FuzzValidateResult(f *testing.F) {
	f.Add("5f0c6a57-3b8e-4a53-9a52-2f1f7f4c9d10", "violation", "第十条", "2026-04-01", int64(0), "", "")
	f.Add("", "not_done", "", "", int64(0), "closed", "店门紧闭")
	f.Add("x", "transferred", "", "", int64(-3), "", "")
	f.Add("5f0c6a57-3b8e-4a53-9a52-2f1f7f4c9d10", "minor", "\u00a0", "", int64(0), "", "")
	f.Fuzz(func(t *testing.T, id, outcome, rule, rectify string, to int64, reason, note string) {
		in := store.ResultInput{ClientID: id, Outcome: outcome, RuleCited: rule, RectifyBy: rectify, TransferredTo: to, NotDoneReason: reason, Note: note}
		err := store.ValidateResult(in)
		if err != nil {
			var v *domain.ValidationError
			if !errors.As(err, &v) || len(v.Fields) == 0 {
				t.Fatalf("error without fields: %v", err)
			}
			return
		}
		rule = strings.TrimSpace(rule)
		cites := outcome == "minor" || outcome == "violation"
		if cites != (rule != "") || (outcome == "violation") != (strings.TrimSpace(rectify) != "") ||
			(outcome == "transferred") != (to != 0) || (outcome == "not_done") != (strings.TrimSpace(reason) != "") || to < 0 {
			t.Fatalf("accepted %+v, which the table refuses", in)
		}
	})
}

// TestConcurrentRetriesRecordOnce: the same upload arriving eight times at
// once (a phone retrying over a flaky link) stores one result, and every
// answer is that result.
func TestConcurrentRetriesRecordOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	rules, _ := resultRules(t)
	_, tasks := doorTasks(t, st, p.ID, 1, f.inspectors[0])
	in := store.ResultInput{ClientID: newUUID(), Outcome: store.ResultMinor, RuleCited: "《食品安全法》第五十四条"}
	type answer struct {
		r   store.TaskResult
		err error
	}
	answers := make(chan answer, 8)
	for range 8 {
		go func() {
			r, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], f.inspectors[0], in, rules)
			answers <- answer{r, err}
		}()
	}
	var ids []int64
	for range 8 {
		a := <-answers
		if a.err != nil {
			t.Fatalf("concurrent retry: %v", a.err)
		}
		ids = append(ids, a.r.ID)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("answers name results %v, want one", ids)
		}
	}
	if n := countRows(t, st, "task_results"); n != 1 {
		t.Fatalf("%d results stored, want 1", n)
	}
}
