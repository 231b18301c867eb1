package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/internal/jsonin"
	"inspectonce/store"
)

// The phone page of the door (掌上执法): an inspector's visits of the day, with
// a check-in button, a result form per task and the confirmation. Script
// (static/visit_mobile.js) gives every submission a client id, keeps it in
// localStorage until the server has answered, and retries, so a bad
// connection at the door loses nothing and records nothing twice. The page
// posts JSON to the /inspect endpoints below, which authenticate by the
// session cookie (SameSite=Strict, a JSON body, and CheckOrigin refusing a
// write from another site) and call the same store operations as the API.

// doorBodyLimit bounds a submission's body.
const doorBodyLimit = 64 << 10

// visitMobileRoutes adds the phone page and its JSON endpoints.
func (p *Pages) visitMobileRoutes(g *echo.Group) {
	g.GET("/inspect", p.page(p.doorPage))
	g.GET("/inspect/plans/:id/visits/:seq", p.doorJSON(p.doorVisitJSON))
	g.POST("/inspect/plans/:id/visits/:seq/check-in", p.doorJSON(p.doorCheckIn))
	g.PUT("/inspect/plans/:id/visits/:seq/tasks/:task/result", p.doorJSON(p.doorResult))
	g.POST("/inspect/plans/:id/visits/:seq/confirm", p.doorJSON(p.doorConfirm))
}

// resultRules are the rules of the door today (as the API's).
func (p *Pages) resultRules() store.ResultRules {
	now := p.now().In(p.loc)
	r := store.ResultRules{Today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), Calendar: p.cal}
	if p.cfg != nil {
		r.Risk = p.cfg.Risk.Rule
		r.Language = configs.Lang(p.cfg.Language)
		r.PublishWithinWorkingDays = p.cfg.Results.PublishWithinWorkingDays
		r.RedoMinWindowWorkingDays = p.cfg.Results.RedoMinWindowWorkingDays
		r.ReinspectionWindowWorkingDays = p.cfg.Results.ReinspectionWindowWorkingDays
		r.MaxRectifyDays = p.cfg.Results.MaxRectifyDays
	}
	return r
}

// doorViewer is the signed-in inspector.
func doorViewer(c echo.Context) (domain.Principal, int64, error) {
	v, err := allow(c, domain.RoleInspector)
	if err != nil {
		return v, 0, err
	}
	id := v.InspectorID()
	if id == 0 {
		return v, 0, fmt.Errorf("token scope %q names no inspector: %w", v.Scope, domain.ErrForbidden)
	}
	return v, id, nil
}

// doorPageData is what templates/visit_mobile.html shows.
type doorPageData struct {
	Date, Prev, Next string
	Today            bool
	InspectorID      int64
	Visits           []doorVisitView
	Departments      []domain.Department
	// Outcomes are the result outcomes, in the order the form offers them.
	Outcomes []string
	// Avail is the inspector's own days away and the closures affecting its
	// team over the AheadDays days from Date.
	Avail     availabilityView
	AheadDays int
}

// doorVisitView is a visit with what the page derives for the viewer.
type doorVisitView struct {
	store.DoorVisit
	// Base is the path of the visit's JSON endpoints.
	Base string
	// Mine is the viewer's check-in, if any.
	Mine *store.CheckIn
	// Confirmed counts the confirmations of the current results;
	// MineConfirmed says whether the viewer's is one of them.
	Confirmed     int
	MineConfirmed bool
	// Due: the visit is today or earlier, so it takes results.
	Due bool
	// Awaiting are the visit's inspectors whose confirmation of the current
	// results is still awaited.
	Awaiting []store.DoorInspector
}

