package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// The draws as open data (一公开, issue 19 part 3; docs/draws.md): no token.
// A plan's sampling rules and every draw's commitment are public once the
// plan is published; a draw's frame, key list, exclusions, selection and
// the outcome for each business drawn once the draw has closed (its
// demand's window is over, or none of its visits is still to come), so no
// visit is revealed before it happens.

func (s *Server) openDrawRoutes(v1 *echo.Group) {
	v1.GET("/open-data/plans", s.openPlans)
	v1.GET("/open-data/plans/:id", s.openPlan)
	v1.GET("/open-data/plans/:id/draws/:seq", s.openDraw)
}

// openPlanAnswer is GET /api/v1/open-data/plans/{id}: the plan's
// commitments and reveals, its sampling rules, and its target draws without
// their (large) frames.
type openPlanAnswer struct {
	Plan  store.PublicPlan   `json:"plan"`
	Rules []store.PublicRule `json:"rules"`
	Draws []openDrawSummary  `json:"draws"`
}

type openDrawSummary struct {
	Seq       int     `json:"seq"`
	DemandID  int64   `json:"demand_id"`
	N         int     `json:"n"`
	Shift     float64 `json:"shift"`
	Salt      string  `json:"salt"`
	FrameHash string  `json:"frame_sha256"`
	FrameSize int     `json:"frame_size"`
	Closed    bool    `json:"closed"`
	ClosesBy  string  `json:"closes_by"`
	Selected  *int    `json:"selected"`
}

func (s *Server) openPlans(c echo.Context) error {
	q := query{c: c}
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.PublicPlans(c.Request().Context(), pg)
	if err != nil {
		return err
	}
	for i := range out.Items {
		out.Items[i].PublishedAt = publicInstant(out.Items[i].PublishedAt, s.location())
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return list(c, out)
}

func (s *Server) openPlan(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pl, err := s.store.PublicPlan(ctx, id)
	if err != nil {
		return err
	}
	pl.PublishedAt = publicInstant(pl.PublishedAt, s.location())
	rules, err := s.store.PublicRules(ctx, id)
	if err != nil {
		return err
	}
	draws, err := s.store.PublicDraws(ctx, id, s.today())
	if err != nil {
		return err
	}
	out := openPlanAnswer{Plan: pl, Rules: rules, Draws: make([]openDrawSummary, len(draws))}
	for i, d := range draws {
		out.Draws[i] = openDrawSummary{Seq: d.Seq, DemandID: d.DemandID, N: d.N, Shift: d.Shift, Salt: d.Salt,
			FrameHash: d.FrameHash, FrameSize: d.FrameSize, Closed: d.Closed, ClosesBy: d.ClosesBy}
		if d.Closed {
			n := len(d.Result)
			out.Draws[i].Selected = &n
		}
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, out)
}

func (s *Server) openDraw(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	seq, err := pathID(c, "seq")
	if err != nil {
		return err
	}
	draws, err := s.store.PublicDraws(c.Request().Context(), id, s.today())
	if err != nil {
		return err
	}
	for _, d := range draws {
		if int64(d.Seq) == seq {
			c.Response().Header().Set("Cache-Control", "public, max-age=60")
			return c.JSON(http.StatusOK, d)
		}
	}
	return fmt.Errorf("target draw %d of published plan %d: %w", seq, id, domain.ErrNotFound)
}
