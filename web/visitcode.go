package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/store"
	"inspectonce/visitcode"
)

// The visit code page (行政行为码, 扫码入企): a business scans the QR code on its
// notice, or on the inspectors' papers at the door, and sees whether the
// visit is real: its date, departments, items with their legal basis and the
// inspectors' names and certificate numbers. The page is public (no login:
// the code is the proof), every scan of a code this service signed is
// recorded (others only counted per hour: anyone can make them up), and a
// code that is not a current code of a published visit says so without
// telling anything else. Both routes are rate limited per client address
// (api: http.rate_limits.code_page).

func init() {
	addMessages(map[string][2]string{
		"vcode.title":         {"行政检查核验", "Inspection check"},
		"vcode.valid":         {"这是一次已公布计划中的行政检查。请核对执法人员的姓名和执法证号。", "This is an inspection of a published plan. Check the inspectors' names and certificate numbers."},
		"vcode.revoked":       {"此检查码已作废。请向执法人员索取新的检查码，或致电综合执法办核实。", "This inspection code has been revoked. Ask the inspectors for the new code, or call the enforcement office to check."},
		"vcode.revoked_at":    {"作废时间：%s", "Revoked on %s"},
		"vcode.not_published": {"此检查码对应的检查不在已公布的检查计划中，不应据此入企检查。", "The inspection of this code is not in a published plan: nobody should inspect on its strength."},
		"vcode.unknown":       {"无法识别此检查码：它不是本系统签发的有效检查码。请勿配合，并向综合执法办核实。", "This code is not recognised: it is not a code this system issued. Do not rely on it; check with the enforcement office."},
		"vcode.date":          {"检查日期", "Date"},
		"vcode.moved_from":    {"（原定 %s）", " (first set for %s)"},
		"vcode.business":      {"检查对象", "Business"},
		"vcode.team":          {"执法队伍", "Team"},
		"vcode.departments":   {"检查部门", "Departments"},
		"vcode.items":         {"检查事项及依据", "Items and legal basis"},
		"vcode.no_basis":      {"（未登记依据）", "(no legal basis registered)"},
		"vcode.inspectors":    {"执法人员", "Inspectors"},
		"vcode.cert":          {"执法证号", "Certificate no."},
		"vcode.role.lead":     {"主检", "lead"},
		"vcode.role.member":   {"成员", "member"},
		"vcode.code":          {"检查码", "Inspection code"},
		"vcode.scan":          {"扫码核验", "Scan to check"},
	})
}

// visitCodePublicRoutes adds the public code page and its QR image.
func (p *Pages) visitCodePublicRoutes(e *echo.Echo) {
	e.GET("/v/:code", p.page(p.visitCodePage))
	e.GET("/v/:code/qr.png", p.page(p.visitCodeQR))
}

// visitCodeData is what templates/visit_code.html shows.
type visitCodeData struct {
	Check store.CodeCheck
	Code  string
}

// codeStatus is the HTTP status of each outcome: a revoked code is gone for
// good; a code naming no published visit, or nothing at all, is not found.
var codeStatus = map[string]int{
	store.CodeValid:        http.StatusOK,
	store.CodeRevoked:      http.StatusGone,
	store.CodeNotPublished: http.StatusNotFound,
	store.CodeUnknown:      http.StatusNotFound,
}

// privateAnswer keeps the code out of caches, search engines and the
// Referer of any link the page has.
func privateAnswer(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// visitCodePage answers GET /v/{code}.
func (p *Pages) visitCodePage(c echo.Context) error {
	code := c.Param("code")
	check, err := p.store.VerifyVisitCode(c.Request().Context(), code, c.Request().UserAgent())
	if err != nil {
		return err
	}
	privateAnswer(c)
	data := visitCodeData{Check: check}
	if check.Outcome == store.CodeValid {
		data.Code = code
	}
	return p.renderMemo(c, codeStatus[check.Outcome], "visit_code", "vcode.title", data, &p.codePages)
}

// visitCodeQR answers GET /v/{code}/qr.png: the QR image of the code's page,
// for any code this service signed (a revoked one too: its page says so).
func (p *Pages) visitCodeQR(c echo.Context) error {
	code := c.Param("code")
	if _, err := p.store.ParseVisitCode(c.Request().Context(), code); err != nil {
		return err
	}
	png, err := visitcode.QRPNG(p.VisitCodeURL(code))
	if err != nil {
		return err
	}
	privateAnswer(c)
	return c.Blob(http.StatusOK, "image/png", png)
}

// VisitCodeURL is the absolute URL of a code's page, as its QR image holds it.
func (p *Pages) VisitCodeURL(code string) string {
	base := "http://localhost:8080"
	if p.cfg != nil && p.cfg.HTTP.PublicBaseURL != "" {
		base = p.cfg.HTTP.PublicBaseURL
	}
	return CodeURL(base, code)
}

// CodeURL joins the public base URL and a code into the code page's URL.
func CodeURL(base, code string) string {
	return strings.TrimRight(base, "/") + "/v/" + code
}
