package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/uscc"
)

type windowJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type sampleRequest struct {
	RegionIDs     []int64  `json:"region_ids"`
	IndustryCodes []string `json:"industry_codes"`
	ScenarioID    *int64   `json:"scenario_id"`
	RiskCodes     []string `json:"risk_codes"`
	Count         *int     `json:"count"`
	Ratio         *float64 `json:"ratio"`
}

type demandRequest struct {
	DepartmentID *int64         `json:"department_id"`
	Title        string         `json:"title"`
	ItemIDs      []int64        `json:"item_ids"`
	Businesses   []string       `json:"businesses"`
	Sample       *sampleRequest `json:"sample"`
	Window       *windowJSON    `json:"window"`
	Priority     *int           `json:"priority"`
	Source       string         `json:"source"`
	ScenarioID   *int64         `json:"scenario_id"`
	AnnounceDays *int           `json:"announce_days"`
}

type demandResponse struct {
	domain.Demand
	Window windowJSON `json:"window"`
}

func demandJSON(d domain.Demand) demandResponse {
	return demandResponse{Demand: d, Window: windowJSON{From: d.WindowFrom.Format(time.DateOnly), To: d.WindowTo.Format(time.DateOnly)}}
}

// IdempotencyHeader names the header that makes a submission safe to retry.
const IdempotencyHeader = "Idempotency-Key"

func (s *Server) submitDemand(c echo.Context) error {
	p, err := allow(c, "submit demands", demandRoles...)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return decodeError(err)
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(raw))
	var req demandRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	d, replayed, err := s.createDemand(c.Request().Context(), p, c.Request().Header.Get(IdempotencyHeader), raw, &req)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/demands/%d", d.ID))
	return c.JSON(http.StatusCreated, demandJSON(*d))
}

// createDemand checks and stores a decoded demand; raw is the request body
// the idempotency key (when not "") is bound to.
func (s *Server) createDemand(ctx context.Context, p domain.Principal, key string, raw []byte, req *demandRequest) (*domain.Demand, bool, error) {
	var idem *store.Idempotency
	if key != "" {
		if len(key) > 255 {
			return nil, false, domain.Invalid(IdempotencyHeader, "must be at most 255 characters")
		}
		h := sha256.Sum256(raw)
		idem = &store.Idempotency{TokenID: p.TokenID, Key: key, RequestHash: h[:]}
	}
	// A list of businesses, as most demands are, is checked assuming that
	// the registries hold what it names, and the statement storing it checks
	// that (one round trip). Anything the assumption hides is found by
	// checking it again against the registries, which answers as ever.
	if assumable(req) {
		d, err := s.checkDemand(ctx, p, req, true)
		if err == nil {
			replayed, err := s.store.CreateCheckedDemand(ctx, p.Actor(), idem, d)
			if !errors.Is(err, store.ErrDemandRefs) {
				if err != nil {
					return nil, false, err
				}
				return d, replayed, nil
			}
		}
	}
	d, err := s.checkDemand(ctx, p, req, false)
	if err != nil {
		return nil, false, err
	}
	replayed, err := s.store.CreateDemand(ctx, p.Actor(), idem, d)
	if err != nil {
		return nil, false, err
	}
	return d, replayed, nil
}

// assumable reports whether a demand can be checked assuming what the
// registries hold: a list of businesses with no scenario, whose other checks
// read nothing.
func assumable(req *demandRequest) bool {
	return len(req.Businesses) > 0 && req.Sample == nil && req.ScenarioID == nil
}

