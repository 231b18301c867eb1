package risk

import (
	"encoding/json"

	"inspectonce/messages"
)

// The codes of the reasons Apply gives. They are stored with each change
// (risk_code_history.reason_code) and never renamed: the words are the
// catalog's (risk.reason.*), in the reader's language.
const (
	ReasonViolation = "violation"
	ReasonMinor     = "minor"
	ReasonStepDown  = "step_down"
	// ReasonImport: a registry import set the code and gave no reason.
	ReasonImport = "import"
)

// Reason is why a code changed: a stable code and its parameters.
type Reason struct {
	Code   string       `json:"code"`
	Params ReasonParams `json:"params"`
}

// ReasonParams are a reason's parameters: the visit that decided, and the
// item and rule cited (violation, minor) or the run of clean visits and the
// codes (step_down); the import (import).
type ReasonParams struct {
	PlanID    int64  `json:"plan_id"`
	VisitSeq  int    `json:"visit_seq"`
	Date      string `json:"date"`
	Item      string `json:"item,omitempty"`
	RuleCited string `json:"rule_cited,omitempty"`
	Clean     int    `json:"clean,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	// ImportID is the import that set the code (import).
	ImportID int64 `json:"import_id,omitempty"`
}

// IsZero reports whether r is no reason.
func (r Reason) IsZero() bool { return r.Code == "" }

// CodeName is a risk code's name in l (红码 / red); a string that is not a
// code is shown as given.
func CodeName(l messages.Lang, code string) string {
	if !Valid(code) {
		return code
	}
	return l.T("risk.code." + code)
}

// VisitName names the visit of p in l, as reasons and titles do.
func VisitName(l messages.Lang, planID int64, seq int, date string) string {
	return l.T("risk.visit", planID, seq, l.Date(date))
}

// Text is the reason in words in l. A code this version does not know is
// shown as the code.
func (r Reason) Text(l messages.Lang) string {
	p := r.Params
	if r.Code == ReasonImport {
		return l.T("risk.reason.import", p.ImportID)
	}
	visit := VisitName(l, p.PlanID, p.VisitSeq, p.Date)
	switch r.Code {
	case ReasonViolation, ReasonMinor:
		if p.RuleCited != "" {
			return l.T("risk.reason."+r.Code+"_rule", visit, p.Item, p.RuleCited)
		}
		return l.T("risk.reason."+r.Code, visit, p.Item)
	case ReasonStepDown:
		return l.T("risk.reason.step_down", p.Clean, visit, CodeName(l, p.From), CodeName(l, p.To))
	}
	return r.Code
}

// ReasonText is the words of a stored reason (code and JSON parameters) in
// l; fallback (the stored text) when there is no code or it does not read.
func ReasonText(l messages.Lang, code string, params []byte, fallback string) string {
	if code == "" {
		return fallback
	}
	r := Reason{Code: code}
	if len(params) > 0 {
		if err := json.Unmarshal(params, &r.Params); err != nil {
			return fallback
		}
	}
	switch code {
	case ReasonViolation, ReasonMinor, ReasonStepDown, ReasonImport:
		return r.Text(l)
	}
	return fallback
}
