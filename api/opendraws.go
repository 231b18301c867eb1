package api

import (
	"fmt"
	"math"
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
	v1.GET("/open-data/plans/:id/inspector-draws", s.openInspectorDraws)
	v1.GET("/open-data/plans/:id/tasks", s.openTasks)
}

// openInspectorDraws: a published plan's inspector draws (双随机's second
// draw), each once its business has no visit still to come; with the
// revealed seed anyone replays them (docs/draws.md §4).
func (s *Server) openInspectorDraws(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.store.PublicInspectorDraws(c.Request().Context(), id, s.today())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, out)
}

// openTasks: which business each placed task of a published plan's sample
// demands went to, once its visit has happened, so a verifier can check
// that every business visited for a draw was drawn.
func (s *Server) openTasks(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tasks, pending, err := s.store.PublicTasks(c.Request().Context(), id, s.today())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, map[string]any{"tasks": tasks, "pending": pending})
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
	draws, err := s.store.PublicDrawSummaries(ctx, id, s.today())
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
	if seq > math.MaxInt32 {
		return fmt.Errorf("target draw %d of published plan %d: %w", seq, id, domain.ErrNotFound)
	}
	d, err := s.store.PublicDraw(c.Request().Context(), id, int(seq), s.today())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, d)
}