// checkDemand applies every rule a demand can break and returns the demand to
// store, or a ValidationError naming each bad field. With assume (only for an
// assumable request) it reads nothing: the department exists, each item is
// the demand's department's and each business is registered, which
// store.CreateCheckedDemand then checks.
func (s *Server) checkDemand(ctx context.Context, p domain.Principal, req *demandRequest, assume bool) (*domain.Demand, error) {
	var v checker
	d := &domain.Demand{Title: req.Title, Source: req.Source, ScenarioID: req.ScenarioID, Priority: 3, CreatedBy: p.Actor()}

	switch {
	case p.Role == domain.RolePlanner && req.DepartmentID != nil && *req.DepartmentID != p.DepartmentID:
		v.Add("department_id", "a planner submits demands for their own department (%s) only", p.Scope)
	case p.Role == domain.RolePlanner:
		d.DepartmentID = p.DepartmentID
	case req.DepartmentID == nil || *req.DepartmentID <= 0:
		v.Add("department_id", "is required")
	default:
		d.DepartmentID = *req.DepartmentID
		// Assumed: the items, each checked to be the department's, are
		// the department's only if it exists.
		if !assume {
			if err := s.missing(ctx, &v, "department_id", "departments", d.DepartmentID); err != nil {
				return nil, err
			}
		}
	}
	v.text("title", req.Title, false, maxTitleLen)
	v.oneOf("source", req.Source, domain.SourceRoutine, domain.SourceComplaint, domain.SourceCampaign, domain.SourceScenario)
	if req.Priority != nil {
		d.Priority = *req.Priority
		if d.Priority < 1 || d.Priority > 5 {
			v.Add("priority", "must be between 1 (highest) and 5, got %d", d.Priority)
		}
	}
	if req.AnnounceDays != nil {
		d.AnnounceDays = *req.AnnounceDays
		if d.AnnounceDays < 0 || d.AnnounceDays > 60 {
			v.Add("announce_days", "must be between 0 (unannounced) and 60, got %d", d.AnnounceDays)
		}
	}
	s.checkWindow(&v, req.Window, d)

	// Items: at least one, each existing and owned by the demand's department.
	if len(req.ItemIDs) == 0 {
		v.Add("item_ids", "name at least one inspection item")
	}
	if !v.count("item_ids", len(req.ItemIDs), maxDemandItems) {
		return nil, v.Err() // nothing is looked up for an oversized list
	}
	v.positiveIDs("item_ids", req.ItemIDs)
	d.ItemIDs = req.ItemIDs
	// The items and a list's businesses are read in one round trip; the
	// businesses only when checkTargets would look them up.
	var codes []string
	if len(req.Businesses) > 0 && req.Sample == nil && s.listLookedUp(req.Businesses) {
		codes = req.Businesses
	}
	var refs store.DemandRefs
	if assume {
		refs.ItemDepartments = make(map[int64]int64, len(req.ItemIDs))
		for _, id := range req.ItemIDs {
			refs.ItemDepartments[id] = d.DepartmentID
		}
		refs.MissingBusinesses = []string{}
	} else {
		var err error
		if refs, err = s.store.DemandRefs(ctx, req.ItemIDs, codes); err != nil {
			return nil, err
		}
	}
	owner := refs.ItemDepartments
	for i, id := range req.ItemIDs {
		dept, ok := owner[id]
		switch {
		case id <= 0:
		case !ok:
			v.Add(fmt.Sprintf("item_ids[%d]", i), "item %d does not exist", id)
		case d.DepartmentID != 0 && dept != d.DepartmentID:
			v.Add(fmt.Sprintf("item_ids[%d]", i), "item %d belongs to another department; a demand names only its own department's items", id)
		}
	}

	// Scenario demands check the scenario's items.
	if req.Source == domain.SourceScenario && req.ScenarioID == nil {
		v.Add("scenario_id", "a scenario demand names its scenario")
	}
	if req.ScenarioID != nil {
		sc, err := s.store.GetScenario(ctx, *req.ScenarioID)
		if err != nil {
			v.Add("scenario_id", "scenario %d does not exist", *req.ScenarioID)
		} else {
			for i, id := range req.ItemIDs {
				if !slices.Contains(sc.ItemIDs, id) {
					v.Add(fmt.Sprintf("item_ids[%d]", i), "item %d is not part of scenario %s", id, sc.Code)
				}
			}
		}
	}

	// Target: a list of businesses or a sampling rule, never both.
	switch {
	case len(req.Businesses) > 0 && req.Sample != nil:
		v.Add("sample", "give either businesses or sample, not both")
	case len(req.Businesses) > 0:
		d.TargetKind = domain.TargetList
		if err := s.checkTargets(ctx, &v, req.Businesses, refs.MissingBusinesses); err != nil {
			return nil, err
		}
		d.Businesses = req.Businesses
	case req.Sample != nil:
		d.TargetKind = domain.TargetSample
		if req.Source == domain.SourceComplaint {
			v.Add("sample", "a complaint names the businesses complained about; it is not drawn")
		}
		if err := s.checkSample(ctx, &v, req.Sample); err != nil {
			return nil, err
		}
		sr := domain.SampleRule(*req.Sample)
		d.Sample = &sr
	default:
		v.Add("businesses", "give the target: a list of businesses, or a sample rule")
	}
	return d, v.Err()
}

