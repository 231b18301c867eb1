package web

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/xlsxout"
)

// Spreadsheet downloads for signed-in pages: the same workbooks as the API's
// ?format=xlsx, under the same roles and scope as the page that links them.

func init() {
	addMessages(map[string][2]string{
		"xlsx.visits": {"下载走访表（Excel）", "Download the visits (Excel)"},
		"xlsx.roster": {"下载排班表（Excel）", "Download the roster (Excel)"},
	})
}

func (p *Pages) xlsxRoutes(g *echo.Group) {
	g.GET("/plans/:id/visits.xlsx", p.page(p.planVisitsXLSX))
	g.GET("/teams/:id/rosters/:date/roster.xlsx", p.page(p.rosterXLSX))
}

// sheetLang is the workbook language of the page's reader.
func sheetLang(c echo.Context) string {
	if negotiate(c.Request()) == LangEN {
		return xlsxout.EN
	}
	return xlsxout.ZH
}

// sendXLSX builds a workbook in the reader's language and sends it named zh
// (en in English, and as the ASCII fallback).
func sendXLSX(c echo.Context, zh, en string, build func(*xlsxout.Writer) error) error {
	return xlsxout.Respond(c.Response(), sheetLang(c), zh, en, build)
}

// planVisitsXLSX is GET /plans/{id}/visits.xlsx: the plan's visits as the
// dashboard's reader may read them (GET /api/v1/plans/{id}/visits?format=xlsx).
func (p *Pages) planVisitsXLSX(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := p.store.GetPlan(ctx, id); err != nil {
		return err
	}
	var scope int64
	if viewer.Role == domain.RolePlanner {
		scope = viewer.DepartmentID
	}
	visits, err := xlsxout.All(func(pg store.Page) (store.Paged[store.PlanVisit], error) {
		return p.store.ListPlanVisits(ctx, id, scope, pg)
	})
	if err != nil {
		return err
	}
	names, err := xlsxout.LoadNames(ctx, p.store)
	if err != nil {
		return err
	}
	return sendXLSX(c, fmt.Sprintf("计划%d走访.xlsx", id), fmt.Sprintf("plan-%d-visits.xlsx", id), func(w *xlsxout.Writer) error {
		return xlsxout.PlanVisits(w, visits, names)
	})
}

// rosterXLSX is GET /teams/{id}/rosters/{date}/roster.xlsx: the roster page
// as a workbook, under the roster page's access rules.
func (p *Pages) rosterXLSX(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin, domain.RoleTeamLeader, domain.RoleInspector)
	if err != nil {
		return err
	}
	teamID, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	day, err := parseDay("date", c.Param("date"))
	if err != nil {
		return err
	}
	if err := p.rosterAccess(c, teamID, day); err != nil {
		return err
	}
	roster, err := p.store.Roster(c.Request().Context(), viewer, teamID, day)
	if err != nil {
		return err
	}
	code := fileCode(roster.Team.Code)
	return sendXLSX(c, fmt.Sprintf("%s排班表%s.xlsx", code, roster.Date), fmt.Sprintf("roster-%s-%s.xlsx", code, roster.Date),
		func(w *xlsxout.Writer) error { return xlsxout.Roster(w, roster) })
}

// fileCode keeps letters, digits, '-' and '_' of a code for a file name.
func fileCode(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			out = append(out, r)
		}
	}
	return string(out)
}
