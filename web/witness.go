package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// The witness page (issue 19 part 4, docs/draws.md §3.8): the independent
// witness (司法局) sees each plan whose target frames are committed, with the
// commitment, and enters the value that fixes its draws; an admin enters
// the public number for a "public" commitment. Every commitment made stays
// listed, with its value once entered.

func (p *Pages) witnessRoutes(g *echo.Group) {
	g.GET("/witness", p.page(p.witnessPage))
	g.POST("/witness/:id", p.page(p.witnessForm))
}

type witnessView struct {
	Mode, Source string
	Jitter       float64
	Awaiting     []witnessItem
	Recent       []store.PublicCommitment
	// Entered is the plan whose value was just recorded.
	Entered int64
}

type witnessItem struct {
	store.PlanCommitment
	// May: the viewer's role enters this commitment's value.
	May bool
	// The form's values and errors, for the plan just refused.
	Value, ValueSource string
	Errors             map[string]string
}

func (p *Pages) witnessPage(c echo.Context) error {
	v, err := allow(c, domain.RoleWitness, domain.RoleAdmin)
	if err != nil {
		return err
	}
	entered, _ := strconv.ParseInt(c.QueryParam("entered"), 10, 64)
	return p.renderWitness(c, http.StatusOK, v, nil, entered)
}

func (p *Pages) renderWitness(c echo.Context, status int, v domain.Principal, refused *witnessItem, entered int64) error {
	ctx := c.Request().Context()
	awaiting, err := p.store.AwaitingCommitments(ctx)
	if err != nil {
		return err
	}
	recent, err := p.store.PublicCommitments(ctx, store.Page{Limit: 20})
	if err != nil {
		return err
	}
	wv := witnessView{Recent: recent.Items, Entered: entered}
	if p.planning != nil {
		wv.Mode, wv.Source, wv.Jitter = p.planning.Randomness()
	}
	for _, cm := range awaiting {
		it := witnessItem{PlanCommitment: cm, Errors: map[string]string{},
			May: p.enterRand != nil && ((cm.Kind == store.CommitWitness && v.Role == domain.RoleWitness) ||
				(cm.Kind == store.CommitPublic && v.Role == domain.RoleAdmin))}
		if refused != nil && refused.PlanID == cm.PlanID {
			it.Value, it.ValueSource, it.Errors = refused.Value, refused.ValueSource, refused.Errors
		}
		wv.Awaiting = append(wv.Awaiting, it)
	}
	return p.render(c, status, "witness", "wit.title", wv)
}

// witnessForm is POST /witness/{id}: the value for plan id.
func (p *Pages) witnessForm(c echo.Context) error {
	v, err := allow(c, domain.RoleWitness, domain.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	if p.enterRand == nil {
		return domain.ErrUnavailable
	}
	lang := negotiate(c.Request())
	it := &witnessItem{PlanCommitment: store.PlanCommitment{PlanID: id}, Value: strings.TrimSpace(c.FormValue("value")),
		ValueSource: strings.TrimSpace(c.FormValue("source")), Errors: map[string]string{}}
	_, err = p.enterRand(c.Request().Context(), v, id, planning.RandomnessInput{Value: it.Value, Source: it.ValueSource})
	var ve *domain.ValidationError
	switch {
	case err == nil:
		return c.Redirect(http.StatusSeeOther, "/witness?entered="+strconv.FormatInt(id, 10)+"#plan-"+strconv.FormatInt(id, 10))
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			it.Errors[f.Field] = lang.T("wit.err." + f.Field)
		}
		return p.renderWitness(c, http.StatusUnprocessableEntity, v, it, 0)
	case errors.Is(err, domain.ErrConflict):
		it.Errors["value"] = lang.T("wit.err.conflict")
		return p.renderWitness(c, http.StatusConflict, v, it, 0)
	}
	return err
}

