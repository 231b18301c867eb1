package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// Request bodies are their own types, never storage rows, so a client can set
// exactly the fields listed here and nothing else.

type departmentRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (r departmentRequest) validate() error {
	var v checker
	v.match("code", r.Code, deptCodeRe, "2 to 16 upper-case letters or digits starting with a letter (e.g. SCJG)")
	v.text("name", r.Name, true, maxNameLen)
	return v.Err()
}

func (r departmentRequest) domain(id int64) *domain.Department {
	return &domain.Department{ID: id, Code: r.Code, Name: r.Name}
}

func (s *Server) listDepartments(c echo.Context) error {
	return listOf(c, "list departments", func(*query) noFilter { return noFilter{} }, unfiltered(s.store.ListDepartments))
}

func (s *Server) getDepartment(c echo.Context) error {
	return getByID(c, "read departments", s.store.GetDepartment)
}

func (s *Server) createDepartment(c echo.Context) error {
	return s.saveDepartment(c, true)
}

func (s *Server) updateDepartment(c echo.Context) error {
	return s.saveDepartment(c, false)
}

func (s *Server) saveDepartment(c echo.Context, create bool) error {
	p, id, err := s.writeTarget(c, create, "change departments")
	if err != nil {
		return err
	}
	var req departmentRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	d := req.domain(id)
	ctx := c.Request().Context()
	if create {
		err = s.store.CreateDepartment(ctx, p.Actor(), d)
	} else {
		err = s.store.UpdateDepartment(ctx, p.Actor(), d)
	}
	return saved(c, create, d, err)
}

// writeTarget checks that the caller may write registries and, for an update,
// parses the id in the path.
func (s *Server) writeTarget(c echo.Context, create bool, what string) (domain.Principal, int64, error) {
	p, err := allow(c, what, adminOnly...)
	if err != nil || create {
		return p, 0, err
	}
	id, err := pathID(c, "id")
	return p, id, err
}

func saved(c echo.Context, create bool, v any, err error) error {
	if err != nil {
		return err
	}
	if create {
		return c.JSON(http.StatusCreated, v)
	}
	return c.JSON(http.StatusOK, v)
}

// missing adds a field error for every id in ids that table lacks.
func (s *Server) missing(ctx context.Context, v *checker, field, table string, ids ...int64) error {
	var nonZero []int64
	for _, id := range ids {
		if id > 0 {
			nonZero = append(nonZero, id)
		}
	}
	miss, err := s.store.MissingIDs(ctx, table, nonZero)
	if err != nil {
		return err
	}
	for _, id := range miss {
		v.Add(field, "%s %d does not exist", singular(table), id)
	}
	return nil
}

func singular(table string) string {
	switch table {
	case "businesses":
		return "business"
	case "departments", "items", "scenarios", "regions", "teams", "inspectors":
		return table[:len(table)-1]
	}
	return table
}

// ---- items

type itemRequest struct {
	Code         string `json:"code"`
	DepartmentID int64  `json:"department_id"`
	Name         string `json:"name"`
	Domain       string `json:"domain"`
	Minutes      int    `json:"minutes"`
	LegalBasis   string `json:"legal_basis"`
}

func (s *Server) listItems(c echo.Context) error {
	return listOf(c, "list items", func(q *query) store.ItemFilter {
		return store.ItemFilter{DepartmentID: q.int64("department_id"), Domain: c.QueryParam("domain")}
	}, s.store.ListItems)
}

func (s *Server) getItem(c echo.Context) error {
	return getByID(c, "read items", s.store.GetItem)
}

func (s *Server) createItem(c echo.Context) error { return s.saveItem(c, true) }
func (s *Server) updateItem(c echo.Context) error { return s.saveItem(c, false) }

func (s *Server) saveItem(c echo.Context, create bool) error {
	p, id, err := s.writeTarget(c, create, "change items")
	if err != nil {
		return err
	}
	var req itemRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v checker
	v.match("code", req.Code, codeRe, "letters, digits, '_', '.' or '-' (up to 64)")
	v.text("name", req.Name, true, maxLongNameLen)
	v.match("domain", req.Domain, domainRe, "a lower-case qualification domain such as food_safety")
	if req.Minutes < 1 || req.Minutes > 480 {
		v.Add("minutes", "must be between 1 and 480, got %d", req.Minutes)
	}
	v.longText("legal_basis", req.LegalBasis, false, maxLegalBasisLen)
	if req.DepartmentID <= 0 {
		v.Add("department_id", "is required")
	} else if err := s.missing(ctx, &v, "department_id", "departments", req.DepartmentID); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	it := &domain.Item{ID: id, Code: req.Code, DepartmentID: req.DepartmentID, Name: req.Name, Domain: req.Domain,
		Minutes: req.Minutes, LegalBasis: req.LegalBasis}
	if create {
		err = s.store.CreateItem(ctx, p.Actor(), it)
	} else {
		err = s.store.UpdateItem(ctx, p.Actor(), it)
	}
	return saved(c, create, it, err)
}

