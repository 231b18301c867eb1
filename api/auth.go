package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
)

const principalKey = "principal"

// authenticate resolves the bearer token to a principal or answers 401.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return domain.ErrUnauthenticated
		}
		p, err := s.store.Authenticate(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

func principal(c echo.Context) domain.Principal {
	p, _ := c.Get(principalKey).(domain.Principal)
	return p
}

// allow returns the principal if its role is one of roles, else ErrForbidden.
func allow(c echo.Context, what string, roles ...domain.Role) (domain.Principal, error) {
	p := principal(c)
	if !slices.Contains(roles, p.Role) {
		return p, forbidden(p.Role, what)
	}
	return p, nil
}

// Role sets used by more than one route.
var (
	adminOnly   = []domain.Role{domain.RoleAdmin}
	staffRoles  = []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader, domain.RoleInspector}
	demandRoles = []domain.Role{domain.RoleAdmin, domain.RolePlanner}
)

func (s *Server) me(c echo.Context) error {
	p := principal(c)
	return c.JSON(http.StatusOK, map[string]any{"token_id": p.TokenID, "name": p.Name, "role": p.Role, "scope": p.Scope})
}
