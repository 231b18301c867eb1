package configs

import (
	"strings"
	"testing"

	"inspectonce/risk"
)

func TestResultsAndRiskRuleDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Risk.Rule != risk.Default() {
		t.Fatalf("risk.rule defaults %+v, want %+v", c.Risk.Rule, risk.Default())
	}
	if c.Results.PublishWithinWorkingDays != 20 || c.Results.RedoMinWindowWorkingDays != 10 || c.Results.ReinspectionWindowWorkingDays != 20 {
		t.Fatalf("results defaults %+v", c.Results)
	}
	c, err = Load("", []string{"INSPECTONCE_RISK_RULE_CLEAN_VISITS_TO_STEP_DOWN=3", "INSPECTONCE_RISK_RULE_ON_MINOR=green",
		"INSPECTONCE_RESULTS_PUBLISH_WITHIN_WORKING_DAYS=15"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Risk.Rule.CleanVisitsToStepDown != 3 || c.Risk.Rule.OnMinor != "green" || c.Results.PublishWithinWorkingDays != 15 {
		t.Fatalf("overrides not applied: %+v %+v", c.Risk.Rule, c.Results)
	}
}

func TestBadResultsAndRiskRuleNameTheKey(t *testing.T) {
	cases := []struct {
		env, key string
	}{
		{"INSPECTONCE_RISK_RULE_ON_VIOLATION=crimson", "risk.rule.on_violation"},
		{"INSPECTONCE_RISK_RULE_ON_MINOR=", "risk.rule.on_minor"},
		{"INSPECTONCE_RISK_RULE_CLEAN_VISITS_TO_STEP_DOWN=-1", "risk.rule.clean_visits_to_step_down"},
		{"INSPECTONCE_RESULTS_PUBLISH_WITHIN_WORKING_DAYS=0", "results.publish_within_working_days"},
		{"INSPECTONCE_RESULTS_REDO_MIN_WINDOW_WORKING_DAYS=400", "results.redo_min_window_working_days"},
		{"INSPECTONCE_RESULTS_REINSPECTION_WINDOW_WORKING_DAYS=-5", "results.reinspection_window_working_days"},
	}
	for _, c := range cases {
		_, err := Load("", []string{c.env})
		if err == nil || !strings.Contains(err.Error(), "config: "+c.key) {
			t.Errorf("%s: error %v, want one naming %s", c.env, err, c.key)
		}
	}
}
