package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// Randomness no one controls alone (issue 19 part 4, docs/draws.md §3.8).
// Under planning.randomness witness (or public) a plan commits its target
// frames in public, then waits for a value: a witness token enters it
// (public: an admin enters the named public number), and the run goes on.

var witnessRoles = []domain.Role{domain.RoleWitness, domain.RoleAdmin}

// maxRandomnessLen bounds a witness value and its source (planning checks
// the same).
const maxRandomnessLen = 200

func (s *Server) witnessRoutes(g *echo.Group, v1 *echo.Group) {
	g.GET("/plans/:id/commitment", s.getPlanCommitment)
	g.POST("/plans/:id/randomness", s.enterRandomness)
	g.GET("/witness/awaiting", s.listAwaitingRandomness)
	v1.GET("/open-data/commitments", s.openCommitments)
	v1.GET("/open-data/plans/:id/commitment", s.openCommitment)
}

type randomnessRequest struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

func (s *Server) enterRandomness(c echo.Context) error {
	p, err := allow(c, "enter a plan's randomness", witnessRoles...)
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
	var req randomnessRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	v.text("value", req.Value, true, maxRandomnessLen)
	v.text("source", req.Source, true, maxRandomnessLen)
	if err := v.Err(); err != nil {
		return err
	}
	cm, err := s.enterRandomnessAndRun(c.Request().Context(), p, id, planning.RandomnessInput{Value: req.Value, Source: req.Source})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, cm)
}

// enterRandomnessAndRun records the value and queues the plan's run: the API
// and the witness page go this one way.
func (s *Server) enterRandomnessAndRun(ctx context.Context, p domain.Principal, id int64, in planning.RandomnessInput) (store.PlanCommitment, error) {
	if s.plans == nil {
		return store.PlanCommitment{}, errNoPlanning
	}
	cm, err := s.plans.EnterRandomness(ctx, p, id, in)
	if err != nil {
		return cm, err
	}
	if err := s.enqueue(ctx, id); err != nil {
		// The value is kept; entering the same value again queues the run.
		s.log.ErrorContext(ctx, "plan run could not be queued after its randomness", "plan_id", id, "err", err)
		return cm, fmt.Errorf("plan %d: the value is recorded, but the job queue cannot be reached to go on with the plan; "+
			"enter the same value again shortly: %w", id, domain.ErrUnavailable)
	}
	return cm, nil
}

func (s *Server) getPlanCommitment(c echo.Context) error {
	if _, err := allow(c, "read a plan's commitment", domain.RoleAdmin, domain.RolePlanner, domain.RoleWitness); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cm, err := s.store.PlanCommitment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cm)
}

func (s *Server) listAwaitingRandomness(c echo.Context) error {
	if _, err := allow(c, "list plans awaiting randomness", witnessRoles...); err != nil {
		return err
	}
	list, err := s.store.AwaitingCommitments(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}

// openCommitments is the public list of frame commitments: published before
// the value that fixes the draws exists, kept whatever becomes of the plan.
func (s *Server) openCommitments(c echo.Context) error {
	q := query{c: c}
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.PublicCommitments(c.Request().Context(), pg)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=10")
	return list(c, out)
}

func (s *Server) openCommitment(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cm, err := s.store.PlanCommitment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=10")
	return c.JSON(http.StatusOK, cm)
}
