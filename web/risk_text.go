package web

import (
	"inspectonce/domain"
	"inspectonce/risk"
)

// RiskReason is why a business's code changed, in the page's language: a
// change the rule made is read from its code and parameters; one made by
// hand or given in an import shows as written. In a template:
// {{$.Lang.RiskReason .}} for a domain.RiskChange.
func (l Lang) RiskReason(ch domain.RiskChange) string {
	return risk.ReasonText(l.Msg(), ch.ReasonCode, ch.ReasonParams, ch.Reason)
}

// RiskCodeName is a risk code's name in the page's language (红码 / red):
// {{$.Lang.RiskCodeName .RiskCode}}.
func (l Lang) RiskCodeName(code string) string { return risk.CodeName(l.Msg(), code) }
