package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"inspectonce/store"
)

// draftForApproval makes the small county's draft with two visits.
func (v *env) draftForApproval() store.Plan {
	v.t.Helper()
	v.planCounty()
	v.submit("planner", v.itemA.ID, v.bizA.USCC, v.bizB.USCC)
	v.submit("plannerB", v.itemB.ID, v.bizA.USCC)
	p := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	if p.Status != store.PlanDraft {
		v.t.Fatalf("plan %d: %s (%s)", p.ID, p.Status, p.Failure)
	}
	return p
}

type approvalAnswer struct {
	Approval store.PlanApproval  `json:"approval"`
	State    store.ApprovalState `json:"state"`
}

func (v *env) approve(who string, id int64, step, decision, opinion string) resp {
	v.t.Helper()
	return v.do(who, "POST", fmt.Sprintf("/api/v1/plans/%d/approvals", id),
		map[string]string{"step": step, "decision": decision, "opinion": opinion})
}

// auditActions are the audit entries of action on plan id, oldest first.
func (v *env) auditOf(action string, id int64) []store.AuditEntry {
	v.t.Helper()
	entries, err := v.st.ListAudit(context.Background(), 0, store.MaxLimit)
	if err != nil {
		v.t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range entries {
		if e.Action == action && e.Object == fmt.Sprintf("plan/%d", id) {
			out = append(out, e)
		}
	}
	return out
}

// TestPlanApprovalTwoSteps: with two steps configured a draft is published
// only once both are approved, in order; every refusal is a 409 or 422 that
// says what is missing, and each decision is recorded and audited.
func TestPlanApprovalTwoSteps(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_PLANNING_APPROVAL_STEPS=法制审核,分管领导审批")
	p := v.draftForApproval()
	path := fmt.Sprintf("/api/v1/plans/%d/approvals", p.ID)

	r := v.do("planner", "GET", path, nil)
	expect(t, r, 200, "approvals as planner")
	var st store.ApprovalState
	r.json(t, &st)
	if len(st.Steps) != 2 || st.Steps[0].Step != "法制审核" || st.Steps[0].State != store.StepPending || st.Next != "法制审核" || st.Approved || st.Rejected {
		t.Fatalf("fresh draft: %+v", st)
	}

	publish := func(want int, what string) string {
		t.Helper()
		r := v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil)
		expect(t, r, want, what)
		if want != 200 {
			return r.problem(t).Detail
		}
		return ""
	}
	if d := publish(409, "publish before approval"); !strings.Contains(d, "法制审核, 分管领导审批") || !strings.Contains(d, "not approved") {
		t.Errorf("409 detail does not name the missing steps: %q", d)
	}

	// Bad decisions change nothing.
	for _, c := range []struct {
		who, step, decision, opinion string
		status                       int
		field                        string
	}{
		{"planner", "法制审核", "approve", "同意", 403, ""},
		{"admin", "法制审核", "approve", "  ", 422, "opinion"},
		{"admin", "法制审核", "maybe", "同意", 422, "decision"},
		{"admin", "", "approve", "同意", 422, "step"},
		{"admin", "局长签批", "approve", "同意", 422, "step"},
		{"admin", "分管领导审批", "approve", "同意", 409, ""},
	} {
		r := v.approve(c.who, p.ID, c.step, c.decision, c.opinion)
		expect(t, r, c.status, fmt.Sprintf("%s %q %s", c.who, c.step, c.decision))
		if c.field != "" && !slices.Contains(fieldsOf(t, r), c.field) {
			t.Errorf("%q %s %q: fields %v, want %s", c.step, c.decision, c.opinion, fieldsOf(t, r), c.field)
		}
	}
	if n := len(v.auditOf("plan.approve", p.ID)); n != 0 {
		t.Fatalf("%d approvals audited after refusals only", n)
	}

	r = v.approve("admin", p.ID, "法制审核", "approve", "抽查事项和依据符合规定。")
	expect(t, r, 201, "approve the first step")
	var a approvalAnswer
	r.json(t, &a)
	if a.Approval.Reviewer == "" || !strings.HasPrefix(a.Approval.Reviewer, "admin#") || a.Approval.DecidedAt.IsZero() ||
		a.Approval.Opinion != "抽查事项和依据符合规定。" || a.State.Next != "分管领导审批" || a.State.Approved {
		t.Fatalf("first approval: %+v", a)
	}
	if d := publish(409, "publish after one step"); !strings.Contains(d, "分管领导审批") || strings.Contains(d, "法制审核,") {
		t.Errorf("409 detail after one step: %q", d)
	}
	expect(t, v.approve("admin", p.ID, "法制审核", "approve", "再次同意"), 409, "approve a step twice")

	// The same person may decide the second step: recorded as such.
	r = v.approve("admin", p.ID, "分管领导审批", "approve", "同意发布")
	expect(t, r, 201, "approve the second step")
	r.json(t, &a)
	if !a.State.Approved || a.State.Next != "" || len(a.State.Records) != 2 {
		t.Fatalf("after both steps: %+v", a.State)
	}
	audited := v.auditOf("plan.approve", p.ID)
	if len(audited) != 2 || audited[0].Actor != a.Approval.Reviewer || !strings.Contains(audited[0].Detail, "法制审核") ||
		!strings.Contains(audited[1].Detail, "同意发布") {
		t.Fatalf("audit of the approvals: %+v", audited)
	}
	publish(200, "publish once approved")
	if n := len(v.auditOf("plan.publish", p.ID)); n != 1 {
		t.Errorf("%d plan.publish entries", n)
	}
	expect(t, v.approve("admin", p.ID, "分管领导审批", "approve", "晚了"), 409, "approve a published plan")
	expect(t, v.do("admin", "GET", "/api/v1/plans/999/approvals", nil), 404, "approvals of no plan")
}

