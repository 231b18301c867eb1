package csvimport

import (
	"cmp"
	"slices"

	"inspectonce/store"
)

// DefaultReportLimit is the number of lines a dry run reports when Options
// does not say; MaxReportLimit is the most it reports in one answer.
const (
	DefaultReportLimit = 1000
	MaxReportLimit     = 10000
)

// Report is what a dry run found. The counts cover the whole file; Rows and
// Errors list the reported lines (a new or changed row, or a line with an
// error) after AfterLine, in line order, at most Limit of them. Unchanged rows
// are counted, not listed: a line in neither list is unchanged (or blank).
// When more lines follow, NextAfterLine is the AfterLine of the next page.
type Report struct {
	Kind          string                 `json:"kind"`
	DryRun        bool                   `json:"dry_run"`
	EmptyCells    string                 `json:"empty_cells"`
	RiskOverride  bool                   `json:"risk_override"`
	RowsRead      int                    `json:"rows_read"`
	RowsNew       int                    `json:"rows_new"`
	RowsChanged   int                    `json:"rows_changed"`
	RowsUnchanged int                    `json:"rows_unchanged"`
	RowsRejected  int                    `json:"rows_rejected"`
	Limit         int                    `json:"limit"`
	AfterLine     int                    `json:"after_line"`
	NextAfterLine *int                   `json:"next_after_line"`
	Rows          []store.RowOutcome     `json:"rows"`
	Errors        []store.ImportRowError `json:"errors"`
}

// collector gathers a dry run's report while batches finish in any order,
// keeping only the entries that can still be among the first limit lines.
// The job's mutex guards it.
type collector struct {
	r    Report
	rows []store.RowOutcome
	errs []RowError
}

func newCollector(kind string, opt Options) *collector {
	limit := opt.ReportLimit
	if limit <= 0 {
		limit = DefaultReportLimit
	}
	limit = min(limit, MaxReportLimit)
	empty := opt.Import.EmptyCells
	if empty == "" {
		empty = store.EmptyKeep
	}
	return &collector{r: Report{Kind: kind, DryRun: true, EmptyCells: empty, RiskOverride: opt.Import.RiskOverride,
		Limit: limit, AfterLine: max(opt.ReportAfterLine, 0)}}
}

func (c *collector) addRows(rows []store.RowOutcome) {
	for _, o := range rows {
		switch o.Status {
		case store.RowNew:
			c.r.RowsNew++
		case store.RowChanged:
			c.r.RowsChanged++
		default:
			c.r.RowsUnchanged++
			continue
		}
		if o.Line > c.r.AfterLine {
			c.rows = append(c.rows, o)
		}
	}
	c.prune(false)
}

func (c *collector) addErrors(errs []RowError) {
	for _, e := range errs {
		if e.Line > c.r.AfterLine {
			c.errs = append(c.errs, e)
		}
	}
	c.prune(false)
}

// prune drops the entries beyond the first limit lines, and says whether
// any were dropped. Unless final it only runs once the lists have grown well
// past the limit, so that a long file costs O(limit) memory and little time.
func (c *collector) prune(final bool) bool {
	if !final && len(c.rows)+len(c.errs) < 4*c.r.Limit+16 {
		return false
	}
	lines := make([]int, 0, len(c.rows)+len(c.errs))
	for _, o := range c.rows {
		lines = append(lines, o.Line)
	}
	for _, e := range c.errs {
		lines = append(lines, e.Line)
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	keep := c.r.Limit
	if !final {
		keep++ // one more, so that the final cut knows more lines follow
	}
	if len(lines) <= keep {
		return false
	}
	cut := lines[keep-1]
	c.rows = slices.DeleteFunc(c.rows, func(o store.RowOutcome) bool { return o.Line > cut })
	c.errs = slices.DeleteFunc(c.errs, func(e RowError) bool { return e.Line > cut })
	return true
}

// finish closes the report with the job's totals and its last errors.
func (c *collector) finish(j *job) Report {
	j.mu.Lock()
	defer j.mu.Unlock()
	c.addErrors(j.pending)
	j.pending = j.pending[:0]
	r := c.r
	r.RowsRead, r.RowsRejected = j.read, j.rejected
	if c.prune(true) {
		last := 0
		for _, o := range c.rows {
			last = max(last, o.Line)
		}
		for _, e := range c.errs {
			last = max(last, e.Line)
		}
		r.NextAfterLine = &last
	}
	slices.SortFunc(c.rows, func(a, b store.RowOutcome) int { return cmp.Compare(a.Line, b.Line) })
	slices.SortFunc(c.errs, func(a, b RowError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field))
	})
	r.Rows = append([]store.RowOutcome{}, c.rows...)
	r.Errors = append([]store.ImportRowError{}, c.errs...)
	return r
}
