package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// The planner's workspace (issue 18 part 1) submits and cancels demands
// through the same checks as POST /api/v1/demands and its cancel, and counts
// a sampling rule's population as GET /api/v1/demands/population does: the
// web pages reach them through web.DemandIntake, which Server implements.

// demandPopulation answers GET /api/v1/demands/population: how many
// businesses a sampling rule's filters match (the frame a draw is made from,
// less the 无事不扰 list) and, with count or ratio, the expected sample size.
func (s *Server) demandPopulation(c echo.Context) error {
	p, err := allow(c, "count sample populations", demandRoles...)
	if err != nil {
		return err
	}
	est, err := s.DemandPopulation(c.Request().Context(), p, c.QueryParams())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, est)
}

// DemandPopulation counts the population of the sampling rule in q
// (region_id, industry, scenario_id, risk: each repeatable or
// comma-separated; count or ratio), checked as a demand's sample is. It
// answers a ValidationError naming the bad parameter.
func (s *Server) DemandPopulation(ctx context.Context, p domain.Principal, q url.Values) (store.PopulationEstimate, error) {
	if p.Role != domain.RoleAdmin && p.Role != domain.RolePlanner {
		return store.PopulationEstimate{}, forbidden(p.Role, "count sample populations")
	}
	var v checker
	var r sampleRequest
	for i, s := range listParam(q, "region_id") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			v.Add("region_id", "entry %d must be a positive id, got %q", i, s)
			continue
		}
		r.RegionIDs = append(r.RegionIDs, id)
	}
	r.IndustryCodes = listParam(q, "industry")
	r.RiskCodes = listParam(q, "risk")
	if sc := strings.TrimSpace(q.Get("scenario_id")); sc != "" {
		id, err := strconv.ParseInt(sc, 10, 64)
		if err != nil || id <= 0 {
			v.Add("scenario_id", "must be a positive id, got %q", sc)
		} else {
			r.ScenarioID = &id
		}
	}
	if cs := strings.TrimSpace(q.Get("count")); cs != "" {
		n, err := strconv.Atoi(cs)
		if err != nil {
			v.Add("count", "must be a whole number, got %q", cs)
		} else {
			r.Count = &n
		}
	}
	if rs := strings.TrimSpace(q.Get("ratio")); rs != "" {
		f, err := strconv.ParseFloat(rs, 64)
		if err != nil {
			v.Add("ratio", "must be a number such as 0.05, got %q", rs)
		} else {
			r.Ratio = &f
		}
	}
	if r.Count != nil && r.Ratio != nil {
		v.Add("count", "give count or ratio, not both")
	} else {
		checkSampleSize(&v, &r, "count", "ratio")
	}
	if err := s.checkSampleFilter(ctx, &v, &r, sampleFields{regions: "region_id", industries: "industry",
		scenario: "scenario_id", risks: "risk"}); err != nil {
		return store.PopulationEstimate{}, err
	}
	if err := v.Err(); err != nil {
		return store.PopulationEstimate{}, err
	}
	pop, err := s.store.CountPopulation(ctx, store.PopulationFilter{RegionIDs: r.RegionIDs, IndustryCodes: r.IndustryCodes,
		ScenarioID: r.ScenarioID, RiskCodes: r.RiskCodes})
	if err != nil {
		return store.PopulationEstimate{}, err
	}
	est := store.PopulationEstimate{Population: pop}
	if r.Count != nil || r.Ratio != nil {
		var count int
		var ratio float64
		if r.Count != nil {
			count = *r.Count
		}
		if r.Ratio != nil {
			ratio = *r.Ratio
		}
		// The key list is inspected on top of the n drawn from the rest.
		n := pop.Key + planner.SampleSize(count, ratio, max(pop.Frame-pop.Key, 0))
		est.Expected = &n
	}
	return est, nil
}

// listParam reads a repeatable, comma-separated query parameter, trimmed,
// empty entries dropped.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// SubmitDemandJSON submits a demand for p as POST /api/v1/demands does with
// body as its JSON and key as its Idempotency-Key ("" for none): the same
// decoding, checks and storage. replayed says the key had already made the
// demand returned.
func (s *Server) SubmitDemandJSON(ctx context.Context, p domain.Principal, key string, body []byte) (domain.Demand, bool, error) {
	if p.Role != domain.RoleAdmin && p.Role != domain.RolePlanner {
		return domain.Demand{}, false, forbidden(p.Role, "submit demands")
	}
	var req demandRequest
	if err := decodeStrict(body, &req); err != nil {
		return domain.Demand{}, false, err
	}
	d, replayed, err := s.createDemand(ctx, p, key, body, &req)
	if err != nil {
		return domain.Demand{}, false, err
	}
	return *d, replayed, nil
}

// CancelDemandAs cancels demand id for p as POST /api/v1/demands/{id}/cancel
// does: a reason is required, a planner cancels its own department's only.
func (s *Server) CancelDemandAs(ctx context.Context, p domain.Principal, id int64, reason string) (domain.Demand, error) {
	if p.Role != domain.RoleAdmin && p.Role != domain.RolePlanner {
		return domain.Demand{}, forbidden(p.Role, "cancel demands")
	}
	var v checker
	v.longText("reason", reason, true, maxReasonLen)
	if err := v.Err(); err != nil {
		return domain.Demand{}, err
	}
	return s.store.CancelDemand(ctx, p.Actor(), id, demandScope(p), reason)
}

// CheckDemandJSON checks a demand as SubmitDemandJSON would and stores
// nothing: the form shows every refusal at once, even those of fields the
// page refused itself.
func (s *Server) CheckDemandJSON(ctx context.Context, p domain.Principal, body []byte) error {
	if p.Role != domain.RoleAdmin && p.Role != domain.RolePlanner {
		return forbidden(p.Role, "submit demands")
	}
	var req demandRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	_, err := s.checkDemand(ctx, p, &req, false)
	return err
}
