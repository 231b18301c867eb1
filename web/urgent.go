package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
)

// urgentShown bounds the urgent demands the plans page lists.
const urgentShown = 50

func init() {
	addMessages(map[string][2]string{
		"urgent.title": {"待立即安排的投诉和紧急需求", "Complaints and urgent demands to place now"},
		"urgent.help": {"投诉举报和优先级为 1 的名单检查需求不必等每周计划：立即安排会单独为它做一次计划（抽取留痕，已发布的日程占用的人力照常计算），能并入已有上门检查的就并入，否则排在最早可行的执法队工作日，并立即发布、派发。",
			"Complaints and priority-1 list demands need not wait for the weekly plan: placing one now plans it on its own (draws recorded, the published calendar's time respected), joins a visit already on the calendar where it can, else takes the earliest feasible team-day, and publishes and dispatches at once."},
		"urgent.demand":    {"需求", "Demand"},
		"urgent.window":    {"时间窗", "Window"},
		"urgent.targets":   {"对象", "Businesses"},
		"urgent.source":    {"来源", "Source"},
		"urgent.place":     {"立即安排", "Place now"},
		"source.complaint": {"投诉举报", "Complaint"},
		"source.routine":   {"日常", "Routine"},
		"source.campaign":  {"专项", "Campaign"},
		"source.scenario":  {"场景", "Scenario"},
		"error.conflict":   {"无法完成：", "This cannot be done: "},
	})
}

// urgentView is the plans page's list of urgent demands with their button.
type urgentView struct {
	Demands []domain.Demand
}

// urgentDemands lists what viewer may place now: every department's for an
// admin, its own for a planner; nothing when placement is not wired.
func (p *Pages) urgentDemands(c echo.Context, viewer domain.Principal) ([]domain.Demand, error) {
	if p.planning == nil {
		return nil, nil
	}
	dept := int64(0)
	if viewer.Role == domain.RolePlanner {
		dept = viewer.DepartmentID
	}
	return p.store.UrgentDemandsToPlace(c.Request().Context(), dept, p.planning.Today(), urgentShown)
}

// placeNow is the button: it places the demand at once (planning.PlaceNow,
// as POST /api/v1/demands/{id}/place-now) and shows the published plan. A
// refusal (not urgent, already placed, no room in its window) is an error
// page saying why.
func (p *Pages) placeNow(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	if p.planning == nil {
		return fmt.Errorf("placing demands now is not available in this process: %w", domain.ErrNotFound)
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("demand %q: %w", c.Param("id"), domain.ErrNotFound)
	}
	dept := int64(0)
	if viewer.Role == domain.RolePlanner {
		dept = viewer.DepartmentID
	}
	placed, err := p.planning.PlaceNow(c.Request().Context(), viewer.Actor(), id, dept)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/plans/"+strconv.FormatInt(placed.Plan.ID, 10))
}
