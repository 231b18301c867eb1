package risk

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"inspectonce/messages"
)

// visit is a visit named ref ("v3": visit 3 of plan 1, on 2026-03-03).
func visit(ref string, outcomes ...string) Visit {
	n, _ := strconv.Atoi(strings.TrimPrefix(ref, "v"))
	v := Visit{PlanID: 1, Seq: n, Date: "2026-03-0" + strconv.Itoa(n%10)}
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
				if d.ResultID != 0 || !d.Reason.IsZero() {
					t.Fatalf("no change, but result %d reason %+v", d.ResultID, d.Reason)
				}
				return
			}
			if want := c.visits[0].Results[c.wantResult].ID; d.ResultID != want {
				t.Fatalf("deciding result %d, want %d", d.ResultID, want)
			}
			if p := d.Reason.Params; p.PlanID != 1 || p.VisitSeq != c.visits[0].Seq || p.Date != c.visits[0].Date {
				t.Fatalf("reason %+v does not name the visit %+v", d.Reason, c.visits[0])
			}
		})
	}
}

func TestViolationReasonCitesTheRule(t *testing.T) {
	d := Default().Apply(Green, []Visit{visit("v2", Violation)})
	if d.Reason.Code != ReasonViolation || d.Reason.Params.RuleCited != "《食品安全法》第五十四条" || d.Reason.Params.Item != "itemA" {
		t.Fatalf("reason %+v", d.Reason)
	}
	if got, want := d.Reason.Text(messages.EN), "violation at plan 1 visit 2 (2026-03-02): itemA (《食品安全法》第五十四条)"; got != want {
		t.Fatalf("English reason %q, want %q", got, want)
	}
	if got, want := d.Reason.Text(messages.ZH), "计划1第2号检查（2026年3月2日）发现违法行为：itemA（《食品安全法》第五十四条）"; got != want {
		t.Fatalf("Chinese reason %q, want %q", got, want)
	}
}

// TestReasonsInChinese: every reason Apply gives reads in Chinese with no
// English word, code name or field name in it; stored reasons render the
// same from their code and JSON parameters, and a reason without a code
// (set by hand, imported, or stored before codes) is shown as stored.
func TestReasonsInChinese(t *testing.T) {
	latin := regexp.MustCompile(`[A-Za-z_]{3,}`)
	zhVisit := func(ref string, outcomes ...string) Visit {
		v := visit(ref, outcomes...)
		for i := range v.Results {
			v.Results[i].Item = "食品经营许可检查"
		}
		return v
	}
	cases := []struct {
		name    string
		current string
		visits  []Visit
		want    string
	}{
		{"violation", Green, []Visit{zhVisit("v1", Violation)}, "计划1第1号检查（2026年3月1日）发现违法行为：食品经营许可检查（《食品安全法》第五十四条）"},
		{"minor", Green, []Visit{zhVisit("v1", Minor)}, "计划1第1号检查（2026年3月1日）发现轻微问题：食品经营许可检查（《食品安全法》第五十四条）"},
		{"step down", Red, []Visit{zhVisit("v3", Compliant), zhVisit("v2", Compliant)}, "连续2次检查未发现问题，最近一次为计划1第3号检查（2026年3月3日）：红码 → 黄码"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Default().Apply(c.current, c.visits)
			got := d.Reason.Text(messages.ZH)
			if got != c.want {
				t.Fatalf("reason %q, want %q", got, c.want)
			}
			if w := latin.FindString(got); w != "" {
				t.Fatalf("%q in the Chinese reason %q", w, got)
			}
			params, err := json.Marshal(d.Reason.Params)
			if err != nil {
				t.Fatal(err)
			}
			if s := ReasonText(messages.ZH, d.Reason.Code, params, "stored"); s != c.want {
				t.Fatalf("from storage %q, want %q", s, c.want)
			}
		})
	}
	if s := ReasonText(messages.ZH, "", nil, "市场监管局认定"); s != "市场监管局认定" {
		t.Fatalf("a reason without code: %q", s)
	}
	if s := ReasonText(messages.ZH, "from_the_future", []byte(`{}`), "原文"); s != "原文" {
		t.Fatalf("an unknown code: %q", s)
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