// ---- scenarios

type scenarioRequest struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	IndustryCodes []string `json:"industry_codes"`
	ItemIDs       []int64  `json:"item_ids"`
}

func (s *Server) listScenarios(c echo.Context) error {
	return listOf(c, "list scenarios", func(*query) noFilter { return noFilter{} }, unfiltered(s.store.ListScenarios))
}

func (s *Server) getScenario(c echo.Context) error {
	return getByID(c, "read scenarios", s.store.GetScenario)
}

func (s *Server) createScenario(c echo.Context) error { return s.saveScenario(c, true) }
func (s *Server) updateScenario(c echo.Context) error { return s.saveScenario(c, false) }

func (s *Server) saveScenario(c echo.Context, create bool) error {
	p, id, err := s.writeTarget(c, create, "change scenarios")
	if err != nil {
		return err
	}
	var req scenarioRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v checker
	v.match("code", req.Code, codeRe, "letters, digits, '_', '.' or '-' (up to 64)")
	v.text("name", req.Name, true, maxNameLen)
	if v.count("industry_codes", len(req.IndustryCodes), maxIndustryCodes) {
		for i, ic := range req.IndustryCodes {
			if !industryRe.MatchString(ic) {
				v.Add(fmt.Sprintf("industry_codes[%d]", i), "must be an industry code such as H621 or 6210, got %q", ic)
			}
		}
	}
	if len(req.ItemIDs) == 0 {
		v.Add("item_ids", "a scenario bundles at least one item")
	}
	if v.count("item_ids", len(req.ItemIDs), maxScenarioItems) {
		v.positiveIDs("item_ids", req.ItemIDs)
		if err := s.missing(ctx, &v, "item_ids", "items", req.ItemIDs...); err != nil {
			return err
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	sc := &domain.Scenario{ID: id, Code: req.Code, Name: req.Name, IndustryCodes: req.IndustryCodes, ItemIDs: req.ItemIDs}
	if create {
		err = s.store.CreateScenario(ctx, p.Actor(), sc)
	} else {
		err = s.store.UpdateScenario(ctx, p.Actor(), sc)
	}
	return saved(c, create, sc, err)
}

// ---- regions

type regionRequest struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Level    string `json:"level"`
	ParentID *int64 `json:"parent_id"`
}

func (s *Server) listRegions(c echo.Context) error {
	return listOf(c, "list regions", func(q *query) store.RegionFilter {
		return store.RegionFilter{ParentID: q.int64("parent_id"),
			Level: q.oneOf("level", domain.LevelCounty, domain.LevelTownship, domain.LevelGrid)}
	}, s.store.ListRegions)
}

func (s *Server) getRegion(c echo.Context) error {
	return getByID(c, "read regions", s.store.GetRegion)
}

func (s *Server) createRegion(c echo.Context) error { return s.saveRegion(c, true) }
func (s *Server) updateRegion(c echo.Context) error { return s.saveRegion(c, false) }

func (s *Server) saveRegion(c echo.Context, create bool) error {
	p, id, err := s.writeTarget(c, create, "change regions")
	if err != nil {
		return err
	}
	var req regionRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	v.match("code", req.Code, codeRe, "letters, digits, '_', '.' or '-' (up to 64)")
	v.text("name", req.Name, true, maxNameLen)
	v.oneOf("level", req.Level, domain.LevelCounty, domain.LevelTownship, domain.LevelGrid)
	if req.ParentID != nil && *req.ParentID == id {
		v.Add("parent_id", "a region cannot be its own parent")
	}
	if err := v.Err(); err != nil {
		return err
	}
	r := &domain.Region{ID: id, Code: req.Code, Name: req.Name, Level: req.Level, ParentID: req.ParentID}
	ctx := c.Request().Context()
	if create {
		err = s.store.CreateRegion(ctx, p.Actor(), r)
	} else {
		err = s.store.UpdateRegion(ctx, p.Actor(), r)
	}
	return saved(c, create, r, err)
}
