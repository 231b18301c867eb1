// Package calendar decides which dates are working days: Monday to Friday, minus
// public holidays, plus the weekend days worked in exchange (调休).
package calendar

import (
	"fmt"
	"time"
)

// Calendar is a working-day calendar. The zero value treats Monday to Friday as
// working days.
type Calendar struct {
	holidays        map[civil]bool
	workingWeekends map[civil]bool
}

type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil{y, m, d}
}

// New builds a calendar from holiday and working-weekend dates written YYYY-MM-DD.
func New(holidays, workingWeekends []string) (*Calendar, error) {
	c := &Calendar{holidays: map[civil]bool{}, workingWeekends: map[civil]bool{}}
	for _, s := range holidays {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("calendar: holiday %q: %w", s, err)
		}
		c.holidays[civilOf(t)] = true
	}
	for _, s := range workingWeekends {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("calendar: working weekend %q: %w", s, err)
		}
		c.workingWeekends[civilOf(t)] = true
	}
	return c, nil
}

// IsWorkingDay reports whether the date of t (in t's location) is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d := civilOf(t)
	if c != nil && c.holidays[d] {
		return false
	}
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return c != nil && c.workingWeekends[d]
	}
	return true
}

// WorkingDays counts the working days from from to to, both included.
func (c *Calendar) WorkingDays(from, to time.Time) int {
	n := 0
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// AddWorkingDays returns the n-th working day after the date of t (n ≥ 0;
// n = 0 gives t itself). Deadlines counted in working days (一公开 within 20
// working days of a visit) use it.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d := t
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}
