package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// scheduleRoutes adds a business's consolidated schedule and the form that
// makes a new secret URL for its calendar feed.
func (p *Pages) scheduleRoutes(g *echo.Group) {
	g.GET("/businesses/:uscc/schedule", p.page(p.schedule))
	g.POST("/businesses/:uscc/feed", p.page(p.rotateBusinessFeed))
}

// scheduleData is what templates/schedule.html shows.
type scheduleData struct {
	Business store.ScheduleBusiness
	// Groups are the upcoming visits (soonest first), then the past ones
	// (latest first): what a business wants to know is what comes next.
	Groups []scheduleGroup
	// Feed is set once, on the page answering the rotation that made it.
	Feed *feedNotice
	// FeedAction is where the subscription form posts.
	FeedAction string
}

// scheduleGroup is one heading of the schedule with its visits.
type scheduleGroup struct {
	Key    string // "upcoming" or "past": the message key suffix and CSS class
	Visits []scheduleVisit
}

// scheduleVisit is a visit with what the template derives from the date.
type scheduleVisit struct {
	store.ScheduleVisit
	// Today marks a visit on today's date (still "planned" in the store).
	Today bool
	// Joint marks a visit of several departments: one door-knock for all.
	Joint bool
}

// feedNotice is a freshly made calendar-feed URL. The secret is shown only on
// the page that answers the rotation: the store keeps only its hash.
type feedNotice struct {
	URL string
}

// scheduleAccess lets a business read its own schedule and an admin any. A
// business asking for another USCC gets the same "not found" as for an
// unknown one, so the page does not tell which codes are registered.
func scheduleAccess(c echo.Context, uscc string) (domain.Principal, error) {
	v, err := allow(c, domain.RoleAdmin, domain.RoleBusiness)
	if err != nil {
		return v, err
	}
	if !v.ActsForBusiness(uscc) {
		return v, fmt.Errorf("business %s: %w", uscc, domain.ErrNotFound)
	}
	return v, nil
}

// schedule answers GET /businesses/{uscc}/schedule.
func (p *Pages) schedule(c echo.Context) error {
	uscc := c.Param("uscc")
	if _, err := scheduleAccess(c, uscc); err != nil {
		return err
	}
	return p.renderSchedule(c, uscc, nil)
}

// rotateBusinessFeed answers POST /businesses/{uscc}/feed: a new secret feed
// URL, which revokes the old one, shown on the schedule page once.
func (p *Pages) rotateBusinessFeed(c echo.Context) error {
	uscc := c.Param("uscc")
	v, err := scheduleAccess(c, uscc)
	if err != nil {
		return err
	}
	secret, err := p.store.RotateFeedToken(c.Request().Context(), v.Actor(), store.FeedBusiness, uscc)
	if err != nil {
		return fmt.Errorf("rotate feed of business %s: %w", uscc, err)
	}
	return p.renderSchedule(c, uscc, &feedNotice{URL: feedURL(c, secret)})
}

func (p *Pages) renderSchedule(c echo.Context, uscc string, feed *feedNotice) error {
	now := p.now()
	sched, err := p.store.BusinessSchedule(c.Request().Context(), uscc, now, p.loc)
	if err != nil {
		return fmt.Errorf("schedule of business %s: %w", uscc, err)
	}
	today := now.In(p.loc).Format(time.DateOnly)
	upcoming := scheduleGroup{Key: "upcoming", Visits: []scheduleVisit{}}
	past := scheduleGroup{Key: "past", Visits: []scheduleVisit{}}
	// The store lists visits by date; unannounced ones are already left out
	// until they have happened, so nothing here may add them back.
	for _, sv := range sched.Visits {
		v := scheduleVisit{ScheduleVisit: sv, Today: sv.Date == today, Joint: len(sv.Departments) > 1}
		if sv.Status == store.VisitPast {
			past.Visits = append(past.Visits, v)
		} else {
			upcoming.Visits = append(upcoming.Visits, v)
		}
	}
	slices.Reverse(past.Visits)
	data := scheduleData{Business: sched.Business, Groups: []scheduleGroup{upcoming, past},
		Feed: feed, FeedAction: "/businesses/" + url.PathEscape(uscc) + "/feed"}
	if feed != nil {
		noStore(c)
	}
	return p.render(c, http.StatusOK, "schedule", "schedule.title", data)
}

