package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/migrations"
	"inspectonce/risk"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestRiskReasonBackfill: the rule's reasons stored in English before codes
// existed get their code and parameters from migration 00021, and then read
// in Chinese; a reason it cannot read keeps its words.
func TestRiskReasonBackfill(t *testing.T) {
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
	_, tasks := doorTasks(t, st, p.ID, 2, f.inspectors[2])
	if _, _, err := st.RecordResult(ctx, p.ID, 2, tasks[f.deptA], f.inspectors[2],
		store.ResultInput{ClientID: newUUID(), Outcome: store.ResultCompliant}, rules); err != nil {
		t.Fatal(err)
	}
	for _, in := range []int64{f.inspectors[2], f.inspectors[1]} {
		if _, _, err := st.ConfirmVisit(ctx, "insp", p.ID, 2, in, newUUID(), rules); err != nil {
			t.Fatal(err)
		}
	}
	// As an older version wrote them: English words, no code.
	legacy := []string{
		fmt.Sprintf("1 clean visits in a row, the latest plan %d visit 2 (2026-03-03): red → yellow", p.ID),
		fmt.Sprintf("violation at plan %d visit 2 (2026-03-03): 食品经营 (《食品安全法》第五十五条)", p.ID),
		fmt.Sprintf("minor finding at plan %d visit 2 (2026-03-03): 食品经营", p.ID),
		"something else entirely",
	}
	db := st.SQL()
	if _, err := db.Exec(`UPDATE risk_code_history SET reason = $2, reason_code = NULL, reason_params = NULL
		WHERE uscc = $1 AND result_id IS NOT NULL`, f.biz[1], legacy[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range legacy[1:] {
		if _, err := db.Exec(`INSERT INTO risk_code_history (uscc, risk_code, set_at, reason, set_by, result_id)
			SELECT uscc, risk_code, set_at + interval '1 second', $2, set_by, result_id FROM risk_code_history
			WHERE uscc = $1 AND result_id IS NOT NULL ORDER BY id LIMIT 1`, f.biz[1], r); err != nil {
			t.Fatal(err)
		}
	}
	up, err := migrations.FS.ReadFile("00021_risk_reason_code.sql")
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := strings.Cut(string(up), "-- +goose Down")
	for _, stmt := range strings.Split(body, ";\n") {
		if i := strings.Index(stmt, "UPDATE"); i >= 0 {
			if _, err := db.Exec(stmt[i:]); err != nil {
				t.Fatalf("backfill: %v\n%s", err, stmt[i:])
			}
		}
	}
	hist, err := st.RiskHistory(ctx, f.biz[1])
	if err != nil {
		t.Fatal(err)
	}
	visit := fmt.Sprintf("计划%d第2号检查（2026年3月3日）", p.ID)
	want := map[string]string{
		legacy[0]: "连续1次检查未发现问题，最近一次为" + visit + "：红码 → 黄码",
		legacy[1]: visit + "发现违法行为：食品经营 (《食品安全法》第五十五条)",
		legacy[2]: visit + "发现轻微问题：食品经营",
		legacy[3]: legacy[3],
	}
	seen := 0
	for _, h := range hist {
		w, ok := want[h.Reason]
		if !ok {
			continue
		}
		seen++
		if got := risk.ReasonText(messages.ZH, h.ReasonCode, h.ReasonParams, h.Reason); got != w {
			t.Errorf("%q (code %q %s) reads %q, want %q", h.Reason, h.ReasonCode, h.ReasonParams, got, w)
		}
	}
	if seen != len(legacy) {
		t.Fatalf("%d of %d legacy rows in the history %+v", seen, len(legacy), hist)
	}
}
