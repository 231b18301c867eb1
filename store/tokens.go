package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"inspectonce/domain"
	"inspectonce/uscc"
)

// TokenPrefix marks InspectOnce tokens so that leaked ones are easy to grep for.
const TokenPrefix = "io_"

type tokenRow struct {
	ID        int64
	Name      string
	Role      string
	Scope     string
	TokenHash []byte
	CreatedBy string
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (tokenRow) TableName() string { return "api_tokens" }

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken issues a new opaque token for role and scope, stores its hash and
// returns the token, which is shown once and never again.
func (s *Store) CreateToken(ctx context.Context, actor, name string, role domain.Role, scope string) (string, int64, error) {
	if err := s.checkScope(ctx, role, scope); err != nil {
		return "", 0, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", 0, fmt.Errorf("token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	row := tokenRow{Name: name, Role: string(role), Scope: scope, TokenHash: hashToken(token), CreatedBy: actor}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "token")
		}
		return appendAudit(tx, actor, "token.create", "token/"+strconv.FormatInt(row.ID, 10), OutcomeOK,
			map[string]string{"role": string(role), "scope": scope, "name": name})
	})
	if err != nil {
		return "", 0, err
	}
	return token, row.ID, nil
}

// checkScope makes sure a token's scope names something that exists.
func (s *Store) checkScope(ctx context.Context, role domain.Role, scope string) error {
	db := s.db.WithContext(ctx)
	var n int64
	switch role {
	case domain.RoleAdmin, domain.RoleWitness:
		if scope != "" {
			return domain.Invalid("scope", "an %s token has no scope", role)
		}
		return nil
	case domain.RolePlanner:
		db.Table("departments").Where("code = ?", scope).Count(&n)
		if n == 0 {
			return domain.Invalid("scope", "planner scope must be an existing department code, got %q", scope)
		}
	case domain.RoleTeamLeader:
		id, err := strconv.ParseInt(scope, 10, 64)
		if err == nil {
			db.Table("teams").Where("id = ?", id).Count(&n)
		}
		if n == 0 {
			return domain.Invalid("scope", "team_leader scope must be an existing team id, got %q", scope)
		}
	case domain.RoleInspector:
		id, err := strconv.ParseInt(scope, 10, 64)
		if err == nil {
			db.Table("inspectors").Where("id = ?", id).Count(&n)
		}
		if n == 0 {
			return domain.Invalid("scope", "inspector scope must be an existing inspector id, got %q", scope)
		}
	case domain.RoleBusiness:
		if err := uscc.Check(scope); err != nil {
			return domain.Invalid("scope", "%v", err)
		}
		db.Table("businesses").Where("uscc = ?", scope).Count(&n)
		if n == 0 {
			return domain.Invalid("scope", "business %s is not registered", scope)
		}
	default:
		return domain.Invalid("role", "must be one of admin, planner, team_leader, inspector, business, witness")
	}
	return nil
}

// Authenticate finds the principal holding token: from this replica's
// token cache when it checked the token less than the cache's TTL ago and no
// revocation was announced since (tokencache.go), else from PostgreSQL.
func (s *Store) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	s.tokens.startListener(s.url)
	hash := sha256.Sum256([]byte(token))
	p, gen, ok := s.tokens.get(hash)
	if ok {
		return p, nil
	}
	p, err := s.authenticateDB(ctx, hash)
	if err != nil {
		return domain.Principal{}, err
	}
	s.tokens.put(hash, p, gen)
	return p, nil
}

// authenticateDB looks a token's hash up in PostgreSQL: one prepared query.
func (s *Store) authenticateDB(ctx context.Context, hash [32]byte) (domain.Principal, error) {
	var p domain.Principal
	var role string
	var dept *int64
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT t.id, t.name, t.role, t.scope, d.id
			FROM api_tokens t LEFT JOIN departments d ON t.role = 'planner' AND d.code = t.scope
			WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hash[:]).Scan(&p.TokenID, &p.Name, &role, &p.Scope, &dept)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	if err != nil {
		return domain.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	p.Role = domain.Role(role)
	if dept != nil {
		p.DepartmentID = *dept
	}
	return p, nil
}

// RevokeToken stops a token from working, and ends the browser sessions
// signed in with it.
func (s *Store) RevokeToken(ctx context.Context, actor string, id int64) error {
	// Other replicas hear of it through the trigger's NOTIFY (migration
	// 00026); this one forgets at once, once the revocation is committed.
	defer s.tokens.purge()
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", time.Now().UTC())
		if res.Error != nil {
			return translate(res.Error, "token")
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("token %d: %w", id, domain.ErrNotFound)
		}
		// SessionPrincipal refuses a revoked token's sessions anyway; this
		// keeps them from lingering in the table.
		if err := tx.Exec(`DELETE FROM sessions WHERE token_id = ?`, id).Error; err != nil {
			return fmt.Errorf("end the sessions of token %d: %w", id, err)
		}
		return appendAudit(tx, actor, "token.revoke", "token/"+strconv.FormatInt(id, 10), OutcomeOK, nil)
	})
}
