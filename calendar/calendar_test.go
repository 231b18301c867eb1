package calendar

import (
	"testing"
	"time"
)

func TestIsWorkingDay(t *testing.T) {
	c, err := New([]string{"2026-10-01", "2026-10-02", "2026-10-05"}, []string{"2026-10-10"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date string
		want bool
	}{
		{"2026-09-30", true},  // Wednesday
		{"2026-10-01", false}, // holiday on a Thursday
		{"2026-10-03", false}, // Saturday
		{"2026-10-05", false}, // holiday on a Monday
		{"2026-10-09", true},  // Friday
		{"2026-10-10", true},  // Saturday worked in exchange
		{"2026-10-11", false}, // Sunday
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.date)
		if got := c.IsWorkingDay(d); got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.date, got, tt.want)
		}
	}
	from, _ := time.Parse(time.DateOnly, "2026-09-28")
	to, _ := time.Parse(time.DateOnly, "2026-10-11")
	if got := c.WorkingDays(from, to); got != 8 {
		t.Errorf("WorkingDays = %d, want 8", got)
	}
}

func TestNewRejectsBadDates(t *testing.T) {
	if _, err := New([]string{"2026-13-01"}, nil); err == nil {
		t.Error("bad holiday accepted")
	}
	if _, err := New(nil, []string{"tomorrow"}); err == nil {
		t.Error("bad working weekend accepted")
	}
}

func TestAddWorkingDays(t *testing.T) {
	c, err := New([]string{"2026-10-01", "2026-10-02", "2026-10-05"}, []string{"2026-10-10"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-09-29", 0, "2026-09-29"},
		{"2026-09-29", 1, "2026-09-30"},
		{"2026-09-30", 1, "2026-10-06"}, // over the holiday and the weekend
		{"2026-10-09", 1, "2026-10-10"}, // the Saturday worked in exchange
		{"2026-09-28", 20, "2026-10-28"},
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.from)
		if got := c.AddWorkingDays(d, tt.n).Format(time.DateOnly); got != tt.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}
