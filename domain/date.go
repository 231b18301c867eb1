package domain

import (
	"fmt"
	"time"
)

// MinYear and MaxYear bound every civil date read from outside: a date
// beyond them is a typo or a probe (9999-12-31), never a plan, a window or a
// deadline, and refusing it early keeps it out of calendars, feeds and SQL.
const (
	MinYear = 2000
	MaxYear = 2100
)

// ParseDate reads a civil date YYYY-MM-DD at midnight in loc (nil: UTC). The
// error is a reason to put after the field's name: the date is malformed, or
// lies outside MinYear to MaxYear.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("must be a date YYYY-MM-DD, got %q", s)
	}
	if y := d.Year(); y < MinYear || y > MaxYear {
		return time.Time{}, fmt.Errorf("must lie between %d-01-01 and %d-12-31, got %q", MinYear, MaxYear, s)
	}
	return d, nil
}

// InvalidDate is a one-field ValidationError for a date ParseDate refused.
func InvalidDate(field string, err error) error {
	return Invalid(field, "%v", err)
}
