package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/store"
)

type approvalRequest struct {
	Step     string `json:"step"`
	Decision string `json:"decision"`
	Opinion  string `json:"opinion"`
}

// approvalResponse is a decision with the plan's approval state after it.
type approvalResponse struct {
	Approval store.PlanApproval  `json:"approval"`
	State    store.ApprovalState `json:"state"`
}

// getPlanApprovals answers GET /api/v1/plans/{id}/approvals: the configured
// steps with their state and every decision recorded on the plan.
func (s *Server) getPlanApprovals(c echo.Context) error {
	if _, err := s.planAccess(c, "read plan approvals", planRoles...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	st, err := s.plans.Approvals(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// recordPlanApproval answers POST /api/v1/plans/{id}/approvals: an admin's
// decision (approve or reject, with an opinion) on the draft's next step,
// audited as plan.approve or plan.reject.
func (s *Server) recordPlanApproval(c echo.Context) error {
	p, err := s.planAccess(c, "approve plans", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req approvalRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	v.text("step", req.Step, true, maxNameLen)
	if req.Decision != store.DecisionApprove && req.Decision != store.DecisionReject {
		v.Add("decision", "must be approve or reject")
	}
	v.longText("opinion", req.Opinion, true, store.MaxOpinionLen)
	if err := v.Err(); err != nil {
		return err
	}
	rec, st, err := s.plans.Approve(c.Request().Context(), p.Actor(), id,
		store.ApprovalInput{Step: req.Step, Decision: req.Decision, Opinion: req.Opinion})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, approvalResponse{Approval: rec, State: st})
}