// feedURL is the public address of a calendar feed. The service has no
// configured public base URL, so it is the one the browser used to reach
// this page (scheme honours X-Forwarded-Proto behind a proxy).
func feedURL(c echo.Context, secret string) string {
	return c.Scheme() + "://" + c.Request().Host + "/feeds/" + secret + ".ics"
}

// noStore keeps a page that shows a secret out of every cache and away from
// other sites' Referer headers.
func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

func init() {
	addMessages(map[string][2]string{
		"schedule.title":             {"检查日程", "Inspection schedule"},
		"schedule.heading":           {"检查日程", "Inspection schedule"},
		"schedule.uscc":              {"统一社会信用代码", "Unified social credit code"},
		"schedule.address":           {"地址", "Address"},
		"schedule.intro":             {"以下为各部门对贵单位的全部已告知检查，合并为一次上门的联合检查只列一次。", "All announced inspections of your business by every department; a joint inspection (one visit, several departments) is listed once."},
		"schedule.unannounced":       {"依法不预先告知的检查（如投诉举报核查）在检查完成后列出。", "Inspections that by law are not announced in advance (such as complaint checks) are listed once they have taken place."},
		"schedule.window":            {"检查人员将在所示时段内到达，具体时间以牵头队伍联系为准。", "Inspectors arrive within the times shown; the lead team will call to confirm."},
		"schedule.upcoming":          {"即将进行", "Upcoming"},
		"schedule.past":              {"已完成", "Past"},
		"schedule.none.upcoming":     {"目前没有已告知的检查安排。", "No announced inspection is scheduled."},
		"schedule.none.past":         {"暂无已完成的检查。", "No past inspection."},
		"schedule.status.upcoming":   {"待检查", "Upcoming"},
		"schedule.status.past":       {"已完成", "Past"},
		"schedule.status.today":      {"今天", "Today"},
		"schedule.moved":             {"已改期，原定 %s", "Moved from %s"},
		"schedule.unannounced_badge": {"不预先告知", "Unannounced"},
		"schedule.joint":             {"联合检查 · %d 个部门", "Joint inspection · %d departments"},
		"schedule.lead_team":         {"牵头队伍", "Lead team"},
		"schedule.phone":             {"联系电话", "Phone"},
		"schedule.lead_inspector":    {"带队执法人员", "Lead inspector"},
		"schedule.departments":       {"检查部门与事项", "Departments and items"},
		"schedule.legal_basis":       {"依据：%s", "Legal basis: %s"},
		"schedule.unknown":           {"待定", "to be confirmed"},
		"feed.title":                 {"日历订阅", "Calendar subscription"},
		"feed.help_business":         {"在手机或电脑日历中订阅本日程，检查安排或改期会自动同步。订阅链接即是凭证，请勿外传。", "Subscribe to this schedule in your phone or computer calendar; new and moved inspections appear by themselves. The link is the key: do not share it."},
		"feed.help_team":             {"在日历中订阅本队的全部检查安排。订阅链接即是凭证，请勿外传。", "Subscribe to all of the team's visits in a calendar. The link is the key: do not share it."},
		"feed.help_inspector":        {"在日历中订阅您本人的检查任务。订阅链接即是凭证，请勿外传。", "Subscribe to your own assignments in a calendar. The link is the key: do not share it."},
		"feed.rotate":                {"生成新的订阅链接", "Make a new subscription link"},
		"feed.rotate_team":           {"生成本队订阅链接", "Make a team subscription link"},
		"feed.rotate_inspector":      {"生成我的订阅链接", "Make my subscription link"},
		"feed.rotate_note":           {"生成新链接后，之前的链接将立即失效。", "Making a new link stops the previous one from working."},
		"feed.new":                   {"新的订阅链接（只显示这一次，请立即复制到日历应用中）：", "Your new subscription link (shown only this once: copy it into your calendar app now):"},
		"feed.old_revoked":           {"之前的订阅链接已停止工作。", "The previous link has stopped working."},
	})
}
