package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// publicationPublicRoutes adds the public results page (一公开): no login,
// published results are public.
func (p *Pages) publicationPublicRoutes(e *echo.Echo) {
	e.GET("/results", p.page(p.publicResults))
}

// publicationRoutes adds the publication dashboard with the period's figures.
func (p *Pages) publicationRoutes(g *echo.Group) {
	g.GET("/publication", p.page(p.publication))
}

// resultsData is what templates/results.html shows.
type resultsData struct {
	From, To string
	Results  []store.PublishedResult
	// Next is the link to the next page ("" on the last).
	Next string
	// CSV, XLSX and JSON are the open-data exports of the same period.
	CSV, XLSX, JSON string
	// Base is the service's public address, for the verifier's command.
	Base string
}

// civilParam reads an optional date query parameter; a bad one is a
// validation error naming it.
func civilParam(c echo.Context, name string, v *domain.ValidationError) time.Time {
	s := c.QueryParam(name)
	if s == "" {
		return time.Time{}
	}
	d, err := domain.ParseDate(s, nil)
	if err != nil {
		v.Add(name, "%v", err)
	}
	return d
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// publicResults answers GET /results: published results, 50 a page.
func (p *Pages) publicResults(c echo.Context) error {
	var v domain.ValidationError
	f := store.ResultFilter{From: civilParam(c, "from", &v), To: civilParam(c, "to", &v)}
	if err := v.Err(); err != nil {
		return err
	}
	page, err := p.store.PublishedResults(c.Request().Context(), f, c.QueryParam("after"), 50)
	if err != nil {
		return err
	}
	q := url.Values{}
	if !f.From.IsZero() {
		q.Set("from", dateOrEmpty(f.From))
	}
	if !f.To.IsZero() {
		q.Set("to", dateOrEmpty(f.To))
	}
	data := resultsData{From: dateOrEmpty(f.From), To: dateOrEmpty(f.To), Results: page.Items,
		CSV: "/api/v1/open-data/results.csv?" + q.Encode(), XLSX: "/api/v1/open-data/results.xlsx?" + q.Encode(), JSON: "/api/v1/open-data/results.json?" + q.Encode()}
	data.Base = strings.TrimRight(p.cfg.HTTP.PublicBaseURL, "/")
	if data.Base == "" {
		data.Base = c.Scheme() + "://" + c.Request().Host
	}
	if page.Next != "" {
		n := url.Values{}
		for k, vs := range q {
			n[k] = vs
		}
		n.Set("after", page.Next)
		data.Next = "/results?" + n.Encode()
	}
	return p.render(c, http.StatusOK, "results", "results.title", data)
}

// publicationData is what templates/publication.html shows.
type publicationData struct {
	Dashboard store.PublicationDashboard
	Figures   store.Figures
	// Outcomes lists the outcomes in display order.
	Outcomes []string
}

// publication answers GET /publication: results due, published and
// overdue, and the figures of a period (?from=&to=, default the month so
// far). Admins see everything, planners their department's visits.
func (p *Pages) publication(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	var scope int64
	if viewer.Role == domain.RolePlanner {
		scope = viewer.DepartmentID
	}
	now := p.now().In(p.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var v domain.ValidationError
	from, to := civilParam(c, "from", &v), civilParam(c, "to", &v)
	if err := v.Err(); err != nil {
		return err
	}
	if from.IsZero() {
		from = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = today
	}
	if to.Before(from) {
		return domain.Invalid("to", "is before from")
	}
	ctx := c.Request().Context()
	q := store.PublicationQuery{Today: today, Location: p.loc, DepartmentID: scope}
	if p.cal != nil {
		q.AddWorkingDays = p.cal.AddWorkingDays
	}
	if p.cfg != nil {
		q.WorkingDays = p.cfg.Results.PublishWithinWorkingDays
	}
	dash, err := p.store.PublicationStatus(ctx, q)
	if err != nil {
		return err
	}
	figs, err := p.store.ResultFigures(ctx, store.FiguresQuery{From: from, To: to, Today: today, Location: p.loc, DepartmentID: scope})
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "publication", "publication.title",
		publicationData{Dashboard: dash, Figures: figs, Outcomes: store.Outcomes})
}

func init() {
	addMessages(map[string][2]string{
		"results.title":                   {"检查结果公示", "Published inspection results"},
		"results.intro":                   {"依法在检查后 20 个工作日内公示的检查结果（双随机、一公开）。抽取记录如何复核，见下方说明。", "Inspection results, published within 20 working days of the visit (double random, one public). How to check the draws is explained below."},
		"results.check.title":             {"如何复核抽取（无需登录）", "How to check the draws (no sign-in)"},
		"results.check.spec":              {"抽取方法逐字节公开在 docs/draws.md，附测试向量。", "The draws are specified to the byte in docs/draws.md, with test vectors."},
		"results.check.now":               {"随时可查：年度密钥和每个计划种子的承诺（SHA-256）；启用见证时，每个计划的抽查名录承诺及其后录入的随机数（/api/v1/open-data/commitments）。", "At any time: the commitments (SHA-256) of the year key and of each plan's seed; with a witness, each plan's frame commitment and the value entered after it (/api/v1/open-data/commitments)."},
		"results.check.published":         {"计划发布后：抽查计划（部门、事项、范围、数量或比例、时间）和种子；检查人员的抽取记录在相关检查完成后公开，可用种子重算。", "Once a plan is published: its sampling rules (department, items, population, count or ratio, window) and its seed; each inspector draw once its visits have happened, replayable with the seed."},
		"results.check.closed":            {"某次抽取的全部检查完成或期限届满后：抽查名录（统一社会信用代码和权重）、排除名单及原因、抽中名单，以及每户的结果（已检查、未能检查、未安排及原因）；可核对名录与承诺一致、每户均有交代、被检查的企业确实被抽中。", "Once all of a draw's visits have happened or its window is over: its frame (USCCs and weights), the exclusions with reasons, the selection and what became of each business drawn; a reader can check the frame against its commitment, that every business drawn is accounted for, and that every business visited was drawn."},
		"results.check.year":              {"年度结束后公开年度密钥：此后可重算每一次抽取选中了谁。提前公开会让任何人预测当年剩余的抽查，因此年内公开须经强制操作（--force）。", "When the year ends its key is revealed: from then on anyone can recompute whom each draw selected. Revealing it earlier would let anyone predict the rest of the year's samples, so doing so within the year needs --force."},
		"results.check.tool":              {"一条命令完成以上全部核对，只需本站地址：", "One command does all of the above with nothing but this site's address:"},
		"results.from":                    {"检查日期自", "Visit date from"},
		"results.to":                      {"至", "to"},
		"results.filter":                  {"筛选", "Filter"},
		"results.export":                  {"开放数据下载", "Open data"},
		"results.none":                    {"没有已公示的检查结果。", "No published results."},
		"results.next":                    {"下一页", "Next page"},
		"results.inspectors":              {"执法人员", "Inspectors"},
		"results.published_at":            {"公示时间", "Published"},
		"results.draws":                   {"抽取记录", "Draws"},
		"results.draw":                    {"计划 %d 第 %d 次抽取（%s）：总体 %d 户，抽取 %d 户，种子 %s", "plan %d draw %d (%s): frame of %d, %d drawn, seed %s"},
		"results.not_drawn":               {"名单检查或投诉核查，非抽取", "Named in a list or a complaint: not drawn"},
		"outcome.compliant":               {"未发现问题", "Compliant"},
		"outcome.minor":                   {"轻微问题（不予处罚）", "Minor (not penalised)"},
		"outcome.violation":               {"违法违规，责令整改", "Violation, rectification ordered"},
		"outcome.transferred":             {"移送处理", "Transferred"},
		"outcome.not_done":                {"未检查", "Not done"},
		"results.rule":                    {"依据：%s", "Rule: %s"},
		"results.rectify_by":              {"整改期限：%s", "Rectify by %s"},
		"results.transferred_to":          {"移送：%s", "Transferred to %s"},
		"notdone.closed":                  {"停业/关门", "closed"},
		"notdone.absent":                  {"无人", "nobody there"},
		"notdone.refused":                 {"拒绝检查", "refused"},
		"publication.title":               {"结果公示与统计", "Publication and figures"},
		"publication.due":                 {"待公示（未超期）", "Due (deadline ahead)"},
		"publication.on_time":             {"按期公示", "Published on time"},
		"publication.late":                {"逾期公示", "Published late"},
		"publication.overdue_unpublished": {"超期未公示", "Overdue, confirmed but unpublished"},
		"publication.overdue_unreported":  {"超期未报结果", "Overdue, no results reported"},
		"publication.due_list":            {"待公示", "Due"},
		"publication.overdue_list":        {"超期", "Overdue"},
		"publication.state.due":           {"待公示", "due"},
		"publication.state.unpublished":   {"已确认未公示", "confirmed, unpublished"},
		"publication.state.unreported":    {"未报结果", "no results"},
		"publication.deadline":            {"公示期限", "Deadline"},
		"publication.visit_date":          {"检查日期", "Visit date"},
		"publication.business":            {"市场主体", "Business"},
		"publication.none":                {"无。", "None."},
		"figures.title":                   {"统计（%s 至 %s）", "Figures (%s to %s)"},
		"figures.planned":                 {"计划检查", "Visits planned"},
		"figures.done":                    {"已检查", "Visits done"},
		"figures.attempted":               {"上门未检查", "Visits attempted, nothing done"},
		"figures.joint":                   {"联合检查率（已检查）", "Joint-visit rate (performed visits)"},
		"figures.outcomes":                {"检查结果", "Results by outcome"},
		"figures.publication":             {"公示", "Publication"},
		"figures.pending":                 {"待公示", "Pending"},
		"figures.overdue":                 {"超期未公示", "Overdue"},
		"figures.on_time_rate":            {"按期公示率", "On-time rate"},
	})
}
