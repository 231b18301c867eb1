package csvimport

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/store"
)

// Unavailability and closures files (issue 17) add inspectors' days away and
// closures of regions or teams. Rows are records, not patches: every column
// is needed, nothing is updated, and a row identical to one stored (same
// inspector or place, days and reason) is "unchanged", so a file can be loaded
// again without doubling anything. Each row is its own transaction, audited as
// the API audits it.

// maxSpanDays and maxSpanReason are the API's bounds (api/availability.go).
const (
	maxSpanDays   = 366
	maxSpanReason = 500
)

// Columns of an unavailability file.
const (
	uInspector = iota
	uFrom
	uTo
	uReason
)

var (
	fromNames   = []string{"from", "from_date", "start", "开始日期", "开始", "起始日期"}
	toNames     = []string{"to", "to_date", "end", "结束日期", "结束", "截止日期"}
	reasonNames = []string{"reason", "原因", "事由"}
)

var unavailabilityColumns = []column{
	uInspector: {key: "inspector", names: []string{"inspector", "inspector_code", "code", "检查员", "执法人员", "执法证号"}, id: true},
	uFrom:      {key: "from", names: fromNames, id: true},
	uTo:        {key: "to", names: toNames, id: true},
	uReason:    {key: "reason", names: reasonNames, id: true},
}

// Columns of a closures file: a row names a region or a team.
const (
	cRegion = iota
	cTeam
	cFrom
	cTo
	cReason
)

var closureColumns = []column{
	cRegion: {key: "region", names: []string{"region", "region_code", "区域", "区域编码"}},
	cTeam:   {key: "team", names: []string{"team", "team_code", "队伍", "队伍编码"}},
	cFrom:   {key: "from", names: fromNames, id: true},
	cTo:     {key: "to", names: toNames, id: true},
	cReason: {key: "reason", names: reasonNames, id: true},
}

// span reads the from, to and reason cells as the API checks them.
func (rw *row) span(cf, ct, cr int) (from, to time.Time, reason string) {
	from, to = rw.date(cf), rw.date(ct)
	if !from.IsZero() && !to.IsZero() {
		switch days := int(to.Sub(from).Hours()/24) + 1; {
		case to.Before(from):
			rw.bad(ct, "imp.reject.to_before_from", rw.s.heads[cf], civil(from))
		case days > maxSpanDays:
			rw.bad(ct, "imp.reject.span_long", maxSpanDays, days)
		}
	}
	if rw.cell(cr) == "" {
		rw.bad(cr, "imp.reject.span_reason")
	} else if v := rw.text(cr, maxSpanReason); v != nil {
		reason = *v
	}
	return from, to, reason
}

// date reads a civil date, YYYY-MM-DD or the YYYY/M/D spreadsheets write.
func (rw *row) date(c int) time.Time {
	v := rw.cell(c)
	if v == "" {
		rw.bad(c, "imp.reject.date_required")
		return time.Time{}
	}
	s := v
	if parts := strings.Split(v, "/"); len(parts) == 3 {
		y, e1 := strconv.Atoi(parts[0])
		m, e2 := strconv.Atoi(parts[1])
		d, e3 := strconv.Atoi(parts[2])
		if e1 == nil && e2 == nil && e3 == nil {
			s = fmt.Sprintf("%04d-%02d-%02d", y, m, d)
		}
	}
	t, err := domain.ParseDate(s, time.UTC)
	if err != nil {
		rw.bad(c, "imp.reject.date", quote(v), domain.MinYear, domain.MaxYear)
		return time.Time{}
	}
	return t
}

func civil(t time.Time) string { return t.Format(time.DateOnly) }

// newUnavailabilityParser reads the header of an unavailability file; an
// inspector is named by its code, as the registry names it (the inspectors
// file's code column), resolved through inspectors. A row repeating an
// earlier one of the file is refused.
func newUnavailabilityParser(r io.Reader, inspectors map[string]store.InspectorRef) (*parser[store.UnavailabilityImport], error) {
	s, err := openSheet(r, unavailabilityColumns)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int)
	return &parser[store.UnavailabilityImport]{s: s, conv: func(rw *row) store.UnavailabilityImport {
		u := store.UnavailabilityImport{Line: rw.line}
		if code := rw.cell(uInspector); code == "" {
			rw.bad(uInspector, "imp.reject.inspector_required")
		} else if ref, ok := inspectors[code]; ok {
			u.InspectorID, u.InspectorCode = ref.ID, strings.Clone(code)
		} else {
			rw.bad(uInspector, "imp.reject.unknown_inspector", quote(code))
		}
		u.From, u.To, u.Reason = rw.span(uFrom, uTo, uReason)
		u.Reason = strings.Clone(u.Reason)
		if len(rw.errs) == 0 {
			k := store.UnavailabilityImportKey(u)
			if prev, dup := seen[k]; dup {
				rw.bad(uInspector, "imp.reject.duplicate_away", prev)
			} else {
				seen[k] = rw.line
			}
		}
		return u
	}}, nil
}

