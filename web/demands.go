package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/csvout"
	"inspectonce/domain"
	"inspectonce/store"
)

// The planner's workspace (issue 18 part 1): "My demands" (/demands), the
// demand form (/demands/new), the live population count the form asks for
// (/demands/population) and the department's results (/demands/results.csv).
// A planner works on its own department; an admin on any, chosen with
// ?department_id=.

// DemandIntake submits, cancels and counts demands exactly as the JSON API
// does (api.Server implements it): the pages add no rules of their own to a
// demand, only translate what the API refuses to the form's labels.
type DemandIntake interface {
	// SubmitDemandJSON is POST /api/v1/demands with body and Idempotency-Key key.
	SubmitDemandJSON(ctx context.Context, p domain.Principal, key string, body []byte) (domain.Demand, bool, error)
	// CheckDemandJSON runs the same checks without storing anything.
	CheckDemandJSON(ctx context.Context, p domain.Principal, body []byte) error
	// CancelDemandAs is POST /api/v1/demands/{id}/cancel.
	CancelDemandAs(ctx context.Context, p domain.Principal, id int64, reason string) (domain.Demand, error)
	// DemandPopulation is GET /api/v1/demands/population.
	DemandPopulation(ctx context.Context, p domain.Principal, q url.Values) (store.PopulationEstimate, error)
}

// SetDemandIntake connects the demand pages to the API's checks; without it
// the pages that submit or cancel answer 404.
func (p *Pages) SetDemandIntake(d DemandIntake) { p.intake = d }

const (
	// demandsShown is one page of /demands.
	demandsShown = 30
	// datesShown bounds the visit dates listed per plan on /demands.
	datesShown = 6
	// maxUploadBytes bounds an uploaded list of USCCs (≈ 50 000 lines).
	maxUploadBytes = 1 << 20
)

func (p *Pages) demandRoutes(g *echo.Group) {
	g.GET("/demands", p.page(p.demandsPage))
	g.GET("/demands/new", p.page(p.demandForm))
	g.POST("/demands/new", p.page(p.submitDemandForm))
	g.GET("/demands/population", p.demandPopulation)
	g.GET("/demands/results.csv", p.page(p.demandResultsCSV))
	g.POST("/demands/:id/cancel", p.page(p.cancelDemandForm))
}

// demandDepartment is the department a page works on: a planner's own; for an
// admin the one named by department_id (0 when none is named: every
// department on /demands, a choice on /demands/new).
func (p *Pages) demandDepartment(c echo.Context, v domain.Principal, raw string) (domain.Department, error) {
	if v.Role == domain.RolePlanner {
		return p.store.GetDepartment(c.Request().Context(), v.DepartmentID)
	}
	if raw == "" {
		return domain.Department{}, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return domain.Department{}, fmt.Errorf("department %q: %w", raw, domain.ErrNotFound)
	}
	return p.store.GetDepartment(c.Request().Context(), id)
}

func (p *Pages) departments(ctx context.Context) ([]domain.Department, error) {
	out, err := p.store.ListDepartments(ctx, store.Page{Limit: store.MaxLimit})
	return out.Items, err
}

// ---- My demands

type demandsView struct {
	Department  domain.Department
	Departments []domain.Department // admin: the filter's choices
	Demands     []demandCard
	Next        int64
	Created     int64
	Replayed    bool
	Cancelled   int64
	// CancelErrors are refusals of a cancel form, by demand id.
	CancelErrors map[int64]string
	CancelReason map[int64]string
}

func (v demandsView) DeptQuery() string {
	if v.Department.ID == 0 {
		return ""
	}
	return "department_id=" + strconv.FormatInt(v.Department.ID, 10)
}

// demandsPage is GET /demands: the department's demands, newest first, each
// with what became of it.
func (p *Pages) demandsPage(c echo.Context) error {
	return p.renderDemands(c, http.StatusOK, nil, nil)
}

