package store

import (
	"context"
	"fmt"
	"time"
)

// TokenInfo is an issued token as the tokens page lists it: never its secret
// (only its hash is stored).
type TokenInfo struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Scope     string     `json:"scope"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	// LastUsedAt is the last browser sign-in's activity with the token; nil
	// when no session of it is kept (bearer requests are not tracked).
	LastUsedAt *time.Time `json:"last_used_at"`
}

// ListTokens lists issued tokens, the active ones first, newest first, at
// most limit (DefaultLimit when ≤ 0, MaxLimit at most).
func (s *Store) ListTokens(ctx context.Context, limit int) ([]TokenInfo, error) {
	var out []TokenInfo
	err := s.db.WithContext(ctx).Raw(`SELECT t.id, t.name, t.role, t.scope, t.created_by, t.created_at, t.revoked_at,
  (SELECT max(x.last_seen_at) FROM sessions x WHERE x.token_id = t.id) AS last_used_at
FROM api_tokens t ORDER BY (t.revoked_at IS NOT NULL), t.id DESC LIMIT ?`, Page{Limit: limit}.limit()).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}
