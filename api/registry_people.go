package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/risk"
	"inspectonce/store"
)

// ---- teams

type teamRequest struct {
	Code                 string  `json:"code"`
	Name                 string  `json:"name"`
	Kind                 string  `json:"kind"`
	DepartmentID         *int64  `json:"department_id"`
	BaseLat              float64 `json:"base_lat"`
	BaseLng              float64 `json:"base_lng"`
	DailyCapacityMinutes int     `json:"daily_capacity_minutes"`
	ContactPhone         string  `json:"contact_phone"`
	RegionIDs            []int64 `json:"region_ids"`
}

func (s *Server) listTeams(c echo.Context) error {
	return listOf(c, "list teams", func(q *query) store.TeamFilter {
		return store.TeamFilter{
			Kind:         q.oneOf("kind", domain.TeamComprehensive, domain.TeamProfessional, domain.TeamTownship),
			DepartmentID: q.int64("department_id"), RegionID: q.int64("region_id"),
		}
	}, s.store.ListTeams)
}

func (s *Server) getTeam(c echo.Context) error {
	return getByID(c, "read teams", s.store.GetTeam)
}

func (s *Server) createTeam(c echo.Context) error { return s.saveTeam(c, true) }
func (s *Server) updateTeam(c echo.Context) error { return s.saveTeam(c, false) }

