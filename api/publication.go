package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/csvout"
	"inspectonce/domain"
	"inspectonce/store"
)

// publicationRoutes adds the open-data export (public: 一公开 is publication)
// to v1, outside the token check, and the dashboard and figures to the
// authenticated group.
func (s *Server) publicationRoutes(v1, authed *echo.Group) {
	v1.GET("/open-data/results.json", s.openResultsJSON)
	v1.GET("/open-data/results.csv", s.openResultsCSV)
	v1.GET("/open-data/results.xlsx", s.openResultsXLSX)
	authed.GET("/publication", s.getPublication)
	authed.GET("/figures", s.getFigures)
}

func (s *Server) location() *time.Location {
	if s.cfg != nil {
		return s.cfg.Location()
	}
	return time.UTC
}

// optionalDate reads an optional civil date query parameter.
func optionalDate(q *query, name string) time.Time {
	v := q.c.QueryParam(name)
	if v == "" {
		return time.Time{}
	}
	d, err := domain.ParseDate(v, nil)
	if err != nil {
		q.errs.Add(name, "%v", err)
	}
	return d
}

// resultFilter reads from and to (both optional, from ≤ to).
func resultFilter(q *query) store.ResultFilter {
	f := store.ResultFilter{From: optionalDate(q, "from"), To: optionalDate(q, "to")}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		q.errs.Add("to", "is before from")
	}
	return f
}

// openResultsJSON answers GET /api/v1/open-data/results.json: a page of
// published results. No token: published results are public.
func (s *Server) openResultsJSON(c echo.Context) error {
	q := query{c: c}
	f := resultFilter(&q)
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.PublishedResults(c.Request().Context(), f, pg.After, pg.Limit)
	if err != nil {
		return err
	}
	loc := s.location()
	for i := range out.Items {
		out.Items[i].PublishedAt = publicInstant(out.Items[i].PublishedAt, loc)
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return list(c, out)
}

// publicInstant is how open data gives a timestamp, in JSON and CSV alike:
// in the county's zone, to the second, so both read the same RFC 3339 text
// with the zone's offset (2026-11-23T10:00:00+08:00). Dates (visit_date,
// publish_due, rectify_by) are civil dates in that zone.
func publicInstant(t time.Time, loc *time.Location) time.Time {
	return t.In(loc).Truncate(time.Second)
}

// ResultsCSVHeader is the open-data CSV's header: one row per item result,
// in this order.
var ResultsCSVHeader = []string{"visit_date", "uscc", "business_name", "plan_id", "visit_seq", "department_code",
	"department_name", "item_code", "item_name", "legal_basis", "outcome", "rule_cited", "rectify_by", "transferred_to",
	"not_done_reason", "inspectors", "published_at", "publish_due", "draws"}

// openResultsCSV answers GET /api/v1/open-data/results.csv: every published
// result of the period, one row per item, streamed. It is written by
// csvout: a UTF-8 BOM first, formula cells neutralised.
func (s *Server) openResultsCSV(c echo.Context) error {
	q := query{c: c}
	f := resultFilter(&q)
	if err := q.errs.Err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The first page is read before the status is sent, so that a database
	// failure is still a 500 and not a cut-off file.
	first, err := s.store.PublishedResults(ctx, f, "", 1)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="results.csv"`)
	h.Set("Cache-Control", "public, max-age=300")
	c.Response().WriteHeader(http.StatusOK)
	w := csvout.NewWriter(c.Response())
	if err := w.Write(ResultsCSVHeader); err != nil {
		return err
	}
	if len(first.Items) == 0 {
		w.Flush()
		return w.Error()
	}
	loc := s.location()
	err = s.store.EachPublishedResult(ctx, f, func(r store.PublishedResult) error {
		for _, row := range resultRows(r, loc) {
			if err := w.Write(row); err != nil {
				return err
			}
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		// The status is sent: all that can be done is stop and say so in
		// the log; the file ends early and the client sees it truncated.
		s.log.ErrorContext(ctx, "results export cut short", "err", err)
		return nil
	}
	w.Flush()
	return w.Error()
}

// resultRows are the CSV rows of one published result, one per item.
func resultRows(r store.PublishedResult, loc *time.Location) [][]string {
	draws := make([]string, len(r.Draws))
	for i, d := range r.Draws {
		draws[i] = fmt.Sprintf("plan %d draw %d (%s %s): frame %d sha256 %s, n %d, shift %s, seed %s",
			d.PlanID, d.Seq, d.DepartmentName, d.DepartmentCode, d.FrameSize, d.FrameHash, d.N,
			strconv.FormatFloat(d.Shift, 'g', -1, 64), d.Seed.String())
	}
	rows := make([][]string, 0, len(r.Items))
	for _, it := range r.Items {
		rows = append(rows, []string{r.VisitDate, r.USCC, r.BusinessName, strconv.FormatInt(r.PlanID, 10),
			strconv.Itoa(r.VisitSeq), it.DepartmentCode, it.DepartmentName, it.ItemCode, it.ItemName, it.LegalBasis,
			it.Outcome, it.RuleCited, it.RectifyBy, it.TransferredTo, it.NotDoneReason, strings.Join(r.Inspectors, "; "),
			publicInstant(r.PublishedAt, loc).Format(time.RFC3339), r.PublishDue, strings.Join(draws, "; ")})
	}
	return rows
}

// getPublication answers GET /api/v1/publication: the publication
// dashboard. An admin sees everything, a planner the visits carrying its
// department's tasks.
func (s *Server) getPublication(c echo.Context) error {
	p, err := allow(c, "read the publication dashboard", planRoles...)
	if err != nil {
		return err
	}
	q := store.PublicationQuery{Today: s.today(), Location: s.location(), DepartmentID: demandScope(p)}
	if s.cal != nil {
		q.AddWorkingDays = s.cal.AddWorkingDays
	}
	if s.cfg != nil {
		q.WorkingDays = s.cfg.Results.PublishWithinWorkingDays
	}
	out, err := s.store.PublicationStatus(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// maxFiguresDays bounds a figures period: about three years.
const maxFiguresDays = 1100

// getFigures answers GET /api/v1/figures?from=&to=: the period's figures.
func (s *Server) getFigures(c echo.Context) error {
	p, err := allow(c, "read figures", planRoles...)
	if err != nil {
		return err
	}
	q := query{c: c}
	var v checker
	from := planDate(&v, "from", c.QueryParam("from"))
	to := planDate(&v, "to", c.QueryParam("to"))
	if v.Err() == nil {
		switch {
		case to.Before(from):
			v.Add("to", "is before from")
		case to.Sub(from) > maxFiguresDays*24*time.Hour:
			v.Add("to", "the period may span at most %d days", maxFiguresDays)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.ResultFigures(c.Request().Context(), store.FiguresQuery{From: from, To: to, Today: s.today(),
		Location: s.location(), DepartmentID: demandScope(p)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
