package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// planRoles may read plans; a planner's view of visits and unplaced tasks is
// limited to its department's tasks.
var planRoles = []domain.Role{domain.RoleAdmin, domain.RolePlanner}

type planRequest struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	RegionIDs   []int64 `json:"region_ids"`
	Independent bool    `json:"independent"`
}

var errNoPlanning = errors.New("the planning service is not configured")

// errQueueDown: a started plan could not be queued, and was withdrawn.
var errQueueDown = fmt.Errorf("the job queue cannot be reached, so the plan was not started (nothing was kept): %w", domain.ErrUnavailable)

// runInProcess carries a started plan out in a goroutine of this process: the
// default when no worker pool is wired in.
func (s *Server) runInProcess(_ context.Context, planID int64) error {
	if s.plans == nil {
		return errNoPlanning
	}
	go func() {
		if _, err := s.plans.Execute(context.Background(), planID); err != nil {
			s.log.Error("plan run failed", "plan_id", planID, "err", err)
		}
	}()
	return nil
}

func (s *Server) planAccess(c echo.Context, what string, roles ...domain.Role) (domain.Principal, error) {
	p, err := allow(c, what, roles...)
	if err != nil {
		return p, err
	}
	if s.plans == nil {
		return p, errNoPlanning
	}
	return p, nil
}

// createPlan starts a planning run: the plan is recorded as running with its
// seed committed, the run is handed to the worker pool, and the answer (202)
// is the running plan, to be polled at Location.
func (s *Server) createPlan(c echo.Context) error {
	p, err := s.planAccess(c, "run plans", adminOnly...)
	if err != nil {
		return err
	}
	var req planRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	from := planDate(&v, "from", req.From)
	to := planDate(&v, "to", req.To)
	v.count("region_ids", len(req.RegionIDs), maxRegionIDs)
	if err := v.Err(); err != nil {
		return err
	}
	plan, err := s.startPlan(c.Request().Context(), p.Actor(), planning.Request{From: from, To: to, RegionIDs: req.RegionIDs, Independent: req.Independent})
	if errors.Is(err, errQueueDown) {
		return echo.NewHTTPError(http.StatusServiceUnavailable,
			"the job queue cannot be reached, so the plan was not started (nothing was kept); try again")
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/plans/%d", plan.ID))
	return c.JSON(http.StatusAccepted, plan)
}

// startPlan starts a run and hands it to the worker pool (or this process):
// POST /api/v1/plans, and the form on the plans page, go this one way.
func (s *Server) startPlan(ctx context.Context, actor string, req planning.Request) (store.Plan, error) {
	if s.plans == nil {
		return store.Plan{}, errNoPlanning
	}
	plan, err := s.plans.Start(ctx, actor, req)
	if err != nil {
		return store.Plan{}, err
	}
	if err := s.enqueue(ctx, plan.ID); err != nil {
		// Nothing will carry the plan out, and nothing was drawn from its
		// seed: withdraw it, so that a refused request leaves no plan behind
		// (and marks it failed only if even that is impossible).
		s.log.ErrorContext(ctx, "plan run could not be queued", "plan_id", plan.ID, "err", err)
		bg := context.WithoutCancel(ctx)
		reason := "the run could not be queued: " + err.Error()
		if werr := s.store.WithdrawPlan(bg, plan.ID, reason); werr != nil {
			s.log.ErrorContext(ctx, "could not withdraw the unqueued plan", "plan_id", plan.ID, "err", werr)
			if ferr := s.store.FailPlan(bg, plan.ID, reason); ferr != nil {
				s.log.ErrorContext(ctx, "could not mark the unqueued plan failed", "plan_id", plan.ID, "err", ferr)
			}
		}
		return store.Plan{}, errQueueDown
	}
	return plan, nil
}

// planDate reads a required civil date (domain.ParseDate: years 2000–2100).
func planDate(v *checker, field, value string) time.Time {
	if value == "" {
		v.Add(field, "is required: a date YYYY-MM-DD")
		return time.Time{}
	}
	d, err := domain.ParseDate(value, nil)
	if err != nil {
		v.Add(field, "%v", err)
	}
	return d
}

func (s *Server) listPlans(c echo.Context) error {
	if _, err := s.planAccess(c, "read plans", planRoles...); err != nil {
		return err
	}
	q := query{c: c}
	f := store.PlanFilter{Status: q.oneOf("status", store.PlanRunning, store.PlanDraft, store.PlanPublished, store.PlanDiscarded, store.PlanFailed)}
	if y := q.int64("year"); y > 9999 {
		q.errs.Add("year", "must be a year such as 2026")
	} else {
		f.Year = int(y)
	}
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.plans.List(c.Request().Context(), f, pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

func (s *Server) getPlan(c echo.Context) error {
	if _, err := s.planAccess(c, "read plans", planRoles...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	plan, err := s.plans.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, plan)
}

// planPage reads the plan id and the page of a plan's sub-list.
func planPage(c echo.Context) (int64, store.Page, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return 0, store.Page{}, err
	}
	q := query{c: c}
	pg := q.page()
	return id, pg, q.errs.Err()
}

func (s *Server) listPlanVisits(c echo.Context) error {
	p, err := s.planAccess(c, "read plan visits", planRoles...)
	if err != nil {
		return err
	}
	id, pg, err := planPage(c)
	if err != nil {
		return err
	}
	if x, err := wantsXLSX(c); err != nil {
		return err
	} else if x {
		return s.planVisitsXLSX(c, id, demandScope(p))
	}
	out, err := s.plans.Visits(c.Request().Context(), id, demandScope(p), pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

func (s *Server) listPlanUnplaced(c echo.Context) error {
	p, err := s.planAccess(c, "read unplaced tasks", planRoles...)
	if err != nil {
		return err
	}
	id, pg, err := planPage(c)
	if err != nil {
		return err
	}
	out, err := s.plans.Unplaced(c.Request().Context(), id, demandScope(p), pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

func (s *Server) listPlanJoins(c echo.Context) error {
	p, err := s.planAccess(c, "read joins", planRoles...)
	if err != nil {
		return err
	}
	id, pg, err := planPage(c)
	if err != nil {
		return err
	}
	out, err := s.plans.Joins(c.Request().Context(), id, demandScope(p), pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

func (s *Server) listPlanDraws(c echo.Context) error {
	if _, err := s.planAccess(c, "read draw records", adminOnly...); err != nil {
		return err
	}
	id, pg, err := planPage(c)
	if err != nil {
		return err
	}
	out, err := s.plans.Draws(c.Request().Context(), id, pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

func (s *Server) publishPlan(c echo.Context) error {
	p, err := s.planAccess(c, "publish plans", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	q := query{c: c}
	force := q.boolean("force")
	if err := q.errs.Err(); err != nil {
		return err
	}
	plan, err := s.plans.PublishWith(c.Request().Context(), p.Actor(), id, force)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, plan)
}

func (s *Server) discardPlan(c echo.Context) error {
	p, err := s.planAccess(c, "discard plans", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	plan, err := s.plans.Discard(c.Request().Context(), p.Actor(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, plan)
}
