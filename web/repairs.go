package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// The repairs page (issue 17 part 2): what each leave or closure changed on
// the published calendar, while it runs and after, and the visits a
// coordinator must still see to, with the reason.

const (
	// repairsShown and problemsShown bound the page; the JSON API pages
	// through the rest.
	repairsShown  = 50
	problemsShown = 200
	// repairsRefresh reloads the page while a repair is pending or running.
	repairsRefresh = 3
)

func (p *Pages) repairRoutes(g *echo.Group) {
	g.GET("/repairs", p.page(p.repairsPage))
	g.POST("/repairs/:id/restore", p.page(p.restoreRepair))
}

// restoreRepair is the button that moves a repair's visits back once its
// cause is lifted (store.OpenRestore, as POST /api/v1/repairs/{id}/restore);
// the worker runs it, and the page shows it queued.
func (p *Pages) restoreRepair(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("repair %q: %w", c.Param("id"), domain.ErrNotFound)
	}
	if _, err := p.store.OpenRestore(c.Request().Context(), v.Actor(), id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/repairs")
}

type repairsView struct {
	Repairs      []store.CalendarRepair
	MoreRepairs  bool
	Problems     []store.RepairProblem
	MoreProblems bool
	Running      bool
}

// repairsPage is GET /repairs: the repairs newest first with their progress,
// and every visit a repair could not mend.
func (p *Pages) repairsPage(c echo.Context) error {
	if _, err := allow(c, domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader); err != nil {
		return err
	}
	ctx := c.Request().Context()
	reps, err := p.store.ListRepairs(ctx, store.RepairFilter{}, store.Page{Limit: repairsShown})
	if err != nil {
		return err
	}
	probs, err := p.store.RepairProblems(ctx, 0, store.Page{Limit: problemsShown})
	if err != nil {
		return err
	}
	v := repairsView{Repairs: reps.Items, MoreRepairs: reps.Next != "", Problems: probs.Items, MoreProblems: probs.Next != ""}
	for _, r := range reps.Items {
		if r.Status != store.RepairDone {
			v.Running = true
		}
	}
	if v.Running {
		autoRefresh(c, repairsRefresh)
	}
	return p.render(c, http.StatusOK, "repairs", "repairs.title", v)
}

func init() {
	addMessages(map[string][2]string{
		"nav.repairs":                  {"日程修复", "Repairs"},
		"repairs.title":                {"日程修复", "Calendar repairs"},
		"repairs.intro":                {"每登记一次请假或停工（台风停航等），系统即修复已发布的检查：请假人员由记录在案的抽签替换；停工日的检查改到检查窗口内最近的可用工作日，保留告知期，不超出执法队和人员的工作量。无法修复的检查原样保留，列在下方，请协调员处理。撤销停工不会把已改期的检查改回。", "Each leave or closure (typhoon, ferries stopped …) repairs the published visits it hits: an inspector away is replaced by a recorded draw; a visit on a closed day moves to the nearest open working day in its window that keeps the notice and the capacity of the team and inspectors. Visits that cannot be repaired stay as they were and are listed below for a coordinator. Lifting a closure does not move anything back."},
		"repairs.none":                 {"尚无修复记录。", "No repairs yet."},
		"repairs.cause":                {"原因", "Cause"},
		"repairs.cause.unavailability": {"人员请假", "Inspector away"},
		"repairs.cause.closure":        {"停工", "Closure"},
		"repairs.cause.restore":        {"恢复原定日期", "Moves undone"},
		"repairs.restore":              {"恢复原定日期", "Move back"},
		"repairs.restore_help":         {"停工已解除或请假已撤销：把本次改期的检查移回原定日期（仍有余量、告知期允许的才移回，其余列为待处理）。", "The closure was lifted or the leave withdrawn: move the visits this repair moved back to their days (where there is still room and the notice allows; the rest are listed)."},
		"repairs.restored_by":          {"已恢复原定日期：修复", "Undone by repair"},
		"repairs.reason":               {"事由", "Reason"},
		"repairs.days":                 {"日期", "Days"},
		"repairs.status":               {"状态", "Status"},
		"repairs.status.pending":       {"排队中", "queued"},
		"repairs.status.running":       {"进行中", "running"},
		"repairs.status.done":          {"已完成", "done"},
		"repairs.visits":               {"涉及检查", "Visits hit"},
		"repairs.moved":                {"已改期", "Moved"},
		"repairs.restaffed":            {"已换人", "Restaffed"},
		"repairs.unrepaired":           {"无法修复", "Unrepaired"},
		"repairs.by":                   {"登记人", "Recorded by"},
		"repairs.more":                 {"更早的修复未列出，可通过 JSON 接口分页查看。", "Older repairs are not listed; page through them with the JSON API."},
		"repairs.problems":             {"待协调员处理的检查", "Visits a coordinator must see to"},
		"repairs.no_problems":          {"所有受影响的检查均已修复。", "Every visit hit was repaired."},
		"repairs.visit":                {"检查", "Visit"},
		"repairs.business":             {"企业", "Business"},
		"repairs.date":                 {"原定日期", "Date"},
		"repairs.current":              {"当前日期", "Date now"},
		"repairs.why":                  {"无法修复的原因", "Why"},
		"repairs.why.no_day":           {"检查窗口内（今天之后、告知期之后）没有未停工且有余量的工作日", "No open working day with room in its window (after today and its notice)"},
		"repairs.why.no_inspector":     {"当天及可改期的日子都没有具备资质、无需回避、有空的人员可替换", "Nobody certified, unrecused and free can replace the inspector, that day or any day it could move to"},
		"repairs.why.unknown":          {"执法队、企业或人员不在名录中", "Its team, business or inspectors are not in the registry"},
		"repairs.detail":               {"说明", "Detail"},
		"repairs.more_problems":        {"另有更多未列出，可通过 JSON 接口分页查看。", "More are not listed; page through them with the JSON API."},
	})
}
