package api

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"inspectonce/domain"
	"inspectonce/uscc"
)

// Patterns mirror the CHECK constraints in migrations/, so that a bad value is
// refused with its field named before the database would refuse it.
var (
	deptCodeRe = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)
	codeRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	domainRe   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	industryRe = regexp.MustCompile(`^[A-Z]?[0-9]{2,4}$`)
)

// checker collects field errors for one request.
type checker struct{ domain.ValidationError }

// text checks a one-line value: a name, title, code or phone.
func (v *checker) text(field, value string, required bool, max int) {
	v.textLines(field, value, required, max, false)
}

// longText checks free text that may run over several lines (a reason, a
// legal basis): newlines and tabs are allowed there.
func (v *checker) longText(field, value string, required bool, max int) {
	v.textLines(field, value, required, max, true)
}

// textLines is the one place text is checked. Besides presence and length it
// refuses a value of spaces only (a blank phone or name is no value), control
// characters (C0 but, in multi-line text, tab, newline and carriage return;
// DEL; C1), which break CSV, logs and pages, and the bidirectional embedding,
// override and isolate characters, which make a name read otherwise than it
// is stored (CVE-2021-42574, "Trojan Source").
func (v *checker) textLines(field, value string, required bool, max int, multiline bool) {
	blank := strings.TrimSpace(value) == ""
	switch n := utf8.RuneCountInString(value); {
	case required && blank:
		v.Add(field, "is required")
		return
	case value != "" && blank:
		v.Add(field, "must not be blank: leave it empty or give a value")
		return
	case n > max:
		v.Add(field, "must be at most %d characters, got %d", max, n)
		return
	}
	pos := 0
	for _, r := range value {
		pos++
		switch {
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			v.Add(field, "must not contain the control character U+%04X (character %d)", r, pos)
			return
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			v.Add(field, "must not contain the bidirectional control U+%04X (character %d): it makes text read otherwise than it is stored", r, pos)
			return
		}
	}
}

func (v *checker) match(field, value string, re *regexp.Regexp, what string) {
	if value == "" {
		v.Add(field, "is required")
	} else if !re.MatchString(value) {
		v.Add(field, "must be %s, got %q", what, value)
	}
}

func (v *checker) oneOf(field, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.Add(field, "must be one of %s, got %q", strings.Join(allowed, ", "), value)
}

func (v *checker) between(field string, value, lo, hi float64) {
	if value < lo || value > hi {
		v.Add(field, "must be between %g and %g, got %g", lo, hi, value)
	}
}

func (v *checker) uscc(field, value string) {
	if err := uscc.Check(value); err != nil {
		v.Add(field, "%s", strings.TrimPrefix(err.Error(), uscc.ErrInvalid.Error()+": "))
	}
}

func (v *checker) positiveIDs(field string, ids []int64) {
	seen := map[int64]bool{}
	for i, id := range ids {
		if id <= 0 {
			v.Add(field, "entry %d must be a positive id", i)
		} else if seen[id] {
			v.Add(field, "entry %d repeats id %d", i, id)
		}
		seen[id] = true
	}
}

// count refuses a list longer than max and reports whether it is within, so
// that the caller looks nothing up for an oversized list.
func (v *checker) count(field string, n, max int) bool {
	if n > max {
		v.Add(field, "must have at most %d entries, got %d", max, n)
		return false
	}
	return true
}
