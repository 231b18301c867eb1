package risk

import (
	"strings"
	"testing"
)

func visit(ref string, outcomes ...string) Visit {
	v := Visit{Ref: ref}
	for i, o := range outcomes {
		r := Result{ID: int64(len(ref)*100 + i + 1), Outcome: o, Item: "item" + string(rune('A'+i))}
		if o == Minor || o == Violation {
			r.RuleCited = "《食品安全法》第五十四条"
		}
		v.Results = append(v.Results, r)
	}
	return v
}

func TestApply(t *testing.T) {
	def := Default()
	never := Rule{OnViolation: Red, OnMinor: Yellow, CleanVisitsToStepDown: 0}
	three := Rule{OnViolation: Red, OnMinor: Yellow, CleanVisitsToStepDown: 3}
	minorRed := Rule{OnViolation: Red, OnMinor: Red, CleanVisitsToStepDown: 2}
	cases := []struct {
		name    string
		rule    Rule
		current string
		visits  []Visit
		want    string
		// wantResult is the index of the deciding result in visits[0], -1 for none
		wantResult int
	}{
		{"violation turns green red", def, Green, []Visit{visit("v1", Compliant, Violation)}, Red, 1},
		{"violation turns yellow red", def, Yellow, []Visit{visit("v1", Violation)}, Red, 0},
		{"violation keeps red", def, Red, []Visit{visit("v1", Violation)}, Red, -1},
		{"minor turns green yellow", def, Green, []Visit{visit("v1", Compliant, Minor)}, Yellow, 1},
		{"minor keeps yellow", def, Yellow, []Visit{visit("v1", Minor)}, Yellow, -1},
		{"minor does not lower red", def, Red, []Visit{visit("v1", Minor), visit("v0", Compliant)}, Red, -1},
		{"violation wins over minor", def, Green, []Visit{visit("v1", Minor, Violation)}, Red, 1},
		{"configured: minor to red", minorRed, Green, []Visit{visit("v1", Minor)}, Red, 0},
		{"one clean visit is not enough", def, Red, []Visit{visit("v2", Compliant)}, Red, -1},
		{"two clean visits step red down", def, Red, []Visit{visit("v3", Compliant), visit("v2", Transferred)}, Yellow, 0},
		{"two clean visits step yellow down", def, Yellow, []Visit{visit("v3", Compliant, Compliant), visit("v2", Compliant)}, Green, 0},
		{"green stays green", def, Green, []Visit{visit("v3", Compliant), visit("v2", Compliant)}, Green, -1},
		{"a dirty visit breaks the run", def, Red, []Visit{visit("v3", Compliant), visit("v2", Minor)}, Red, -1},
		{"not-done visits neither count nor break", def, Red,
			[]Visit{visit("v4", Compliant), visit("v3", NotDone, NotDone), visit("v2", Compliant)}, Yellow, 0},
		{"all not done decides nothing", def, Green, []Visit{visit("v4", NotDone)}, Green, -1},
		{"deciding result skips not-done tasks", def, Yellow, []Visit{visit("v4", NotDone, Compliant), visit("v3", Compliant)}, Green, 1},
		{"three needed", three, Red, []Visit{visit("v3", Compliant), visit("v2", Compliant)}, Red, -1},
		{"three reached", three, Red, []Visit{visit("v4", Compliant), visit("v3", Compliant), visit("v2", Compliant)}, Yellow, 0},
		{"never steps down", never, Red, []Visit{visit("v3", Compliant), visit("v2", Compliant), visit("v1", Compliant)}, Red, -1},
		{"no visits", def, Red, nil, Red, -1},
		{"unknown current code is left alone", def, "purple", []Visit{visit("v1", Violation)}, "purple", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.rule.Apply(c.current, c.visits)
			if d.Code != c.want || d.Changed != (c.want != c.current) {
				t.Fatalf("Apply(%s) = %+v, want code %s", c.current, d, c.want)
			}
			if c.wantResult < 0 {
				if d.ResultID != 0 || d.Reason != "" {
					t.Fatalf("no change, but result %d reason %q", d.ResultID, d.Reason)
				}
				return
			}
			if want := c.visits[0].Results[c.wantResult].ID; d.ResultID != want {
				t.Fatalf("deciding result %d, want %d", d.ResultID, want)
			}
			if !strings.Contains(d.Reason, c.visits[0].Ref) {
				t.Fatalf("reason %q does not name the visit %s", d.Reason, c.visits[0].Ref)
			}
		})
	}
}

func TestViolationReasonCitesTheRule(t *testing.T) {
	d := Default().Apply(Green, []Visit{visit("plan 1 visit 2 (2026-03-03)", Violation)})
	if !strings.Contains(d.Reason, "《食品安全法》第五十四条") || !strings.Contains(d.Reason, "violation") {
		t.Fatalf("reason %q", d.Reason)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		rule Rule
		key  string // expected in the error; "" = valid
	}{
		{"default", Default(), ""},
		{"never step down", Rule{OnViolation: Red, OnMinor: Green, CleanVisitsToStepDown: 0}, ""},
		{"bad violation code", Rule{OnViolation: "crimson", OnMinor: Yellow, CleanVisitsToStepDown: 2}, "risk.rule.on_violation"},
		{"bad minor code", Rule{OnViolation: Red, OnMinor: "", CleanVisitsToStepDown: 2}, "risk.rule.on_minor"},
		{"minor above violation", Rule{OnViolation: Yellow, OnMinor: Red, CleanVisitsToStepDown: 2}, "more severe"},
		{"negative run", Rule{OnViolation: Red, OnMinor: Yellow, CleanVisitsToStepDown: -1}, "risk.rule.clean_visits_to_step_down"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule.Validate("risk.rule")
			switch {
			case c.key == "" && err != nil:
				t.Fatalf("valid rule refused: %v", err)
			case c.key != "" && (err == nil || !strings.Contains(err.Error(), c.key)):
				t.Fatalf("error %v, want one naming %s", err, c.key)
			}
		})
	}
}
