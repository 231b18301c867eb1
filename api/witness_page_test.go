package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestWitnessPage: under witness randomness a run stops after committing
// its frames; the commitment is public at once; the witness sees it on
// /witness and enters the value there (a refused value at its field, in
// Chinese), the operator cannot; the run then goes on to a draft drawn at
// the shift the value gives, and the value cannot be entered twice.
func TestWitnessPage(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_PLANNING_RANDOMNESS=witness")
	ctx := context.Background()
	v.planCounty()
	tok, _, err := v.st.CreateToken(ctx, "test", "县司法局 王五", domain.RoleWitness, "")
	if err != nil {
		t.Fatal(err)
	}
	v.tokens["witness"] = tok
	three := 3
	d := &domain.Demand{DepartmentID: v.deptA.ID, Title: "餐饮抽查", ItemIDs: []int64{v.itemA.ID}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{RegionIDs: []int64{v.town.ID}, Count: &three}, WindowFrom: testToday,
		WindowTo: testToday.AddDate(0, 0, 20), Priority: 3, Source: domain.SourceRoutine}
	if _, err := v.st.CreateDemand(ctx, "test", nil, d); err != nil {
		t.Fatal(err)
	}
	p := v.startPlan(map[string]any{"from": testToday.AddDate(0, 0, 1).Format(time.DateOnly), "to": testToday.AddDate(0, 0, 20).Format(time.DateOnly)})
	var running store.Plan
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil)
		r.json(t, &running)
		if running.ProgressNote == store.ProgressNoteAwaiting || running.Status != store.PlanRunning || time.Now().After(deadline) {
			break
		}
	}
	if running.Status != store.PlanRunning || running.ProgressNote != store.ProgressNoteAwaiting {
		t.Fatalf("plan after its first stage: %s (%s)", running.Status, running.ProgressNote)
	}
	r := v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/commitment", p.ID), nil)
	expect(t, r, 200, "public commitment")
	var cm store.PlanCommitment
	r.json(t, &cm)
	if cm.Value != nil || len(cm.Draws) != 1 || cm.Draws[0].DemandID != d.ID {
		t.Fatalf("commitment: %s", r.Body)
	}

	_, _, body := v.pageReq("witness", "GET", "/witness")
	if !strings.Contains(body, cm.Commitment) || !strings.Contains(body, `action="/witness/`+fmt.Sprint(p.ID)+`"`) {
		t.Fatalf("/witness does not show the commitment and its form to the witness:\n%.2000s", body)
	}
	if _, _, body := v.pageReq("admin", "GET", "/witness"); strings.Contains(body, `action="/witness/`) || !strings.Contains(body, "见证人录入") {
		t.Fatalf("/witness offers the operator the witness's form")
	}
	if status, _, _ := v.pageReq("planner", "GET", "/witness"); status != http.StatusForbidden {
		t.Fatalf("a planner opens /witness: %d", status)
	}
	if status, _, _ := v.pageForm("admin", fmt.Sprintf("/witness/%d", p.ID), "", url.Values{"value": {"chosen by the operator"}, "source": {"admin"}}); status != http.StatusForbidden {
		t.Fatalf("the operator posts the witness form: %d", status)
	}
	status, _, body := v.pageForm("witness", fmt.Sprintf("/witness/%d", p.ID), "", url.Values{"value": {"12"}, "source": {"县司法局 王五"}})
	if got := fieldError(body, "value"); status != http.StatusUnprocessableEntity || !strings.Contains(got, "6 至 200") {
		t.Fatalf("a short value: %d, at the field %q", status, got)
	}
	status, hdr, _ := v.pageForm("witness", fmt.Sprintf("/witness/%d", p.ID), "", url.Values{"value": {"掷骰 3 6 1 4 2 5"}, "source": {"县司法局 王五"}})
	if status != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "entered=") {
		t.Fatalf("the witness's value: %d %v", status, hdr)
	}
	draft := v.waitPlan(p.ID)
	if draft.Status != store.PlanDraft {
		t.Fatalf("after the value the plan is %s (%s)", draft.Status, draft.Failure)
	}
	r = v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/commitment", p.ID), nil)
	r.json(t, &cm)
	if cm.Value == nil || *cm.Value != "掷骰 3 6 1 4 2 5" || cm.Shift == nil || *cm.Shift != draft.Shift {
		t.Fatalf("entered commitment %s, plan shift %v", r.Body, draft.Shift)
	}
	status, _, body = v.pageForm("witness", fmt.Sprintf("/witness/%d", p.ID), "", url.Values{"value": {"another value"}, "source": {"x"}})
	if status != http.StatusConflict {
		t.Fatalf("a second value: %d", status)
	}
	// The API says the same.
	r = v.do("witness", "POST", fmt.Sprintf("/api/v1/plans/%d/randomness", p.ID), map[string]string{"value": "another value", "source": "x"})
	expect(t, r, http.StatusConflict, "second value by API")
}