// newClosureParser reads the header of a closures file, which must carry a
// region or a team column (or both, each row filling exactly one).
func newClosureParser(r io.Reader, regions, teams map[string]int64) (*parser[store.ClosureImport], error) {
	s, err := openSheet(r, closureColumns)
	if err != nil {
		return nil, err
	}
	if !s.has(cRegion) && !s.has(cTeam) {
		return nil, domain.Invalid("region", "%s", messages.ImportText("imp.reject.closure_columns"))
	}
	seen := make(map[string]int)
	return &parser[store.ClosureImport]{s: s, conv: func(rw *row) store.ClosureImport {
		c := store.ClosureImport{Line: rw.line}
		region, team := rw.cell(cRegion), rw.cell(cTeam)
		switch {
		case region != "" && team != "":
			rw.bad(cTeam, "imp.reject.region_and_team")
		case region != "":
			if id, ok := regions[region]; ok {
				c.RegionID, c.Code = id, strings.Clone(region)
			} else {
				rw.bad(cRegion, "imp.reject.unknown_region", quote(region))
			}
		case team != "":
			if id, ok := teams[team]; ok {
				c.TeamID, c.Code = id, strings.Clone(team)
			} else {
				rw.bad(cTeam, "imp.reject.unknown_team", quote(team))
			}
		default:
			c2 := cRegion
			if !rw.s.has(cRegion) {
				c2 = cTeam
			}
			rw.bad(c2, "imp.reject.closure_target")
		}
		c.From, c.To, c.Reason = rw.span(cFrom, cTo, cReason)
		c.Reason = strings.Clone(c.Reason)
		if len(rw.errs) == 0 {
			k := store.ClosureImportKey(c)
			if prev, dup := seen[k]; dup {
				f := cRegion
				if c.TeamID != 0 {
					f = cTeam
				}
				rw.bad(f, "imp.reject.duplicate_closure", prev)
			} else {
				seen[k] = rw.line
			}
		}
		return c
	}}, nil
}

// Scope limits whose unavailability an import may add: TeamID zero for an
// admin (anyone), a team leader's team otherwise, as the API allows.
type Scope struct{ TeamID int64 }

// spanOptions refuses the options that only patches of registers take.
func spanOptions(opt Options) error {
	var v domain.ValidationError
	if opt.Import.Clear() {
		v.Add("empty", "only businesses and inspectors imports take empty=clear: every column of this file is needed")
	}
	if opt.Import.RiskOverride || opt.Import.Reason != "" {
		v.Add("risk_override", "only businesses imports take risk_override")
	}
	return v.Err()
}

// Unavailability imports an unavailability file read from r on behalf of
// actor within scope: each good row adds one inspector's days away unless an
// identical one is stored. The job ends as Businesses' does.
func Unavailability(ctx context.Context, st *store.Store, actor string, scope Scope, r io.Reader, opt Options) (store.ImportJob, error) {
	opt.Import.DryRun = false
	if err := spanOptions(opt); err != nil {
		return store.ImportJob{}, err
	}
	j, err := start(ctx, st, actor, store.ImportUnavailability, opt)
	if err != nil {
		return store.ImportJob{}, err
	}
	return j.finish(ctx, unavailability(ctx, j, scope, r, opt))
}

// DryRunUnavailability reports what Unavailability would do and writes
// nothing: new or unchanged rows, and refused rows with their line and column.
func DryRunUnavailability(ctx context.Context, st *store.Store, actor string, scope Scope, r io.Reader, opt Options) (Report, error) {
	opt.Import.DryRun = true
	if err := spanOptions(opt); err != nil {
		return Report{}, err
	}
	j := dryJob(st, actor, store.ImportUnavailability, opt)
	err := unavailability(ctx, j, scope, r, opt)
	return j.report.finish(j), err
}

func unavailability(ctx context.Context, j *job, scope Scope, r io.Reader, opt Options) error {
	// A team leader sees only its members: any other code is unknown to it,
	// as the API answers 404 for them.
	inspectors, err := j.st.InspectorRefsByCode(ctx, scope.TeamID)
	if err != nil {
		return fmt.Errorf("load inspector codes: %w", err)
	}
	p, err := newUnavailabilityParser(r, inspectors)
	if err != nil {
		return err
	}
	l := loader[store.UnavailabilityImport]{j: j, load: func(ctx context.Context, b *batch[store.UnavailabilityImport]) (store.PatchResult, error) {
		res, err := j.st.LoadUnavailability(ctx, j.actor, b.rows, opt.Import.DryRun)
		p.s.nameFields(res.Errors)
		return res, err
	}}
	return l.run(ctx, p)
}

// Closures imports a closures file (admins only, as the API allows) read
// from r on behalf of actor: each good row adds one closure unless an
// identical one is stored.
func Closures(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error) {
	opt.Import.DryRun = false
	if err := spanOptions(opt); err != nil {
		return store.ImportJob{}, err
	}
	j, err := start(ctx, st, actor, store.ImportClosures, opt)
	if err != nil {
		return store.ImportJob{}, err
	}
	return j.finish(ctx, closures(ctx, j, r, opt))
}

// DryRunClosures is DryRunUnavailability for a closures file.
func DryRunClosures(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (Report, error) {
	opt.Import.DryRun = true
	if err := spanOptions(opt); err != nil {
		return Report{}, err
	}
	j := dryJob(st, actor, store.ImportClosures, opt)
	err := closures(ctx, j, r, opt)
	return j.report.finish(j), err
}

func closures(ctx context.Context, j *job, r io.Reader, opt Options) error {
	regions, err := j.st.RegionIDsByCode(ctx)
	if err != nil {
		return fmt.Errorf("load region codes: %w", err)
	}
	teams, err := j.st.TeamIDsByCode(ctx)
	if err != nil {
		return fmt.Errorf("load team codes: %w", err)
	}
	p, err := newClosureParser(r, regions, teams)
	if err != nil {
		return err
	}
	l := loader[store.ClosureImport]{j: j, load: func(ctx context.Context, b *batch[store.ClosureImport]) (store.PatchResult, error) {
		res, err := j.st.LoadClosures(ctx, j.actor, b.rows, opt.Import.DryRun)
		p.s.nameFields(res.Errors)
		return res, err
	}}
	return l.run(ctx, p)
}
