package configs

import (
	"slices"
	"strings"
	"testing"
)

// TestApprovalSteps: the default is one step, 法制审核; the environment sets
// several, or none with an empty value; a blank or repeated step is refused
// naming the key.
func TestApprovalSteps(t *testing.T) {
	for _, c := range []struct {
		name    string
		environ []string
		want    []string
		bad     bool
	}{
		{"default", nil, []string{"法制审核"}, false},
		{"two", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS=法制审核, 分管领导审批"}, []string{"法制审核", "分管领导审批"}, false},
		{"none", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="}, nil, false},
		{"repeated", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS=法制审核,法制审核"}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load("", c.environ)
			if c.bad {
				if err == nil || !strings.Contains(err.Error(), "planning.approval_steps") {
					t.Fatalf("want an error naming planning.approval_steps, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Planning.ApprovalSteps, c.want) {
				t.Fatalf("steps %q, want %q", cfg.Planning.ApprovalSteps, c.want)
			}
		})
	}
}