// doorPage answers GET /inspect?date=YYYY-MM-DD (default today).
func (p *Pages) doorPage(c echo.Context) error {
	_, insp, err := doorViewer(c)
	if err != nil {
		return err
	}
	today := p.resultRules().Today
	day := today
	if q := c.QueryParam("date"); q != "" {
		d, err := domain.ParseDate(q, nil)
		if err != nil {
			return domain.InvalidDate("date", err)
		}
		day = d
	}
	ctx := c.Request().Context()
	visits, err := p.store.InspectorVisits(ctx, insp, day)
	if err != nil {
		return fmt.Errorf("visits of inspector %d: %w", insp, err)
	}
	depts, err := p.store.ListDepartments(ctx, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return fmt.Errorf("departments: %w", err)
	}
	// Prev and Next go to the nearest days with an assignment, so an
	// inspector does not page through empty days.
	prev, next, err := p.store.InspectorVisitDays(ctx, insp, day)
	if err != nil {
		return fmt.Errorf("visit days of inspector %d: %w", insp, err)
	}
	data := doorPageData{Date: day.Format(time.DateOnly), Prev: prev.Format(time.DateOnly),
		Next: next.Format(time.DateOnly), Today: day.Equal(today), InspectorID: insp,
		Departments: depts.Items, Visits: make([]doorVisitView, 0, len(visits)), Outcomes: store.ResultOutcomes}
	for _, v := range visits {
		vv := doorVisitView{DoorVisit: v, Base: fmt.Sprintf("/inspect/plans/%d/visits/%d", v.PlanID, v.VisitSeq),
			Due: v.Date <= today.Format(time.DateOnly)}
		for i := range v.CheckIns {
			if v.CheckIns[i].InspectorID == insp {
				vv.Mine = &v.CheckIns[i]
			}
		}
		confirmed := map[int64]bool{}
		for _, cf := range v.Confirmations {
			if cf.Current {
				vv.Confirmed++
				vv.MineConfirmed = vv.MineConfirmed || cf.InspectorID == insp
				confirmed[cf.InspectorID] = true
			}
		}
		for _, in := range v.Inspectors {
			if !confirmed[in.ID] {
				vv.Awaiting = append(vv.Awaiting, in)
			}
		}
		data.Visits = append(data.Visits, vv)
	}
	me, err := p.store.GetInspector(ctx, insp)
	if err != nil {
		return fmt.Errorf("inspector %d: %w", insp, err)
	}
	data.AheadDays = doorAheadDays
	if data.Avail, err = p.availability(ctx, me.TeamID, insp, day, day.AddDate(0, 0, doorAheadDays-1)); err != nil {
		return fmt.Errorf("inspector %d: %w", insp, err)
	}
	noStore(c)
	return p.render(c, http.StatusOK, "visit_mobile", "door.title", data)
}

// doorError is the JSON answer of a refused submission: the status, a plain
// message and, for a validation failure, each refused field.
type doorError struct {
	Status int              `json:"status"`
	Detail string           `json:"detail"`
	Errors []doorFieldError `json:"errors,omitempty"`
}

// doorJSON answers a door endpoint's errors as JSON (the page's script reads
// them), with the status the API would give.
func (p *Pages) doorJSON(fn echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := fn(c)
		if err == nil {
			return nil
		}
		var ve *domain.ValidationError
		var he *echo.HTTPError
		out := doorError{Status: http.StatusInternalServerError, Detail: "internal error; please try again later"}
		switch {
		case errors.As(err, &ve):
			out = doorError{Status: http.StatusUnprocessableEntity, Detail: ve.Error(),
				Errors: localFieldErrors(negotiate(c.Request()), ve.Fields)}
		case errors.Is(err, domain.ErrNotFound):
			out = doorError{Status: http.StatusNotFound, Detail: err.Error()}
		case errors.Is(err, domain.ErrForbidden):
			out = doorError{Status: http.StatusForbidden, Detail: err.Error()}
		case errors.Is(err, domain.ErrConflict):
			out = doorError{Status: http.StatusConflict, Detail: err.Error()}
		case errors.As(err, &he):
			out = doorError{Status: he.Code, Detail: http.StatusText(he.Code)}
		default:
			p.log.ErrorContext(c.Request().Context(), "door submission failed", "err", err, "path", c.Request().URL.Path)
		}
		return c.JSON(out.Status, out)
	}
}

// doorPath reads the plan, visit and (when present) task numbers.
func doorPath(c echo.Context) (int64, int, error) {
	id, err := pathInt64(c, "id")
	if err != nil {
		return 0, 0, err
	}
	seq, err := pathInt64(c, "seq")
	if err != nil || seq > math.MaxInt32 {
		return 0, 0, fmt.Errorf("visit %q: %w", c.Param("seq"), domain.ErrNotFound)
	}
	return id, int(seq), nil
}

// decodeDoor reads a JSON body strictly: one object, known fields, bounded.
func decodeDoor(c echo.Context, into any) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != echo.MIMEApplicationJSON && ct != echo.MIMEApplicationJSONCharsetUTF8 {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, doorBodyLimit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	} else if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	// NUL and invalid UTF-8 would reach PostgreSQL as text (jsonin.Check).
	if err := jsonin.Check(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return domain.Invalid("body", "is not the JSON this endpoint reads: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Invalid("body", "must hold exactly one JSON object")
	}
	return nil
}

func replayStatus(replayed bool) int {
	if replayed {
		return http.StatusOK
	}
	return http.StatusCreated
}

func (p *Pages) doorVisitJSON(c echo.Context) error {
	_, insp, err := doorViewer(c)
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	v, err := p.store.DoorVisit(c.Request().Context(), id, seq, insp)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, v)
}

func (p *Pages) doorCheckIn(c echo.Context) error {
	_, insp, err := doorViewer(c)
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	var in store.CheckInInput
	if err := decodeDoor(c, &in); err != nil {
		return err
	}
	out, replayed, err := p.store.RecordCheckIn(c.Request().Context(), id, seq, insp, in, p.resultRules())
	if err != nil {
		return err
	}
	// The page shows the time in the county's zone and the page's style,
	// whatever zone the phone is set to.
	pg := Page{Lang: negotiate(c.Request()), loc: p.loc}
	return c.JSON(replayStatus(replayed), struct {
		store.CheckIn
		AtLocal string `json:"at_local"`
	}{out, pg.DateTime(out.At)})
}