func (s *Server) saveTeam(c echo.Context, create bool) error {
	p, id, err := s.writeTarget(c, create, "change teams")
	if err != nil {
		return err
	}
	var req teamRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v checker
	v.match("code", req.Code, codeRe, "letters, digits, '_', '.' or '-' (up to 64)")
	v.text("name", req.Name, true, maxNameLen)
	v.oneOf("kind", req.Kind, domain.TeamComprehensive, domain.TeamProfessional, domain.TeamTownship)
	switch {
	case req.Kind == domain.TeamProfessional && req.DepartmentID == nil:
		v.Add("department_id", "a professional team belongs to a department")
	case req.Kind != domain.TeamProfessional && req.DepartmentID != nil:
		v.Add("department_id", "only a professional team belongs to a department")
	case req.DepartmentID != nil:
		if err := s.missing(ctx, &v, "department_id", "departments", *req.DepartmentID); err != nil {
			return err
		}
	}
	v.between("base_lat", req.BaseLat, -90, 90)
	v.between("base_lng", req.BaseLng, -180, 180)
	if req.DailyCapacityMinutes < 1 || req.DailyCapacityMinutes > 100000 {
		v.Add("daily_capacity_minutes", "must be between 1 and 100000, got %d", req.DailyCapacityMinutes)
	}
	v.text("contact_phone", req.ContactPhone, false, maxPhoneLen)
	if len(req.RegionIDs) == 0 {
		v.Add("region_ids", "a team covers at least one region")
	}
	if v.count("region_ids", len(req.RegionIDs), maxRegionIDs) {
		v.positiveIDs("region_ids", req.RegionIDs)
		if err := s.missing(ctx, &v, "region_ids", "regions", req.RegionIDs...); err != nil {
			return err
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	t := &domain.Team{ID: id, Code: req.Code, Name: req.Name, Kind: req.Kind, DepartmentID: req.DepartmentID,
		BaseLat: req.BaseLat, BaseLng: req.BaseLng, DailyCapacityMinutes: req.DailyCapacityMinutes,
		ContactPhone: req.ContactPhone, RegionIDs: req.RegionIDs}
	if create {
		err = s.store.CreateTeam(ctx, p.Actor(), t)
	} else {
		err = s.store.UpdateTeam(ctx, p.Actor(), t)
	}
	return saved(c, create, t, err)
}

// ---- inspectors

type inspectorRequest struct {
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	TeamID    int64    `json:"team_id"`
	Domains   []string `json:"domains"`
	Phone     string   `json:"phone"`
	IsLeader  bool     `json:"is_leader"`
	Conflicts []string `json:"conflicts"`
}

func (s *Server) listInspectors(c echo.Context) error {
	return listOf(c, "list inspectors", func(q *query) store.InspectorFilter {
		return store.InspectorFilter{TeamID: q.int64("team_id"), Domain: c.QueryParam("domain")}
	}, s.store.ListInspectors)
}

func (s *Server) getInspector(c echo.Context) error {
	return getByID(c, "read inspectors", s.store.GetInspector)
}

func (s *Server) createInspector(c echo.Context) error { return s.saveInspector(c, true) }
func (s *Server) updateInspector(c echo.Context) error { return s.saveInspector(c, false) }

func (s *Server) saveInspector(c echo.Context, create bool) error {
	p, id, err := s.writeTarget(c, create, "change inspectors")
	if err != nil {
		return err
	}
	var req inspectorRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v checker
	v.match("code", req.Code, codeRe, "a certificate number of letters, digits, '_', '.' or '-'")
	v.text("name", req.Name, true, maxPersonNameLen)
	v.text("phone", req.Phone, false, maxPhoneLen)
	if req.TeamID <= 0 {
		v.Add("team_id", "is required")
	} else if err := s.missing(ctx, &v, "team_id", "teams", req.TeamID); err != nil {
		return err
	}
	if v.count("domains", len(req.Domains), maxDomains) {
		for i, d := range req.Domains {
			if !domainRe.MatchString(d) {
				v.Add(fmt.Sprintf("domains[%d]", i), "must be a lower-case qualification domain such as food_safety, got %q", d)
			}
		}
	}
	if v.count("conflicts", len(req.Conflicts), maxConflicts) {
		for i, code := range req.Conflicts {
			v.uscc(fmt.Sprintf("conflicts[%d]", i), code)
		}
	}
	if v.Err() == nil && len(req.Conflicts) > 0 {
		miss, err := s.store.MissingBusinesses(ctx, req.Conflicts)
		if err != nil {
			return err
		}
		if len(miss) > 0 {
			v.Add("conflicts", "businesses not registered: %s", strings.Join(miss, ", "))
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	in := &domain.Inspector{ID: id, Code: req.Code, Name: req.Name, TeamID: req.TeamID, Domains: req.Domains,
		Phone: req.Phone, IsLeader: req.IsLeader, Conflicts: req.Conflicts}
	if create {
		err = s.store.CreateInspector(ctx, p.Actor(), in)
	} else {
		err = s.store.UpdateInspector(ctx, p.Actor(), in)
	}
	return saved(c, create, in, err)
}

// ---- businesses

type businessRequest struct {
	USCC         string  `json:"uscc"`
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	RegionID     int64   `json:"region_id"`
	IndustryCode string  `json:"industry_code"`
	Lat          float64 `json:"lat"`
	Lng          float64 `json:"lng"`
	RiskCode     string  `json:"risk_code"`
	RiskReason   string  `json:"risk_reason"`
	ListKind     string  `json:"list_kind"`
	ContactName  string  `json:"contact_name"`
	ContactPhone string  `json:"contact_phone"`
}

// businessUpdate is businessRequest without the identity, which is the path.
type businessUpdate struct {
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	RegionID     int64   `json:"region_id"`
	IndustryCode string  `json:"industry_code"`
	Lat          float64 `json:"lat"`
	Lng          float64 `json:"lng"`
	RiskCode     string  `json:"risk_code"`
	RiskReason   string  `json:"risk_reason"`
	ListKind     string  `json:"list_kind"`
	ContactName  string  `json:"contact_name"`
	ContactPhone string  `json:"contact_phone"`
}

// businessScope limits a business token to its own USCC; others may read all.
func businessScope(c echo.Context, code string) error {
	p, err := allow(c, "read businesses", append(staffRoles, domain.RoleBusiness)...)
	if err != nil {
		return err
	}
	if p.Role == domain.RoleBusiness && p.Scope != code {
		return fmt.Errorf("business %s: %w", code, domain.ErrNotFound)
	}
	return nil
}

// listBusinesses lists the register to any staff role; contact details are
// null on businesses outside the reader's work (store contactScope).
//
// The compact JSON of a page is kept with the page in the store's read
// cache (ListBusinessesJSON): a page read again is written from the same
// bytes, not encoded again.
func (s *Server) listBusinesses(c echo.Context) error {
	viewer := principal(c)
	filter := func(q *query) store.BusinessFilter {
		return store.BusinessFilter{
			RegionID: q.int64("region_id"), IndustryCode: c.QueryParam("industry_code"),
			RiskCode:   q.oneOf("risk_code", domain.RiskRed, domain.RiskYellow, domain.RiskGreen),
			ScenarioID: q.int64("scenario_id"),
			ListKind:   q.oneOf("list_kind", domain.ListRandom, domain.ListKey, domain.ListLeaveAlone),
			Viewer:     &viewer,
		}
	}
	if prettyJSON(c) {
		return listOf(c, "list businesses", filter, s.store.ListBusinesses)
	}
	f, p, err := listQuery(c, "list businesses", filter)
	if err != nil {
		return err
	}
	b, err := s.store.ListBusinessesJSON(c.Request().Context(), f, p, encodeBusinessPage)
	if err != nil {
		return err
	}
	return listBlob(c, b)
}

// encodeBusinessPage is a page of businesses as list writes it: the one
// encoder of ListBusinessesJSON.
func encodeBusinessPage(p store.Paged[domain.Business]) ([]byte, error) {
	items := p.Items
	if items == nil {
		items = []domain.Business{}
	}
	return appendList(make([]byte, 0, 512*len(items)+64), items, p.Next)
}

// getBusiness answers a business record; its contact details are null for a
// reader whose work does not include the business (store contactScope).
func (s *Server) getBusiness(c echo.Context) error {
	code := c.Param("uscc")
	if err := businessScope(c, code); err != nil {
		return err
	}
	b, err := s.store.GetBusinessAs(c.Request().Context(), principal(c), code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

func (s *Server) getRiskHistory(c echo.Context) error {
	code := c.Param("uscc")
	if err := businessScope(c, code); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.store.GetBusiness(ctx, code); err != nil {
		return err
	}
	h, err := s.store.RiskHistory(ctx, code)
	if err != nil {
		return err
	}
	// The rule's reasons in the configured language, from their codes: the
	// words stored beside them may be of another language or version.
	lang := messages.Default
	if s.cfg != nil {
		lang = configs.Lang(s.cfg.Language)
	}
	for i := range h {
		h[i].Reason = risk.ReasonText(lang, h[i].ReasonCode, h[i].ReasonParams, h[i].Reason)
	}
	return c.JSON(http.StatusOK, map[string]any{"uscc": code, "history": h})
}

func (s *Server) createBusiness(c echo.Context) error {
	p, err := allow(c, "change businesses", adminOnly...)
	if err != nil {
		return err
	}
	var req businessRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	v.uscc("uscc", req.USCC)
	b := businessUpdate{req.Name, req.Address, req.RegionID, req.IndustryCode, req.Lat, req.Lng,
		req.RiskCode, req.RiskReason, req.ListKind, req.ContactName, req.ContactPhone}.domain(req.USCC)
	if err := s.checkBusiness(c, &v, b); err != nil {
		return err
	}
	err = s.store.CreateBusiness(c.Request().Context(), p.Actor(), b)
	return saved(c, true, b, err)
}

func (s *Server) updateBusiness(c echo.Context) error {
	p, err := allow(c, "change businesses", adminOnly...)
	if err != nil {
		return err
	}
	var req businessUpdate
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	b := req.domain(c.Param("uscc"))
	if err := s.checkBusiness(c, &v, b); err != nil {
		return err
	}
	err = s.store.UpdateBusiness(c.Request().Context(), p.Actor(), b)
	return saved(c, false, b, err)
}

func (r businessUpdate) domain(code string) *domain.Business {
	b := &domain.Business{USCC: code, Name: r.Name, Address: r.Address, RegionID: r.RegionID, IndustryCode: r.IndustryCode,
		Lat: r.Lat, Lng: r.Lng, RiskCode: r.RiskCode, RiskReason: r.RiskReason, ListKind: r.ListKind,
		ContactName: r.ContactName, ContactPhone: r.ContactPhone}
	if b.RiskCode == "" {
		b.RiskCode = domain.RiskGreen
	}
	if b.ListKind == "" {
		b.ListKind = domain.ListRandom
	}
	return b
}

func (s *Server) checkBusiness(c echo.Context, v *checker, b *domain.Business) error {
	v.text("name", b.Name, true, maxLongNameLen)
	v.text("address", b.Address, false, maxAddressLen)
	v.match("industry_code", b.IndustryCode, industryRe, "an industry code such as H621 or 6210")
	v.between("lat", b.Lat, -90, 90)
	v.between("lng", b.Lng, -180, 180)
	v.oneOf("risk_code", b.RiskCode, domain.RiskRed, domain.RiskYellow, domain.RiskGreen)
	v.longText("risk_reason", b.RiskReason, false, maxReasonLen)
	v.oneOf("list_kind", b.ListKind, domain.ListRandom, domain.ListKey, domain.ListLeaveAlone)
	v.text("contact_name", b.ContactName, false, maxPersonNameLen)
	v.text("contact_phone", b.ContactPhone, false, maxPhoneLen)
	if b.RegionID <= 0 {
		v.Add("region_id", "is required")
	} else if err := s.missing(c.Request().Context(), v, "region_id", "regions", b.RegionID); err != nil {
		return err
	}
	return v.Err()
}
