package web_test

import (
	"context"
	"testing"

	"inspectonce/planning"
	"inspectonce/store"
)

// approveAll passes draft id through every configured approval step
// (planning.approval_steps), as a coordinator would, so it can be published.
func approveAll(t *testing.T, plans *planning.Service, id int64) {
	t.Helper()
	for _, step := range plans.ApprovalSteps() {
		if _, _, err := plans.Approve(context.Background(), "test", id,
			store.ApprovalInput{Step: step, Decision: store.DecisionApprove, Opinion: "同意发布"}); err != nil {
			t.Fatalf("approve %s: %v", step, err)
		}
	}
}
