package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// The coordinator's plan workspace (issue 18, point 2): start a run from the
// plans page, decide the approval steps (法制审核 …) on the dashboard, and
// publish from there once every step is approved. Each goes the API's way:
// the same start-and-queue, the same store calls, the same audit entries.

func (p *Pages) approvalRoutes(g *echo.Group) {
	g.POST("/plans", p.page(p.startPlanForm))
	g.POST("/plans/:id/approvals", p.page(p.approvePlanForm))
	g.POST("/plans/:id/publish", p.page(p.publishPlanForm))
}

// formStateKey carries a refused form back into the page that shows it, with
// its errors at the fields; the page is then answered 422.
const formStateKey = "web.form_state"

// pageStatus is 422 when the page is shown again for a refused form.
func pageStatus(c echo.Context) int {
	if c.Get(formStateKey) != nil {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// ---- run a plan from the plans page

// runForm is the plans page's form that starts a run (admins only).
type runForm struct {
	From, To    string
	Regions     []dashOption
	Independent bool
	MaxDays     int
	// Errors are the refusals by field, in the page's language.
	Errors map[string]string
}

// runFormFor is the form to show viewer, or nil (not an admin, or starting
// runs is not wired into this process).
func (p *Pages) runFormFor(c echo.Context, viewer domain.Principal) (*runForm, error) {
	if viewer.Role != domain.RoleAdmin || p.startPlan == nil {
		return nil, nil
	}
	f, _ := c.Get(formStateKey).(*runForm)
	if f == nil {
		from := p.nextDay()
		f = &runForm{From: from.Format(time.DateOnly), To: from.AddDate(0, 0, 27).Format(time.DateOnly)}
	}
	if p.cfg != nil {
		f.MaxDays = p.cfg.Planning.MaxHorizonDays
	}
	selected := map[int64]bool{}
	for _, r := range f.Regions {
		selected[r.ID] = true
	}
	var regions []domain.Region
	if err := dashAllPages(func(pg store.Page) (string, error) {
		out, err := p.store.ListRegions(c.Request().Context(), store.RegionFilter{}, pg)
		regions = append(regions, out.Items...)
		return out.Next, err
	}); err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	// A county and its townships are what a run is scoped to; grids are too
	// small to plan on their own.
	regions = slices.DeleteFunc(regions, func(r domain.Region) bool { return r.Level == domain.LevelGrid })
	slices.SortFunc(regions, func(a, b domain.Region) int { return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.ID, b.ID)) })
	f.Regions = f.Regions[:0]
	for _, r := range regions {
		f.Regions = append(f.Regions, dashOption{ID: r.ID, Name: r.Name, Selected: selected[r.ID]})
	}
	return f, nil
}

// nextDay is tomorrow in the county's zone: the first day a run may cover
// with a little notice.
func (p *Pages) nextDay() time.Time {
	if p.planning != nil {
		return p.planning.NextWorkingDay()
	}
	t := p.now().In(p.loc)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
}

// startPlanForm is POST /plans: it starts a run as POST /api/v1/plans does
// and shows the plan's dashboard, which follows its progress. A refused form
// is the plans page again with the errors at their fields.
func (p *Pages) startPlanForm(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	if p.startPlan == nil {
		return fmt.Errorf("starting plans is not available in this process: %w", domain.ErrNotFound)
	}
	lang := negotiate(c.Request())
	f := &runForm{From: strings.TrimSpace(c.FormValue("from")), To: strings.TrimSpace(c.FormValue("to")),
		Independent: c.FormValue("mode") == "independent", Errors: map[string]string{}}
	req := planning.Request{Independent: f.Independent}
	req.From = p.formDate(lang, f.Errors, "from", f.From)
	req.To = p.formDate(lang, f.Errors, "to", f.To)
	if m := c.FormValue("mode"); m != "" && m != "coordinated" && m != "independent" {
		f.Errors["mode"] = lang.T("appr.err.mode")
	}
	form, _ := c.FormParams()
	for _, s := range form["region"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			f.Errors["region"] = lang.T("appr.err.region")
			continue
		}
		if !slices.Contains(req.RegionIDs, id) {
			req.RegionIDs = append(req.RegionIDs, id)
			f.Regions = append(f.Regions, dashOption{ID: id})
		}
	}
	if len(f.Errors) == 0 {
		p.checkHorizon(lang, f.Errors, req.From, req.To)
	}
	if len(f.Errors) == 0 {
		pl, err := p.startPlan(c.Request().Context(), viewer.Actor(), req)
		var ve *domain.ValidationError
		switch {
		case errors.As(err, &ve):
			// What only planning can tell (an unknown region, a closed
			// year): its fields named in the page's language.
			for _, fe := range ve.Fields {
				field := "to"
				if strings.HasPrefix(fe.Field, "region") {
					field = "region"
				}
				f.Errors[field] = lang.T("appr.err.refused." + field)
			}
		case err != nil:
			return err
		default:
			return c.Redirect(http.StatusSeeOther, "/plans/"+strconv.FormatInt(pl.ID, 10))
		}
	}
	c.Set(formStateKey, f)
	return p.plansList(c)
}

