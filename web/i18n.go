package web

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"golang.org/x/text/language"

	"inspectonce/messages"
)

// Lang is a page language: Simplified Chinese by default, English when the
// browser prefers it (Accept-Language) or the user chose it (?lang=, kept in
// a cookie).
type Lang string

// The page languages.
const (
	LangZH Lang = "zh-CN"
	LangEN Lang = "en"
)

var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

const langCookie = "io_lang"

// negotiate picks the page language of r: ?lang= first, then the cookie set
// by a previous choice, then Accept-Language; Chinese when nothing matches.
func negotiate(r *http.Request) Lang {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(ck.Value); ok {
			return l
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return LangZH
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No || i == 0 {
		return LangZH
	}
	return LangEN
}

func parseLang(s string) (Lang, bool) {
	switch s {
	case "zh", "zh-CN", "zh-Hans":
		return LangZH, true
	case "en", "en-US", "en-GB":
		return LangEN, true
	}
	return "", false
}

// addMessages registers page texts in the shared catalog (package
// messages); each page file adds its own in init, so pages do not share one
// large table. A key registered twice with different texts is a programming
// error and panics at start-up.
func addMessages(m map[string][2]string) { messages.Add(m) }

// Msg is the catalog language of l.
func (l Lang) Msg() messages.Lang {
	if l == LangEN {
		return messages.EN
	}
	return messages.ZH
}

// T is the text of key in l, formatted with args (fmt verbs); an unknown key
// is shown as itself so a missing text is visible, not blank.
func (l Lang) T(key string, args ...any) string { return l.Msg().T(key, args...) }

// Other is the language the switch on every page offers.
func (l Lang) Other() Lang {
	if l == LangEN {
		return LangZH
	}
	return LangEN
}

// HTMLLang is the value of <html lang>.
func (l Lang) HTMLLang() string {
	if l == LangEN {
		return "en"
	}
	return "zh-CN"
}

var weekdaysZH = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// Date formats a civil date with its weekday: a time.Time, or a string
// YYYY-MM-DD (shown as given when it does not parse).
func (l Lang) Date(d any) string {
	var t time.Time
	switch x := d.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	case string:
		p, err := time.Parse(time.DateOnly, x)
		if err != nil {
			return x
		}
		t = p
	default:
		return fmt.Sprint(d)
	}
	if l == LangEN {
		return t.Format("Mon 2 Jan 2006")
	}
	return fmt.Sprintf("%d年%d月%d日 %s", t.Year(), t.Month(), t.Day(), weekdaysZH[t.Weekday()])
}

// DateTime formats an instant in the county's time zone, with the weekday.
func (p *Page) DateTime(t any) string {
	var at time.Time
	switch x := t.(type) {
	case time.Time:
		at = x
	case *time.Time:
		if x == nil {
			return ""
		}
		at = *x
	default:
		return fmt.Sprint(t)
	}
	at = at.In(p.loc)
	return p.Lang.Date(at) + " " + at.Format("15:04")
}

// funcs are the helpers every template may use.
var funcs = template.FuncMap{
	// pct shows a fraction as a percentage with one decimal.
	"pct": func(f float64) string { return fmt.Sprintf("%.1f %%", f*100) },
	// num shows a float with the given decimals.
	"num": func(decimals int, f float64) string { return fmt.Sprintf("%.*f", decimals, f) },
	"add": func(a, b int) int { return a + b },
	// deref shows a number that may be missing (nil: 0).
	"deref": func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	},
	// safeSVG marks SVG that the server built from numbers and escaped text.
	"safeSVG": func(s string) template.HTML { return template.HTML(s) },
}

func init() {
	addMessages(map[string][2]string{
		"app.name":          {"综合查一次", "InspectOnce"},
		"nav.home":          {"首页", "Home"},
		"nav.plans":         {"计划", "Plans"},
		"nav.queues":        {"队列", "Queues"},
		"nav.publication":   {"结果公示", "Publication"},
		"nav.inspect":       {"掌上执法", "At the door"},
		"nav.results":       {"检查结果公开", "Published results"},
		"nav.logout":        {"退出", "Sign out"},
		"nav.signed_in_as":  {"当前用户", "Signed in as"},
		"login.title":       {"登录", "Sign in"},
		"login.token":       {"访问令牌", "Access token"},
		"login.submit":      {"登录", "Sign in"},
		"login.help":        {"请输入管理员发放给您的访问令牌。", "Enter the access token your administrator gave you."},
		"login.bad_token":   {"令牌无效或已吊销。", "The token is not valid or has been revoked."},
		"error.title":       {"出错了", "Something went wrong"},
		"error.not_found":   {"页面不存在，或您无权查看。", "The page does not exist, or you may not see it."},
		"error.forbidden":   {"您的角色无权打开此页面。", "Your role may not open this page."},
		"error.bad_request": {"请求有误：", "The request is not valid: "},
		"error.internal":    {"服务器内部错误，请稍后重试。", "Internal error; please try again later."},
		"error.unavailable": {"数据库暂时无法连接，未做任何更改，请稍后重试。", "The database cannot be reached right now; nothing was changed. Please try again shortly."},
		"home.title":        {"首页", "Home"},
		"home.nothing":      {"您的角色没有可查看的页面。", "There is no page for your role."},
		"role.admin":        {"综合执法办（管理员）", "Coordinator (admin)"},
		"role.planner":      {"部门计划员", "Department planner"},
		"role.team_leader":  {"队长", "Team leader"},
		"role.inspector":    {"执法人员", "Inspector"},
		"role.business":     {"市场主体", "Business"},
		"role.witness":      {"见证人（司法局）", "Witness (justice bureau)"},
		"lang.switch":       {"English", "中文"},

		// A signed-in write or the login form posted from another site (web.CheckOrigin).
		"error.cross_origin": {"请求来自其他网站，已拒绝：登录后的提交只能来自本站页面。请回到本站页面重试。",
			"The request came from another site and was refused: signed-in submissions must come from this site's own pages. Go back to the page and try again."},
	})
}