func (p *Pages) doorResult(c echo.Context) error {
	_, insp, err := doorViewer(c)
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	task, err := strconv.ParseInt(c.Param("task"), 10, 32)
	if err != nil || task <= 0 {
		return fmt.Errorf("task %q: %w", c.Param("task"), domain.ErrNotFound)
	}
	var in store.ResultInput
	if err := decodeDoor(c, &in); err != nil {
		return err
	}
	out, replayed, err := p.store.RecordResult(c.Request().Context(), id, seq, int(task), insp, in, p.resultRules())
	if err != nil {
		return err
	}
	return c.JSON(replayStatus(replayed), out)
}

func (p *Pages) doorConfirm(c echo.Context) error {
	v, insp, err := doorViewer(c)
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	var in struct {
		ClientID string `json:"client_id"`
	}
	if err := decodeDoor(c, &in); err != nil {
		return err
	}
	out, replayed, err := p.store.ConfirmVisit(c.Request().Context(), v.Actor(), id, seq, insp, in.ClientID, p.resultRules())
	if err != nil {
		return err
	}
	due := ""
	if out.Report != nil {
		due = negotiate(c.Request()).Date(out.Report.PublishDue)
	}
	return c.JSON(replayStatus(replayed), struct {
		store.ConfirmOutcome
		PublishDueLocal string `json:"publish_due_local,omitempty"`
	}{out, due})
}

func init() {
	addMessages(map[string][2]string{
		"door.title":               {"掌上执法", "At the door"},
		"door.heading":             {"今日检查", "Today's visits"},
		"door.heading_day":         {"检查安排", "Visits"},
		"door.prev":                {"前一天", "Previous day"},
		"door.next":                {"后一天", "Next day"},
		"door.today":               {"今天", "Today"},
		"door.none":                {"这一天没有分配给您的检查。", "No visit is assigned to you on this day."},
		"door.noscript":            {"本页需要启用脚本：离线时提交的结果保存在手机上，联网后自动上传。", "This page needs script: results entered offline are kept on the phone and uploaded once online."},
		"door.queue":               {"待上传：", "Waiting to upload: "},
		"door.retry":               {"立即重试", "Retry now"},
		"door.offline":             {"网络不通，已保存在本机，稍后自动重试。", "No connection: kept on this phone, will retry."},
		"door.signin":              {"登录已过期，请重新登录后上传。", "Your session has expired: sign in again to upload."},
		"door.saved":               {"已保存", "Saved"},
		"door.refused":             {"未被接受：", "Refused: "},
		"door.inspectors":          {"执法人员", "Inspectors"},
		"door.cert":                {"执法证号", "Certificate"},
		"door.checkin":             {"到达签到", "Check in"},
		"door.checked_in":          {"已签到：", "Checked in: "},
		"door.not_due":             {"检查日未到，届时可签到和录入结果。", "Not due yet: check-in and results open on the visit's day."},
		"door.legal_basis":         {"依据：", "Legal basis: "},
		"door.current":             {"当前结果：", "Current result: "},
		"door.no_result":           {"尚未录入", "No result yet"},
		"door.outcome":             {"检查结果", "Outcome"},
		"door.outcome.compliant":   {"合规", "Compliant"},
		"door.outcome.minor":       {"轻微问题（不予处罚）", "Minor (not penalised)"},
		"door.outcome.violation":   {"违法，责令整改", "Violation, to rectify"},
		"door.outcome.transferred": {"移送其他部门", "Transferred"},
		"door.outcome.not_done":    {"未能检查", "Not done"},
		"door.rule_cited":          {"违反条款", "Rule breached"},
		"door.rectify_by":          {"整改期限", "Rectify by"},
		"door.transferred_to":      {"移送部门", "Transferred to"},
		"door.not_done_reason":     {"原因", "Reason"},
		"door.reason.closed":       {"停业/关门", "Closed"},
		"door.reason.absent":       {"负责人不在", "Nobody present"},
		"door.reason.refused":      {"拒绝检查", "Refused"},
		"door.note":                {"备注", "Note"},
		"door.record":              {"保存结果", "Save result"},
		"door.confirm":             {"确认本次检查结果", "Confirm these results"},
		"door.confirm_help":        {"两名执法人员都确认当前结果后，结果生效并进入公示。修改任何结果后需重新确认。", "Once both inspectors confirm the current results they are final and go to publication. Any change needs confirming again."},
		"door.confirmed":           {"已确认：%d / 2", "Confirmed: %d / 2"},
		"door.reported":            {"结果已生效，公示期限 %s。", "Results are final; to be published by %s."},
		"door.select":              {"请选择", "Choose"},
	})
}