// TestPlanApprovalReject: a rejected draft cannot be approved or published
// (a new run is needed); the rejection is recorded and audited.
func TestPlanApprovalReject(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_PLANNING_APPROVAL_STEPS=法制审核")
	p := v.draftForApproval()
	r := v.approve("admin", p.ID, "法制审核", "reject", "抽查比例超出规定，请重新编制。")
	expect(t, r, 201, "reject")
	var a approvalAnswer
	r.json(t, &a)
	if !a.State.Rejected || a.State.Approved || a.State.Steps[0].State != store.StepRejected || a.State.Next != "" {
		t.Fatalf("after the rejection: %+v", a.State)
	}
	r = v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil)
	expect(t, r, 409, "publish a rejected draft")
	if d := r.problem(t).Detail; !strings.Contains(d, "rejected at approval step 法制审核") || !strings.Contains(d, "run a new plan") {
		t.Errorf("409 detail: %q", d)
	}
	expect(t, v.approve("admin", p.ID, "法制审核", "approve", "改为同意"), 409, "approve after a rejection")
	if rej := v.auditOf("plan.reject", p.ID); len(rej) != 1 || !strings.Contains(rej[0].Detail, "抽查比例超出规定") {
		t.Fatalf("audit of the rejection: %+v", rej)
	}
	if n := len(v.auditOf("plan.publish", p.ID)); n != 0 {
		t.Fatalf("a rejected draft was published (%d entries)", n)
	}
}

// TestPlanApprovalNone: with no step configured a draft publishes directly,
// its approval state says so, and a decision is refused at the step field.
func TestPlanApprovalNone(t *testing.T) {
	v := newEnv(t) // the harness configures no step
	p := v.draftForApproval()
	r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/approvals", p.ID), nil)
	expect(t, r, 200, "approvals")
	var st store.ApprovalState
	r.json(t, &st)
	if !st.Approved || len(st.Steps) != 0 || st.Next != "" {
		t.Fatalf("no steps: %+v", st)
	}
	r = v.approve("admin", p.ID, "法制审核", "approve", "同意")
	expect(t, r, 422, "approve with no step configured")
	if !slices.Contains(fieldsOf(t, r), "step") {
		t.Errorf("fields %v", fieldsOf(t, r))
	}
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil), 200, "publish without approval")
}

// TestPlaceNowSkipsApproval: an urgent placement (a complaint) is published
// at once even with approval steps configured; waiting for a review would
// defeat it. Its publication is audited as any.
func TestPlaceNowSkipsApproval(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_PLANNING_APPROVAL_STEPS=法制审核")
	v.planCounty()
	complaint := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-12-31"), v.bizA.USCC)
	r := v.do("planner", "POST", fmt.Sprintf("/api/v1/demands/%d/place-now", complaint), nil)
	expect(t, r, 201, "place a complaint now")
	var placed struct {
		Plan store.Plan `json:"plan"`
	}
	r.json(t, &placed)
	if placed.Plan.Status != store.PlanPublished || len(v.auditOf("plan.publish", placed.Plan.ID)) != 1 {
		t.Fatalf("placed plan %+v", placed.Plan)
	}
	// Its dashboard says no approval was recorded, not that one is pending.
	_, _, body := v.pageReq("admin", "GET", fmt.Sprintf("/plans/%d", placed.Plan.ID))
	if !strings.Contains(body, `data-step="法制审核" data-state="not_recorded"`) || !strings.Contains(body, "无审核记录") || strings.Contains(body, `id="publish-form"`) {
		t.Fatalf("the urgent plan's approval section:\n%.3000s", body)
	}
}