func (p *Pages) renderDemands(c echo.Context, status int, cancelErrs map[int64]string, reasons map[int64]string) error {
	v, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	dept, err := p.demandDepartment(c, v, c.QueryParam("department_id"))
	if err != nil {
		return err
	}
	view := demandsView{Department: dept, CancelErrors: cancelErrs, CancelReason: reasons}
	if v.Role == domain.RoleAdmin {
		if view.Departments, err = p.departments(ctx); err != nil {
			return err
		}
	}
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	view.Created, _ = strconv.ParseInt(c.QueryParam("created"), 10, 64)
	view.Replayed = c.QueryParam("replayed") == "1"
	view.Cancelled, _ = strconv.ParseInt(c.QueryParam("cancelled"), 10, 64)
	board, next, err := p.store.DemandBoard(ctx, dept.ID, before, demandsShown)
	if err != nil {
		return err
	}
	view.Next = next
	lang := negotiate(c.Request())
	for _, d := range board {
		view.Demands = append(view.Demands, newDemandCard(lang, d))
	}
	return p.render(c, status, "demands", "dem.title", view)
}

// demandCard is one demand on /demands, with its texts made.
type demandCard struct {
	store.DemandProgress
	Target      string
	Placements  []placementView
	Outcomes    []outcomeCount
	Cancellable bool
}

type placementView struct {
	store.DemandPlacement
	Shown     []time.Time
	MoreDates int
}

type outcomeCount struct {
	Outcome string
	N       int
}

func newDemandCard(lang Lang, d store.DemandProgress) demandCard {
	c := demandCard{DemandProgress: d,
		Cancellable: d.State == store.ProgressOpen || d.State == store.ProgressUnplaced}
	if d.TargetKind == domain.TargetList {
		c.Target = lang.T("dem.target.list_n", len(d.Businesses))
	} else if s := d.Sample; s != nil {
		parts := []string{lang.T("dem.target.sample")}
		if s.Count != nil {
			parts = append(parts, lang.T("dem.sample.count", *s.Count))
		}
		if s.Ratio != nil {
			parts = append(parts, lang.T("dem.sample.ratio", strconv.FormatFloat(*s.Ratio*100, 'g', 4, 64)+" %"))
		}
		if len(s.RegionIDs) > 0 {
			parts = append(parts, lang.T("dem.sample.regions", len(s.RegionIDs)))
		}
		if len(s.IndustryCodes) > 0 {
			parts = append(parts, lang.T("dem.sample.industries", strings.Join(s.IndustryCodes, ", ")))
		}
		if s.ScenarioID != nil {
			parts = append(parts, lang.T("dem.sample.scenario"))
		}
		if len(s.RiskCodes) > 0 {
			risks := make([]string, len(s.RiskCodes))
			for i, r := range s.RiskCodes {
				risks[i] = lang.T("dem.risk." + r)
			}
			parts = append(parts, lang.T("dem.sample.risks", strings.Join(risks, "、")))
		}
		c.Target = strings.Join(parts, lang.T("dem.sep"))
	}
	for _, pl := range d.Placements {
		v := placementView{DemandPlacement: pl, Shown: pl.Dates}
		if len(pl.Dates) > datesShown {
			v.Shown, v.MoreDates = pl.Dates[:datesShown], len(pl.Dates)-datesShown
		}
		c.Placements = append(c.Placements, v)
	}
	for _, o := range []string{"compliant", "minor", "violation", "transferred", "not_done"} {
		if n := d.Outcomes[o]; n > 0 {
			c.Outcomes = append(c.Outcomes, outcomeCount{o, n})
		}
	}
	return c
}

