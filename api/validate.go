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

func (v *checker) text(field, value string, required bool, max int) {
	switch n := utf8.RuneCountInString(value); {
	case required && strings.TrimSpace(value) == "":
		v.Add(field, "is required")
	case n > max:
		v.Add(field, "must be at most %d characters, got %d", max, n)
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
