package api

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/xlsxout"
)

// Spreadsheet downloads: a list that people keep in Excel answers
// ?format=xlsx with the whole list (every page, up to xlsxout.MaxRows) as a
// workbook, under the same roles and scope as its JSON. Headers are Chinese,
// English with ?lang=en or Accept-Language: en.

// wantsXLSX reads ?format=: json (the default) or xlsx.
func wantsXLSX(c echo.Context) (bool, error) {
	q := &query{c: c}
	f := q.oneOf("format", "json", "xlsx")
	return f == "xlsx", q.errs.Err()
}

// sendXLSX builds a workbook in the request's language and sends it as an
// attachment named zh (or en in English; en is also the ASCII fallback).
func sendXLSX(c echo.Context, zh, en string, build func(*xlsxout.Writer) error) error {
	return xlsxout.Respond(c.Response(), xlsxout.Lang(c.Request()), zh, en, build)
}

// planVisitsXLSX answers GET /api/v1/plans/{id}/visits?format=xlsx: the
// visits the caller may read (a planner's: those carrying its department's
// tasks, with only its tasks), one row each.
func (s *Server) planVisitsXLSX(c echo.Context, id, scope int64) error {
	ctx := c.Request().Context()
	visits, err := xlsxout.All(func(pg store.Page) (store.Paged[store.PlanVisit], error) {
		return s.plans.Visits(ctx, id, scope, pg)
	})
	if err != nil {
		return err
	}
	names, err := xlsxout.LoadNames(ctx, s.store)
	if err != nil {
		return err
	}
	return sendXLSX(c, fmt.Sprintf("计划%d走访.xlsx", id), fmt.Sprintf("plan-%d-visits.xlsx", id), func(w *xlsxout.Writer) error {
		return xlsxout.PlanVisits(w, visits, names)
	})
}

// rosterXLSX answers GET /api/v1/teams/{id}/rosters/{date}?format=xlsx: the
// roster as the caller may read it (contacts withheld as in JSON).
func (s *Server) rosterXLSX(c echo.Context, roster store.Roster) error {
	code := safeName(roster.Team.Code)
	return sendXLSX(c, fmt.Sprintf("%s排班表%s.xlsx", code, roster.Date), fmt.Sprintf("roster-%s-%s.xlsx", code, roster.Date),
		func(w *xlsxout.Writer) error { return xlsxout.Roster(w, roster) })
}

// demandsXLSX answers GET /api/v1/demands?format=xlsx: every demand the
// filter selects within the caller's scope.
// none says the filter can select nothing in the caller's scope (a planner
// asking for another department): the workbook has the header only.
func (s *Server) demandsXLSX(c echo.Context, f store.DemandFilter, none bool) error {
	ctx := c.Request().Context()
	var ds []domain.Demand
	if !none {
		var err error
		ds, err = xlsxout.All(func(pg store.Page) (store.Paged[domain.Demand], error) {
			return s.store.ListDemands(ctx, f, pg)
		})
		if err != nil {
			return err
		}
	}
	names, err := xlsxout.LoadNames(ctx, s.store)
	if err != nil {
		return err
	}
	return sendXLSX(c, "检查需求.xlsx", "demands.xlsx", func(w *xlsxout.Writer) error {
		return xlsxout.Demands(w, ds, names, s.location())
	})
}

// openResultsXLSX answers GET /api/v1/open-data/results.xlsx: the published
// results of the period (from, to) as the CSV has them, one row an item;
// department=CODE keeps that department's items. No token, as for the CSV.
func (s *Server) openResultsXLSX(c echo.Context) error {
	q := query{c: c}
	f := resultFilter(&q)
	dept := strings.ToUpper(strings.TrimSpace(c.QueryParam("department")))
	if len(dept) > 32 {
		q.errs.Add("department", "must be a department code")
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var rs []store.PublishedResult
	err := s.store.EachPublishedResult(ctx, f, func(r store.PublishedResult) error {
		if len(rs) >= xlsxout.MaxRows {
			return domain.Invalid("from", "%v", xlsxout.ErrTooLong)
		}
		rs = append(rs, r)
		return nil
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	zh, en := "检查结果.xlsx", "results.xlsx"
	if dept != "" {
		zh, en = safeName(dept)+"检查结果.xlsx", "results-"+safeName(dept)+".xlsx"
	}
	return sendXLSX(c, zh, en, func(w *xlsxout.Writer) error {
		return xlsxout.Results(w, rs, dept, s.location())
	})
}

// safeName keeps letters, digits, '-' and '_' of a code for a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
}