// cancelDemandForm is POST /demands/{id}/cancel: cancel with a reason, as the
// API's cancel (same check, same audit entry).
func (p *Pages) cancelDemandForm(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	if p.intake == nil {
		return fmt.Errorf("demand intake not connected: %w", domain.ErrNotFound)
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	lang := negotiate(c.Request())
	if _, err := p.intake.CancelDemandAs(c.Request().Context(), v, id, reason); err != nil {
		var msg string
		if ve := asValidation(err); ve != nil {
			msg = lang.T("dem.f.reason") + lang.T("dem.colon") + fieldMessage(lang, ve.Fields[0])
		} else if isConflict(err) {
			msg = lang.T("dem.cancel.not_open")
		} else {
			return err
		}
		return p.renderDemands(c, http.StatusUnprocessableEntity, map[int64]string{id: msg}, map[int64]string{id: reason})
	}
	q := url.Values{"cancelled": {strconv.FormatInt(id, 10)}}
	if d := c.QueryParam("department_id"); d != "" {
		q.Set("department_id", d)
	}
	return c.Redirect(http.StatusSeeOther, "/demands?"+q.Encode())
}

// demandResultsCSV is GET /demands/results.csv: the current result of every
// task of the department's demands, in the page's language (written by
// csvout: BOM, formulas neutralised).
func (p *Pages) demandResultsCSV(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	dept, err := p.demandDepartment(c, v, c.QueryParam("department_id"))
	if err != nil {
		return err
	}
	lang := negotiate(c.Request())
	name := "results.csv"
	if dept.Code != "" {
		name = "results-" + dept.Code + ".csv"
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w := csvout.NewWriter(c.Response())
	header := []string{"dem.csv.demand", "dem.csv.title", "dem.csv.department", "dem.csv.visit_date", "dem.csv.uscc",
		"dem.csv.business", "dem.csv.item_code", "dem.csv.item", "dem.csv.legal_basis", "dem.csv.outcome",
		"dem.csv.rule_cited", "dem.csv.rectify_by", "dem.csv.transferred_to", "dem.csv.not_done_reason", "dem.csv.note",
		"dem.csv.recorded_at", "dem.csv.confirmed", "dem.csv.plan", "dem.csv.visit"}
	for i, k := range header {
		header[i] = lang.T(k)
	}
	started := false
	err = p.store.EachDepartmentResult(c.Request().Context(), dept.ID, func(r store.DepartmentResult) error {
		if !started {
			started = true
			c.Response().WriteHeader(http.StatusOK)
			if err := w.Write(header); err != nil {
				return err
			}
		}
		rectify, notDone := "", ""
		if r.RectifyBy != nil {
			rectify = r.RectifyBy.Format(time.DateOnly)
		}
		if r.NotDoneReason != "" {
			notDone = lang.T("dem.not_done." + r.NotDoneReason)
		}
		confirmed := lang.T("dem.csv.no")
		if r.Confirmed {
			confirmed = lang.T("dem.csv.yes")
		}
		return w.Write([]string{strconv.FormatInt(r.DemandID, 10), r.DemandTitle, r.DepartmentCode,
			r.VisitDate.Format(time.DateOnly), r.USCC, r.BusinessName, r.ItemCode, r.ItemName, r.LegalBasis,
			lang.T("outcome." + r.Outcome), r.RuleCited, rectify, r.TransferredTo, notDone, r.Note,
			r.RecordedAt.In(p.loc).Format("2006-01-02 15:04"), confirmed,
			strconv.FormatInt(r.PlanID, 10), strconv.Itoa(r.VisitSeq)})
	})
	if err != nil {
		if !started {
			return err
		}
		p.log.ErrorContext(c.Request().Context(), "department results cut short", "err", err)
		return nil
	}
	if !started {
		c.Response().WriteHeader(http.StatusOK)
		if err := w.Write(header); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// demandPopulation is GET /demands/population: GET /api/v1/demands/population
// for the signed-in page (the form's script calls it as the fields change).
func (p *Pages) demandPopulation(c echo.Context) error {
	v := viewer(c)
	if p.intake == nil {
		return c.JSON(http.StatusNotFound, map[string]string{"error": "not available"})
	}
	est, err := p.intake.DemandPopulation(c.Request().Context(), v, c.QueryParams())
	if err != nil {
		lang := negotiate(c.Request())
		if ve := asValidation(err); ve != nil {
			fields := map[string]string{}
			for _, f := range ve.Fields {
				fields[populationField(f.Field)] = fieldMessage(lang, f)
			}
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"errors": fields})
		}
		if isForbidden(err) {
			return c.JSON(http.StatusForbidden, map[string]string{"error": lang.T("error.forbidden")})
		}
		return err
	}
	return c.JSON(http.StatusOK, newPopView(negotiate(c.Request()), est))
}

// populationField maps the population query's parameters to the form's
// field names.
func populationField(f string) string {
	base, _, _ := strings.Cut(f, "[")
	switch base {
	case "region_id":
		return "region_id"
	case "industry":
		return "industry"
	case "scenario_id":
		return "sample_scenario_id"
	case "risk":
		return "risk"
	case "count":
		return "count"
	case "ratio":
		return "ratio_pct"
	}
	return "sample"
}

// newFormToken is the one-time token a demand form carries: it is the
// submission's Idempotency-Key, so a double click makes one demand.
func newFormToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isHexToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// sortedIDs parses ids, dropping what is not a positive id.
func sortedIDs(raw []string) []int64 {
	var out []int64
	for _, s := range raw {
		if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && id > 0 && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
