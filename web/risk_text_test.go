package web

import (
	"encoding/json"
	"testing"

	"inspectonce/domain"
)

// TestRiskReasonInPageLanguage: a page shows the rule's reason in its own
// language whatever language it was stored in; a reason written by hand as
// written.
func TestRiskReasonInPageLanguage(t *testing.T) {
	ruled := domain.RiskChange{RiskCode: "yellow", Reason: "stored words", ReasonCode: "step_down",
		ReasonParams: json.RawMessage(`{"plan_id":3,"visit_seq":12,"date":"2026-03-05","clean":2,"from":"red","to":"yellow"}`)}
	cases := []struct {
		lang Lang
		ch   domain.RiskChange
		want string
	}{
		{LangZH, ruled, "连续2次检查未发现问题，最近一次为计划3第12号检查（2026年3月5日）：红码 → 黄码"},
		{LangEN, ruled, "2 clean visits in a row, the latest plan 3 visit 12 (2026-03-05): red → yellow"},
		{LangZH, domain.RiskChange{Reason: "投诉查实"}, "投诉查实"},
	}
	for _, c := range cases {
		if got := c.lang.RiskReason(c.ch); got != c.want {
			t.Errorf("%s: %q, want %q", c.lang, got, c.want)
		}
	}
	if got := LangZH.RiskCodeName("red"); got != "红码" {
		t.Errorf("code name %q", got)
	}
}