// formDate reads a required date field, recording its error in the page's
// language.
func (p *Pages) formDate(lang Lang, errs map[string]string, field, value string) time.Time {
	if value == "" {
		errs[field] = lang.T("appr.err.date_required")
		return time.Time{}
	}
	d, err := domain.ParseDate(value, nil)
	if err != nil {
		errs[field] = lang.T("appr.err.date")
		return time.Time{}
	}
	return d
}

// checkHorizon refuses, at the "to" or "from" field, what planning would
// refuse of the horizon, so the coordinator reads why in the page's language.
func (p *Pages) checkHorizon(lang Lang, errs map[string]string, from, to time.Time) {
	maxDays := 92
	if p.cfg != nil && p.cfg.Planning.MaxHorizonDays > 0 {
		maxDays = p.cfg.Planning.MaxHorizonDays
	}
	now := p.now().In(p.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	days := int(to.Sub(from).Hours()/24) + 1
	switch {
	case to.Before(from):
		errs["to"] = lang.T("appr.err.before_from")
	case days > maxDays:
		errs["to"] = lang.T("appr.err.too_long", days, maxDays)
	case from.Before(today):
		errs["from"] = lang.T("appr.err.past", lang.Date(today))
	case p.planning != nil && p.planning.Calendar().WorkingDays(from, to) == 0:
		errs["to"] = lang.T("appr.err.no_working_day")
	}
}

// ---- approval and publication on the dashboard

// approvalView is the dashboard's approval section.
type approvalView struct {
	store.ApprovalState
	// None: no step is configured; the draft is published without approval.
	None  bool
	Draft bool
	// CanDecide: the viewer is an admin and the draft awaits Next.
	CanDecide bool
	// CanPublish: the viewer is an admin, the plan a draft, every step approved.
	CanPublish bool
	// Admin: the viewer may act (the buttons show, enabled or not).
	Admin bool
	// Form state of a refused decision.
	Decision, Opinion string
	Errors            map[string]string
	// PublishError is why publication was refused, in the page's language.
	PublishError string
	// PublishDetail is the refusal as the service gave it (for a conflict
	// the page has no text of its own for).
	PublishDetail string
}

// approvalFormState is what a refused decision or publication carries back.
type approvalFormState struct {
	Decision, Opinion string
	Errors            map[string]string
	PublishError      string
	PublishDetail     string
}

// approvalFor builds the approval section of plan pl for viewer.
func (p *Pages) approvalFor(c echo.Context, viewer domain.Principal, pl store.Plan) (*approvalView, error) {
	if p.planning == nil || pl.Status == store.PlanRunning {
		return nil, nil
	}
	st, err := p.planning.Approvals(c.Request().Context(), pl.ID)
	if err != nil {
		return nil, err
	}
	v := &approvalView{ApprovalState: st, None: len(st.Steps) == 0, Draft: pl.Status == store.PlanDraft,
		Admin: viewer.Role == domain.RoleAdmin, Decision: store.DecisionApprove}
	if !v.Draft {
		// A plan past its draft (published before the step was configured,
		// placed urgently, discarded) has nothing pending any more: what was
		// not decided is shown as not recorded.
		v.Steps = slices.Clone(st.Steps)
		for i := range v.Steps {
			if v.Steps[i].State == store.StepPending {
				v.Steps[i].State = "not_recorded"
			}
		}
	}
	v.CanDecide = v.Admin && v.Draft && st.Next != ""
	v.CanPublish = v.Admin && v.Draft && st.Approved
	if fs, ok := c.Get(formStateKey).(*approvalFormState); ok {
		v.Decision, v.Opinion, v.Errors = cmp.Or(fs.Decision, store.DecisionApprove), fs.Opinion, fs.Errors
		v.PublishError, v.PublishDetail = fs.PublishError, fs.PublishDetail
	}
	return v, nil
}

// approvePlanForm is POST /plans/{id}/approvals: an admin decides the
// draft's next step with an opinion (as POST /api/v1/plans/{id}/approvals,
// audited plan.approve or plan.reject).
func (p *Pages) approvePlanForm(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	if p.planning == nil {
		return fmt.Errorf("approvals are not available in this process: %w", domain.ErrNotFound)
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	lang := negotiate(c.Request())
	fs := &approvalFormState{Decision: c.FormValue("decision"), Opinion: c.FormValue("opinion"), Errors: map[string]string{}}
	step := c.FormValue("step")
	if fs.Decision != store.DecisionApprove && fs.Decision != store.DecisionReject {
		fs.Errors["decision"] = lang.T("appr.err.decision")
	}
	if strings.TrimSpace(fs.Opinion) == "" {
		fs.Errors["opinion"] = lang.T("appr.err.opinion_required")
	} else if n := len([]rune(strings.TrimSpace(fs.Opinion))); n > store.MaxOpinionLen {
		fs.Errors["opinion"] = lang.T("appr.err.opinion_long", store.MaxOpinionLen, n)
	}
	if len(fs.Errors) == 0 {
		_, _, err := p.planning.Approve(ctx, viewer.Actor(), id, store.ApprovalInput{Step: step, Decision: fs.Decision, Opinion: fs.Opinion})
		var ve *domain.ValidationError
		switch {
		case errors.As(err, &ve):
			fs.Errors["step"] = lang.T("appr.err.step")
		case errors.Is(err, domain.ErrConflict):
			// Someone decided meanwhile, or the plan is no longer a draft:
			// the dashboard shows where it stands now.
			fs.Errors["step"] = lang.T("appr.err.stale")
		case err != nil:
			return err
		default:
			return c.Redirect(http.StatusSeeOther, "/plans/"+strconv.FormatInt(id, 10)+"#approval")
		}
	}
	c.Set(formStateKey, fs)
	return p.planDashboard(c)
}

// publishPlanForm is POST /plans/{id}/publish: the Publish button, as POST
// /api/v1/plans/{id}/publish (audited plan.publish). A refusal is the
// dashboard again, saying why at the button.
func (p *Pages) publishPlanForm(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	if p.planning == nil {
		return fmt.Errorf("publishing is not available in this process: %w", domain.ErrNotFound)
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	lang := negotiate(c.Request())
	fs := &approvalFormState{}
	st, err := p.planning.Approvals(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case st.Rejected:
		fs.PublishError = lang.T("appr.publish.rejected")
	case !st.Approved:
		fs.PublishError = lang.T("appr.publish.missing", strings.Join(st.Missing(), lang.T("appr.list_sep")))
	default:
		_, err := p.planning.PublishWith(ctx, viewer.Actor(), id, false)
		var empty *store.EmptyPlanError
		switch {
		case errors.As(err, &empty):
			fs.PublishError = lang.T("appr.publish.empty")
		case errors.Is(err, domain.ErrConflict):
			fs.PublishError, fs.PublishDetail = lang.T("appr.publish.conflict"), err.Error()
		case err != nil:
			return err
		default:
			return c.Redirect(http.StatusSeeOther, "/plans/"+strconv.FormatInt(id, 10))
		}
	}
	p.log.InfoContext(ctx, "publication refused", "plan_id", id, "actor", viewer.Actor(), "why", cmp.Or(fs.PublishDetail, fs.PublishError))
	c.Set(formStateKey, fs)
	return p.planDashboard(c)
}

func init() {
	addMessages(map[string][2]string{
		"appr.run.title":          {"编制新计划", "Run a new plan"},
		"appr.run.help":           {"编制完成后生成草案，不会自动发布：草案须经审核，再由综合执法办发布。", "A run makes a draft; nothing is published by itself: the draft is reviewed, approved and then published by a coordinator."},
		"appr.run.from":           {"计划期开始", "Horizon from"},
		"appr.run.to":             {"计划期结束", "Horizon to"},
		"appr.run.max":            {"最长 %d 天。", "At most %d days."},
		"appr.run.regions":        {"区域（可多选，不选为全县）", "Regions (several may be chosen; none = the whole county)"},
		"appr.run.mode":           {"抽查方式", "Sampling"},
		"appr.run.submit":         {"开始编制", "Start the run"},
		"appr.err.date_required":  {"请填写日期。", "Give a date."},
		"appr.err.date":           {"日期格式应为 年-月-日，例如 2026-12-14。", "A date is written YYYY-MM-DD, e.g. 2026-12-14."},
		"appr.err.before_from":    {"计划期结束日早于开始日。", "The horizon ends before it starts."},
		"appr.err.too_long":       {"计划期共 %d 天，超过允许的 %d 天。", "The horizon covers %d days, more than the %d allowed."},
		"appr.err.past":           {"计划期不能从过去开始（今天是 %s）。", "The horizon may not start in the past (today is %s)."},
		"appr.err.no_working_day": {"计划期内没有工作日。", "The horizon holds no working day."},
		"appr.err.mode":           {"请选择协同抽样或独立抽样。", "Choose coordinated or independent sampling."},
		"appr.err.region":         {"所选区域不存在。", "A chosen region does not exist."},
		"appr.err.refused.to":     {"该计划期无法编制（例如年度密钥已公开的年份）。", "No plan can be run over this horizon (for instance in a closed year whose key is revealed)."},
		"appr.err.refused.region": {"所选区域不存在或重复。", "A chosen region does not exist or repeats."},

		"appr.title":                {"审核", "Approval"},
		"appr.help":                 {"草案须按顺序通过以下审核环节后方可发布；每一环节记录审核人、时间和意见，并写入审计日志。", "Before publication the draft passes these steps in order; each records the reviewer, the time and the opinion, and is written to the audit log."},
		"appr.none":                 {"未配置审核环节（planning.approval_steps 为空）：草案可直接发布。", "No approval step is configured (planning.approval_steps is empty): a draft is published directly."},
		"appr.step":                 {"环节", "Step"},
		"appr.state":                {"状态", "State"},
		"appr.reviewer":             {"审核人", "Reviewer"},
		"appr.time":                 {"时间", "Time"},
		"appr.opinion":              {"审核意见", "Opinion"},
		"appr.decision":             {"决定", "Decision"},
		"appr.state.approved":       {"已通过", "approved"},
		"appr.state.rejected":       {"未通过", "rejected"},
		"appr.state.pending":        {"待审核", "pending"},
		"appr.state.not_recorded":   {"无审核记录", "not recorded"},
		"appr.decision.approve":     {"通过", "Approve"},
		"appr.decision.reject":      {"不通过", "Reject"},
		"appr.next":                 {"审核环节：%s", "Step: %s"},
		"appr.submit":               {"提交审核意见", "Record the decision"},
		"appr.same_person":          {"同一人可以审核多个环节，每次审核都会分别记录。", "One person may decide several steps; each decision is recorded on its own."},
		"appr.rejected":             {"本草案审核未通过，不能发布；请重新编制计划。", "This draft was rejected and cannot be published; run a new plan."},
		"appr.approved":             {"所有审核环节均已通过，可以发布。", "Every step is approved: the draft may be published."},
		"appr.history":              {"审核记录", "Decisions recorded"},
		"appr.err.decision":         {"请选择通过或不通过。", "Choose approve or reject."},
		"appr.err.opinion_required": {"请填写审核意见。", "Write the reviewer's opinion."},
		"appr.err.opinion_long":     {"审核意见最多 %d 个字，现有 %d 个。", "The opinion may hold at most %d characters; it has %d."},
		"appr.err.step":             {"该审核环节不在配置中，请刷新页面。", "That step is not configured; reload the page."},
		"appr.err.stale":            {"该环节已有决定，或本计划已不是草案：请查看当前状态。", "That step was decided meanwhile, or the plan is no longer a draft: see where it stands now."},
		"appr.publish":              {"发布计划", "Publish the plan"},
		"appr.publish.help":         {"发布后计划冻结、公开种子，并向执法队和市场主体派发通知。", "Publishing freezes the plan, reveals its seed, and sends the visits to the teams and businesses."},
		"appr.publish.wait":         {"须先通过全部审核环节才能发布。", "Every approval step must be approved before the plan is published."},
		"appr.publish.missing":      {"不能发布：以下审核环节尚未通过：%s。", "Not published: these approval steps are not approved yet: %s."},
		"appr.publish.rejected":     {"不能发布：本草案审核未通过，请重新编制计划。", "Not published: the draft was rejected; run a new plan."},
		"appr.publish.empty":        {"不能发布：本草案没有安排任何上门检查。", "Not published: the draft has no visit."},
		"appr.publish.conflict":     {"不能发布：计划状态已变化、告知期不足或轮换偏移已过时，请重新编制计划。系统说明：", "Not published: the plan changed, a notice period would be cut short, or its shift is stale; run the plan again. The service said: "},
		"appr.list_sep":             {"、", ", "},
	})
}
