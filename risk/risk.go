// Package risk holds the rule that recomputes a business's red / yellow /
// green risk code (红黄绿三色赋码) from the results of its confirmed visits. It
// is pure: the store hands it the current code and the visits, newest first,
// and writes what it decides.
package risk

import (
	"errors"
	"fmt"
	"strings"
)

// Risk codes, from the least to the most severe.
const (
	Green  = "green"
	Yellow = "yellow"
	Red    = "red"
)

// Result outcomes, as task_results stores them.
const (
	Compliant   = "compliant"
	Minor       = "minor"
	Violation   = "violation"
	Transferred = "transferred"
	NotDone     = "not_done"
)

// level orders the codes; 0 is not a code.
func level(code string) int {
	switch code {
	case Green:
		return 1
	case Yellow:
		return 2
	case Red:
		return 3
	}
	return 0
}

// Valid reports whether code is a risk code.
func Valid(code string) bool { return level(code) > 0 }

// Lowers reports whether going from one valid code to another is a step down
// (red → yellow, yellow → green, red → green).
func Lowers(from, to string) bool { return Valid(from) && Valid(to) && level(to) < level(from) }

// Rule is the policy (configs: risk.rule). The zero value is not valid; start
// from Default.
type Rule struct {
	// OnViolation is the code a violation sets, at least.
	OnViolation string `yaml:"on_violation"`
	// OnMinor is the code a minor finding (轻微, not penalised) sets, at least.
	OnMinor string `yaml:"on_minor"`
	// CleanVisitsToStepDown clean visits in a row since the code was last
	// set step it down one level (red → yellow → green); 0 never steps down.
	CleanVisitsToStepDown int `yaml:"clean_visits_to_step_down"`
}

// Default is the rule of DESIGN.md: any violation → red, a minor finding →
// at least yellow, two clean visits in a row → one level down.
func Default() Rule {
	return Rule{OnViolation: Red, OnMinor: Yellow, CleanVisitsToStepDown: 2}
}

// Validate names every setting that is wrong, with its config key under
// prefix (e.g. "risk.rule").
func (r Rule) Validate(prefix string) error {
	var errs []error
	if !Valid(r.OnViolation) {
		errs = append(errs, fmt.Errorf("%s.on_violation: must be red, yellow or green, got %q", prefix, r.OnViolation))
	}
	if !Valid(r.OnMinor) {
		errs = append(errs, fmt.Errorf("%s.on_minor: must be red, yellow or green, got %q", prefix, r.OnMinor))
	}
	if Valid(r.OnViolation) && Valid(r.OnMinor) && level(r.OnMinor) > level(r.OnViolation) {
		errs = append(errs, fmt.Errorf("%s.on_minor: %s is more severe than on_violation (%s)", prefix, r.OnMinor, r.OnViolation))
	}
	if r.CleanVisitsToStepDown < 0 || r.CleanVisitsToStepDown > 50 {
		errs = append(errs, fmt.Errorf("%s.clean_visits_to_step_down: must be between 0 (never) and 50, got %d", prefix, r.CleanVisitsToStepDown))
	}
	return errors.Join(errs...)
}

// Result is one task's current result at a visit.
type Result struct {
	ID      int64
	Outcome string
	// Item names the item checked, for the reason.
	Item string
	// RuleCited is the rule breached (minor, violation).
	RuleCited string
}

// Visit is one confirmed visit of the business.
type Visit struct {
	// PlanID, Seq and Date (YYYY-MM-DD) name the visit in reasons.
	PlanID  int64
	Seq     int
	Date    string
	Results []Result
}

// performed reports whether any task was checked (not every one not_done).
func (v Visit) performed() bool {
	for _, r := range v.Results {
		if r.Outcome != NotDone {
			return true
		}
	}
	return false
}

// first is the first result with outcome, or nil.
func (v Visit) first(outcome string) *Result {
	for i := range v.Results {
		if v.Results[i].Outcome == outcome {
			return &v.Results[i]
		}
	}
	return nil
}

// clean: something was checked and nothing was found (compliant or
// transferred to another authority).
func (v Visit) clean() bool {
	return v.performed() && v.first(Violation) == nil && v.first(Minor) == nil
}

// Decision is what Apply decides.
type Decision struct {
	// Code is the business's code after the visit; Changed whether it differs
	// from the current one.
	Code    string
	Changed bool
	// Reason says why, as a code and its parameters for the risk-code
	// history (Reason.Text puts it in words); zero when nothing changed.
	Reason Reason
	// ResultID is the result that decided (0 when nothing changed).
	ResultID int64
}

// Apply decides the business's code after its latest confirmed visit. visits
// are the business's confirmed visits since its code was last set, newest
// first (visits[0] is the one just confirmed); current is its code now.
//
// The latest visit decides a raise: a violation sets at least OnViolation, a
// minor finding at least OnMinor (a code already as severe stays). Otherwise,
// when the last CleanVisitsToStepDown visits that checked anything were all
// clean, the code steps down one level. A visit where every task was not done
// (closed, absent, refused) says nothing about the business: it neither counts
// as clean nor breaks the run. Because only visits since the code was last set
// count, a step down starts a new run.
func (r Rule) Apply(current string, visits []Visit) Decision {
	keep := Decision{Code: current}
	if !Valid(current) || len(visits) == 0 || !visits[0].performed() {
		return keep
	}
	latest := visits[0]
	raise := func(to string, res *Result, what string) Decision {
		if level(to) <= level(current) {
			return keep
		}
		reason := Reason{Code: what, Params: ReasonParams{PlanID: latest.PlanID, VisitSeq: latest.Seq, Date: latest.Date,
			Item: res.Item, RuleCited: strings.TrimSpace(res.RuleCited)}}
		return Decision{Code: to, Changed: true, Reason: reason, ResultID: res.ID}
	}
	if res := latest.first(Violation); res != nil {
		return raise(r.OnViolation, res, ReasonViolation)
	}
	if res := latest.first(Minor); res != nil {
		return raise(r.OnMinor, res, ReasonMinor)
	}
	n := r.CleanVisitsToStepDown
	if n <= 0 || current == Green {
		return keep
	}
	clean := 0
	for _, v := range visits {
		if !v.performed() {
			continue
		}
		if !v.clean() {
			break
		}
		clean++
		if clean == n {
			break
		}
	}
	if clean < n {
		return keep
	}
	to := Yellow
	if current == Yellow {
		to = Green
	}
	var decider *Result
	for i := range latest.Results {
		if latest.Results[i].Outcome != NotDone {
			decider = &latest.Results[i]
			break
		}
	}
	return Decision{Code: to, Changed: true, ResultID: decider.ID,
		Reason: Reason{Code: ReasonStepDown, Params: ReasonParams{PlanID: latest.PlanID, VisitSeq: latest.Seq, Date: latest.Date,
			Clean: n, From: current, To: to}}}
}
