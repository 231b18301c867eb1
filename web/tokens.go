package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// The tokens page (issue 18, point 2): a coordinator lists, issues and
// revokes access tokens, as POST /api/v1/tokens and DELETE
// /api/v1/tokens/{id} do (same store calls, audited token.create and
// token.revoke).

// tokensShown bounds the list; active tokens come first.
const tokensShown = 500

// maxTokenName bounds a token's name, as the API does.
const maxTokenName = 200

func (p *Pages) tokenRoutes(g *echo.Group) {
	g.GET("/admin/tokens", p.page(p.tokensPage))
	g.POST("/admin/tokens", p.page(p.createTokenForm))
	g.POST("/admin/tokens/:id/revoke", p.page(p.revokeTokenForm))
}

// tokenRoles are the roles a token may have, in the form's order.
var tokenRoles = []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader, domain.RoleInspector, domain.RoleBusiness, domain.RoleWitness}

type tokensView struct {
	Tokens []store.TokenInfo
	// Current is the viewer's own token, marked in the list.
	Current int64
	Roles   []domain.Role
	// The create form: its values and errors by field.
	Name, Role, Scope string
	Errors            map[string]string
	// Created is the token just issued, whose secret is shown this once.
	Created *createdToken
}

type createdToken struct {
	ID     int64
	Name   string
	Secret string
}

// tokensPage is GET /admin/tokens.
func (p *Pages) tokensPage(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	return p.renderTokens(c, http.StatusOK, tokensView{Current: v.TokenID, Role: string(domain.RolePlanner)})
}

func (p *Pages) renderTokens(c echo.Context, status int, tv tokensView) error {
	list, err := p.store.ListTokens(c.Request().Context(), tokensShown)
	if err != nil {
		return err
	}
	tv.Tokens, tv.Roles = list, tokenRoles
	// The page may carry a secret: no cache may keep it.
	c.Response().Header().Set("Cache-Control", "no-store")
	return p.render(c, status, "tokens", "tok.title", tv)
}

// createTokenForm is POST /admin/tokens: it issues a token and shows its
// secret once; a refused form is the page again with the errors at their
// fields, in the page's language.
func (p *Pages) createTokenForm(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	lang := negotiate(c.Request())
	tv := tokensView{Current: v.TokenID, Name: strings.TrimSpace(c.FormValue("name")), Role: c.FormValue("role"),
		Scope: strings.TrimSpace(c.FormValue("scope")), Errors: map[string]string{}}
	role := domain.Role(tv.Role)
	switch n := utf8.RuneCountInString(tv.Name); {
	case n == 0:
		tv.Errors["name"] = lang.T("tok.err.name_required")
	case n > maxTokenName || strings.ContainsFunc(tv.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		tv.Errors["name"] = lang.T("tok.err.name", maxTokenName)
	}
	if !role.Valid() {
		tv.Errors["role"] = lang.T("tok.err.role")
	} else if role != domain.RoleAdmin && role != domain.RoleWitness && tv.Scope == "" {
		tv.Errors["scope"] = lang.T("tok.err.scope." + tv.Role)
	}
	if len(tv.Errors) == 0 {
		secret, id, err := p.store.CreateToken(c.Request().Context(), v.Actor(), tv.Name, role, tv.Scope)
		var ve *domain.ValidationError
		switch {
		case errors.As(err, &ve):
			tv.Errors["scope"] = lang.T("tok.err.scope." + tv.Role)
		case err != nil:
			return err
		default:
			tv.Created = &createdToken{ID: id, Name: tv.Name, Secret: secret}
			tv.Name, tv.Scope = "", ""
			return p.renderTokens(c, http.StatusCreated, tv)
		}
	}
	return p.renderTokens(c, http.StatusUnprocessableEntity, tv)
}

// revokeTokenForm is POST /admin/tokens/{id}/revoke.
func (p *Pages) revokeTokenForm(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	if err := p.store.RevokeToken(c.Request().Context(), v.Actor(), id); err != nil {
		return err
	}
	if id == v.TokenID {
		// The viewer revoked the token it signed in with: its session is gone.
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/tokens#token-"+strconv.FormatInt(id, 10))
}

func init() {
	addMessages(map[string][2]string{
		"nav.tokens":                {"访问令牌", "Tokens"},
		"tok.title":                 {"访问令牌", "Access tokens"},
		"tok.help":                  {"每位使用者持一个令牌登录；令牌只在签发时显示一次，系统只保存其摘要。吊销后立即失效，已登录的会话随之结束。", "Each person signs in with a token of their own; a token is shown once, when it is issued, and only its hash is kept. Revoking it stops it at once and ends its sessions."},
		"tok.create":                {"签发令牌", "Issue a token"},
		"tok.name":                  {"名称（使用者）", "Name (who holds it)"},
		"tok.role":                  {"角色", "Role"},
		"tok.scope":                 {"范围", "Scope"},
		"tok.scope_help":            {"部门计划员填部门代码，队长填执法队编号，执法人员填人员编号，市场主体填统一社会信用代码，管理员和见证人留空。", "A planner's department code, a team leader's team id, an inspector's id, a business's USCC; empty for an admin or a witness."},
		"tok.submit":                {"签发", "Issue"},
		"tok.created":               {"令牌已签发。请立即复制并交给“%s”：离开本页后将无法再次查看。", "The token is issued. Copy it now and hand it to “%s”: it cannot be seen again once you leave this page."},
		"tok.list":                  {"已签发的令牌", "Tokens issued"},
		"tok.none":                  {"还没有令牌。", "No token yet."},
		"tok.id":                    {"编号", "No."},
		"tok.created_at":            {"签发", "Issued"},
		"tok.last_used":             {"最近使用（网页登录）", "Last used (signed-in pages)"},
		"tok.never":                 {"—", "—"},
		"tok.status":                {"状态", "Status"},
		"tok.active":                {"有效", "active"},
		"tok.revoked":               {"已吊销 %s", "revoked %s"},
		"tok.current":               {"（当前登录）", "(this session)"},
		"tok.revoke":                {"吊销", "Revoke"},
		"tok.revoke_self":           {"吊销（将退出登录）", "Revoke (signs you out)"},
		"tok.err.name_required":     {"请填写名称。", "Give a name."},
		"tok.err.name":              {"名称最多 %d 个字，且不能含控制字符。", "A name holds at most %d characters and no control characters."},
		"tok.err.role":              {"请选择角色。", "Choose a role."},
		"tok.err.scope.admin":       {"管理员令牌没有范围，请留空。", "An admin token has no scope: leave it empty."},
		"tok.err.scope.planner":     {"请填写已登记的部门代码。", "Give the code of a registered department."},
		"tok.err.scope.team_leader": {"请填写已登记的执法队编号。", "Give the id of a registered team."},
		"tok.err.scope.inspector":   {"请填写已登记的执法人员编号。", "Give the id of a registered inspector."},
		"tok.err.scope.business":    {"请填写已登记市场主体的统一社会信用代码。", "Give the USCC of a registered business."},
		"tok.err.scope.witness":     {"见证人令牌没有范围，请留空。", "A witness token has no scope: leave it empty."},
	})
}