func (s *Server) checkWindow(v *checker, w *windowJSON, d *domain.Demand) {
	if w == nil {
		v.Add("window", "is required: {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}")
		return
	}
	loc := s.cfg.Location()
	from, errF := domain.ParseDate(w.From, loc)
	to, errT := domain.ParseDate(w.To, loc)
	if errF != nil {
		v.Add("window.from", "%v", errF)
	}
	if errT != nil {
		v.Add("window.to", "%v", errT)
	}
	if errF != nil || errT != nil {
		return
	}
	y, m, day := s.now().In(loc).Date()
	today := time.Date(y, m, day, 0, 0, 0, 0, loc)
	switch {
	case to.Before(from):
		v.Add("window.to", "ends (%s) before the window starts (%s)", w.To, w.From)
	case to.Before(today):
		v.Add("window.to", "is in the past (today is %s)", today.Format(time.DateOnly))
	case to.Sub(from) > time.Duration(s.cfg.Demands.MaxWindowDays)*24*time.Hour:
		v.Add("window", "is longer than %d days", s.cfg.Demands.MaxWindowDays)
	case s.cal.WorkingDays(maxTime(from, today), to) == 0:
		v.Add("window", "holds no working day from %s to %s (weekends, holidays)", maxTime(from, today).Format(time.DateOnly), w.To)
	}
	d.WindowFrom = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	d.WindowTo = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// listLookedUp reports whether checkTargets looks a list's codes up in the
// registry: when there are not too many and each is a valid USCC.
func (s *Server) listLookedUp(codes []string) bool {
	if len(codes) > s.cfg.Demands.MaxListTargets {
		return false
	}
	for _, code := range codes {
		if uscc.Check(code) != nil {
			return false
		}
	}
	return true
}

// checkTargets checks a list of businesses. missing, when not nil, is what
// store.MissingBusinesses answered for codes already (store.DemandRefs).
func (s *Server) checkTargets(ctx context.Context, v *checker, codes, missing []string) error {
	if len(codes) > s.cfg.Demands.MaxListTargets {
		v.Add("businesses", "at most %d businesses per demand, got %d", s.cfg.Demands.MaxListTargets, len(codes))
		return nil
	}
	seen := map[string]bool{}
	valid := true
	for i, code := range codes {
		field := fmt.Sprintf("businesses[%d]", i)
		if seen[code] {
			v.Add(field, "repeats %s", code)
		}
		seen[code] = true
		before := len(v.Fields)
		v.uscc(field, code)
		valid = valid && len(v.Fields) == before
	}
	if !valid {
		return nil
	}
	miss := missing
	if miss == nil {
		var err error
		if miss, err = s.store.MissingBusinesses(ctx, codes); err != nil {
			return err
		}
	}
	if len(miss) > 0 {
		v.Add("businesses", "not registered: %s", strings.Join(miss, ", "))
	}
	return nil
}

func (s *Server) checkSample(ctx context.Context, v *checker, r *sampleRequest) error {
	switch {
	case r.Count == nil && r.Ratio == nil:
		v.Add("sample", "give count or ratio")
	case r.Count != nil && r.Ratio != nil:
		v.Add("sample", "give count or ratio, not both")
	default:
		checkSampleSize(v, r, "sample.count", "sample.ratio")
	}
	return s.checkSampleFilter(ctx, v, r, sampleFilterFields)
}

// checkSampleSize checks a sampling rule's count or ratio, whichever is set.
func checkSampleSize(v *checker, r *sampleRequest, countField, ratioField string) {
	switch {
	case r.Count != nil && *r.Count < 1:
		v.Add(countField, "must be at least 1")
	case r.Ratio != nil && (*r.Ratio <= 0 || *r.Ratio > 1):
		v.Add(ratioField, "must be greater than 0 and at most 1 (0.05 = 5 %%)")
	}
}

// sampleFields name a sampling rule's filters in a request: the demand's
// JSON fields, or the population query's parameters.
type sampleFields struct{ regions, industries, scenario, risks string }

var sampleFilterFields = sampleFields{regions: "sample.region_ids", industries: "sample.industry_codes",
	scenario: "sample.scenario_id", risks: "sample.risk_codes"}

// checkSampleFilter checks a sampling rule's population filters.
func (s *Server) checkSampleFilter(ctx context.Context, v *checker, r *sampleRequest, f sampleFields) error {
	if !v.count(f.risks, len(r.RiskCodes), maxRiskCodes) ||
		!v.count(f.industries, len(r.IndustryCodes), maxIndustryCodes) ||
		!v.count(f.regions, len(r.RegionIDs), maxRegionIDs) {
		return nil
	}
	for i, rc := range r.RiskCodes {
		if rc != domain.RiskRed && rc != domain.RiskYellow && rc != domain.RiskGreen {
			v.Add(fmt.Sprintf("%s[%d]", f.risks, i), "must be red, yellow or green, got %q", rc)
		}
	}
	for i, ic := range r.IndustryCodes {
		if !industryRe.MatchString(ic) {
			v.Add(fmt.Sprintf("%s[%d]", f.industries, i), "must be an industry code such as H621, got %q", ic)
		}
	}
	v.positiveIDs(f.regions, r.RegionIDs)
	if err := s.missing(ctx, v, f.regions, "regions", r.RegionIDs...); err != nil {
		return err
	}
	if r.ScenarioID != nil {
		if err := s.missing(ctx, v, f.scenario, "scenarios", *r.ScenarioID); err != nil {
			return err
		}
	}
	return nil
}

// demandScope is the department a caller is limited to; 0 means all.
func demandScope(p domain.Principal) int64 {
	if p.Role == domain.RolePlanner {
		return p.DepartmentID
	}
	return 0
}

func (s *Server) listDemands(c echo.Context) error {
	p, err := allow(c, "read demands", demandRoles...)
	if err != nil {
		return err
	}
	q := query{c: c}
	f := store.DemandFilter{
		DepartmentID: q.int64("department_id"),
		Status:       q.oneOf("status", domain.DemandOpen, domain.DemandCancelled),
		Source:       q.oneOf("source", domain.SourceRoutine, domain.SourceComplaint, domain.SourceCampaign, domain.SourceScenario),
	}
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	xlsx, err := wantsXLSX(c)
	if err != nil {
		return err
	}
	if scope := demandScope(p); scope != 0 {
		if f.DepartmentID != 0 && f.DepartmentID != scope {
			if xlsx {
				return s.demandsXLSX(c, f, true)
			}
			return list(c, store.Paged[demandResponse]{})
		}
		f.DepartmentID = scope
	}
	if xlsx {
		return s.demandsXLSX(c, f, false)
	}
	out, err := s.store.ListDemands(c.Request().Context(), f, pg)
	if err != nil {
		return err
	}
	resp := store.Paged[demandResponse]{Next: out.Next}
	for _, d := range out.Items {
		resp.Items = append(resp.Items, demandJSON(d))
	}
	return list(c, resp)
}

func (s *Server) getDemand(c echo.Context) error {
	p, err := allow(c, "read demands", demandRoles...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := s.store.GetDemand(c.Request().Context(), id, demandScope(p))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, demandJSON(d))
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelDemand(c echo.Context) error {
	p, err := allow(c, "cancel demands", demandRoles...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req cancelRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	d, err := s.CancelDemandAs(c.Request().Context(), p, id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, demandJSON(d))
}

// placeDemandNow places an urgent demand into the calendar at once
// (planning.Service.PlaceNow): a plan restricted to that demand over today
// to its window's end, published at once so dispatch follows. Admins and the
// planners of the demand's department may; another department's demand is
// not found. 201 with the published plan, its visits (date, team) and what
// it could not place; 409 with the reason when the demand is not urgent, not
// open, a sample demand, or nothing could be placed.
func (s *Server) placeDemandNow(c echo.Context) error {
	p, err := allow(c, "place demands now", demandRoles...)
	if err != nil {
		return err
	}
	if s.plans == nil {
		return errNoPlanning
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.plans.PlaceNow(c.Request().Context(), p.Actor(), id, demandScope(p))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/plans/%d", out.Plan.ID))
	return c.JSON(http.StatusCreated, out)
}
