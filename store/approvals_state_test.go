package store

import (
	"slices"
	"testing"
)

// TestApprovalStateOf: steps are decided in order, the first decision on a
// step counts, a rejection anywhere stops the road, and no step configured
// means approved.
func TestApprovalStateOf(t *testing.T) {
	rec := func(step, decision string) PlanApproval {
		return PlanApproval{Step: step, Decision: decision, Reviewer: "admin#1:甲", Opinion: "意见"}
	}
	steps := []string{"法制审核", "分管领导审批"}
	for _, c := range []struct {
		name     string
		steps    []string
		records  []PlanApproval
		next     string
		approved bool
		rejected bool
		missing  []string
		states   []string
	}{
		{"none configured", nil, nil, "", true, false, nil, []string{}},
		{"fresh", steps, nil, "法制审核", false, false, steps, []string{StepPending, StepPending}},
		{"first approved", steps, []PlanApproval{rec("法制审核", DecisionApprove)}, "分管领导审批", false, false,
			[]string{"分管领导审批"}, []string{StepApproved, StepPending}},
		{"both approved", steps, []PlanApproval{rec("法制审核", DecisionApprove), rec("分管领导审批", DecisionApprove)}, "", true, false,
			nil, []string{StepApproved, StepApproved}},
		{"first rejected", steps, []PlanApproval{rec("法制审核", DecisionReject)}, "", false, true,
			steps, []string{StepRejected, StepPending}},
		{"second rejected", steps, []PlanApproval{rec("法制审核", DecisionApprove), rec("分管领导审批", DecisionReject)}, "", false, true,
			[]string{"分管领导审批"}, []string{StepApproved, StepRejected}},
		{"a step no longer configured", []string{"法制审核"}, []PlanApproval{rec("旧环节", DecisionApprove)}, "法制审核", false, false,
			[]string{"法制审核"}, []string{StepPending}},
		{"rejected at a step no longer configured", []string{"法制审核"}, []PlanApproval{rec("旧环节", DecisionReject)}, "", false, true,
			[]string{"法制审核"}, []string{StepPending}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := approvalStateOf(c.steps, c.records)
			states := []string{}
			for _, s := range st.Steps {
				states = append(states, s.State)
			}
			if st.Next != c.next || st.Approved != c.approved || st.Rejected != c.rejected ||
				!slices.Equal(st.Missing(), c.missing) || !slices.Equal(states, c.states) || st.Records == nil {
				t.Fatalf("got next %q approved %v rejected %v missing %q states %q", st.Next, st.Approved, st.Rejected, st.Missing(), states)
			}
		})
	}
}