func init() {
	addMessages(map[string][2]string{
		"nav.witness":              {"随机数见证", "Witness"},
		"wit.title":                {"抽查随机数见证", "Witnessing the draws' randomness"},
		"wit.help":                 {"每个计划先公开其抽查名录（每个名录的 SHA-256、抽取数 n 和重点名单的摘要）作为承诺，然后才由独立见证人录入随机数；随机数决定抽签起点，计划随后从已承诺的名录中抽取。因此操作方在名录确定时无法知道谁会被抽中，也无法在看到结果后更换名录：承诺和随机数都在开放数据中公布。", "Each plan first publishes its sampling frames (each frame's SHA-256, its n and its key list's hash) as a commitment; only then does an independent witness enter a value, which fixes the draw's starting point, and the plan draws from the committed frames. Whoever fixes the frames cannot know whom they will select, nor change them after seeing the outcome: the commitment and the value are both published as open data."},
		"wit.mode":                 {"当前设置：%s；随机数来源：%s；扰动幅度 %v。", "Current setting: %s; the value's source: %s; jitter %v."},
		"wit.mode.operator":        {"由操作方决定（未启用见证，见 planning.randomness）", "the operator's (no witness: see planning.randomness)"},
		"wit.mode.witness":         {"见证人录入", "entered by a witness"},
		"wit.mode.public":          {"公开号码（管理员录入，任何人可核对）", "a public number (entered by an admin, checkable by anyone)"},
		"wit.awaiting":             {"等待随机数的计划", "Plans awaiting their value"},
		"wit.none":                 {"目前没有等待随机数的计划。", "No plan is awaiting its value."},
		"wit.plan":                 {"计划 %d", "Plan %d"},
		"wit.committed":            {"承诺时间", "Committed"},
		"wit.commitment":           {"承诺摘要（SHA-256）", "Commitment (SHA-256)"},
		"wit.frames":               {"抽查名录 %d 个", "%d frames"},
		"wit.source":               {"约定的随机数来源", "The value's declared source"},
		"wit.kind.witness":         {"见证人录入", "a witness enters it"},
		"wit.kind.public":          {"公开号码，由管理员录入", "a public number, entered by an admin"},
		"wit.value":                {"随机数", "Value"},
		"wit.value_help":           {"6 至 200 个字符。请在看到上面的承诺之后现场产生（例如掷骰、抽签），一经录入不可更改。", "6 to 200 characters. Make it after seeing the commitment above (dice, lots); once entered it cannot change."},
		"wit.value_source":         {"录入人 / 号码出处", "Entered by / where the number comes from"},
		"wit.submit":               {"录入并开始抽取", "Enter and draw"},
		"wit.not_yours":            {"此承诺的随机数须由%s。", "This commitment's value is entered by %s."},
		"wit.entered":              {"计划 %d 的随机数已录入，计划正在抽取。", "Plan %d's value is recorded; the plan is drawing."},
		"wit.recent":               {"最近的承诺", "Recent commitments"},
		"wit.status":               {"计划状态", "Plan status"},
		"wit.value_entered":        {"随机数", "Value"},
		"wit.shift":                {"起点 %v（轮转 %v）", "shift %v (rotation %v)"},
		"wit.pending":              {"尚未录入", "not yet entered"},
		"wit.err.value":            {"请填写 6 至 200 个字符的随机数。", "Give a value of 6 to 200 characters."},
		"wit.err.source":           {"请填写录入人或号码出处（最多 200 个字符）。", "Say who entered it or where the number comes from (at most 200 characters)."},
		"wit.err.conflict":         {"此计划已录入随机数或已不再等待：随机数只能录入一次。", "This plan has its value already, or is no longer waiting: a value is entered once."},
		"wit.status.running":       {"进行中", "running"},
		"wit.status.draft":         {"草案", "draft"},
		"wit.status.published":     {"已发布", "published"},
		"wit.status.discarded":     {"已作废", "discarded"},
		"wit.status.failed":        {"失败", "failed"},
		"plan.progress.awaiting":   {"等待独立随机数（见证人录入）", "awaiting the witness's value"},
		"plan.progress.randomness": {"随机数已录入，正在抽取", "value entered, drawing"},
	})
}
