package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"inspectonce/domain"
)

// Browser sessions: the cookie holds a random session id, the table its
// SHA-256, the token it stands for and its deadlines. A session dies at its
// absolute deadline, after Idle without a request, at logout
// (DeleteSession) and with its token (RevokeToken).

// SessionTouchEvery is how stale last_seen_at may get before a request moves
// it forward: a write per minute per session, not one per request. The idle
// deadline is therefore exact to within this.
const SessionTouchEvery = time.Minute

// sessionIDLen is the length of an encoded session id (32 random bytes).
var sessionIDLen = base64.RawURLEncoding.EncodedLen(32)

// SessionTimes are a session's lifetimes.
type SessionTimes struct {
	// Idle ends a session that has seen no request for this long.
	Idle time.Duration
	// Absolute ends a session this long after sign-in, however busy.
	Absolute time.Duration
}

// CreateSession starts a session for the token tokenID at now and returns
// its id, which only the cookie keeps. Expired sessions of everyone are
// purged on the way: sign-ins are rare, so this bounds the table without a
// job of its own.
func (s *Store) CreateSession(ctx context.Context, tokenID int64, now time.Time, t SessionTimes) (string, error) {
	if t.Idle <= 0 || t.Absolute <= 0 {
		return "", fmt.Errorf("session lifetimes %+v: both must be positive", t)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	now = now.UTC()
	if _, err := s.PurgeSessions(ctx, now, t.Idle); err != nil {
		return "", err
	}
	// gorm spreads a []byte placed right after "(" as a list: the hash is
	// not the first value.
	err := s.db.WithContext(ctx).Exec(`INSERT INTO sessions (token_id, id_hash, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, tokenID, hashToken(id), now, now, now.Add(t.Absolute)).Error
	if err != nil {
		return "", translate(err, "session")
	}
	return id, nil
}

// SessionPrincipal finds the principal of a live session at now: one whose
// token is not revoked, before its absolute deadline and seen within idle.
// Anything else is domain.ErrUnauthenticated (and a dead session is deleted).
func (s *Store) SessionPrincipal(ctx context.Context, id string, now time.Time, idle time.Duration) (domain.Principal, error) {
	if len(id) != sessionIDLen {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	var row struct {
		SessionID    int64
		LastSeenAt   time.Time
		ExpiresAt    time.Time
		ID           int64
		Name         string
		Role         string
		Scope        string
		DepartmentID *int64
	}
	db := s.db.WithContext(ctx)
	err := db.Raw(`
		SELECT s.id AS session_id, s.last_seen_at, s.expires_at,
		       t.id, t.name, t.role, t.scope, d.id AS department_id
		FROM sessions s
		JOIN api_tokens t ON t.id = s.token_id
		LEFT JOIN departments d ON t.role = 'planner' AND d.code = t.scope
		WHERE s.id_hash = ? AND t.revoked_at IS NULL`, hashToken(id)).Scan(&row).Error
	if err != nil {
		return domain.Principal{}, fmt.Errorf("session: %w", err)
	}
	if row.SessionID == 0 {
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	if !now.Before(row.ExpiresAt) || !now.Before(row.LastSeenAt.Add(idle)) {
		if err := db.Exec(`DELETE FROM sessions WHERE id = ?`, row.SessionID).Error; err != nil {
			return domain.Principal{}, fmt.Errorf("delete expired session: %w", err)
		}
		return domain.Principal{}, domain.ErrUnauthenticated
	}
	if now.Sub(row.LastSeenAt) >= SessionTouchEvery {
		// The condition makes concurrent requests of one page write once.
		if err := db.Exec(`UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`,
			now.UTC(), row.SessionID, now.UTC()).Error; err != nil {
			return domain.Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	p := domain.Principal{TokenID: row.ID, Name: row.Name, Role: domain.Role(row.Role), Scope: row.Scope}
	if row.DepartmentID != nil {
		p.DepartmentID = *row.DepartmentID
	}
	return p, nil
}

// DeleteSession ends a session (logout). An unknown id is not an error: the
// outcome, no such session, is the same.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if len(id) != sessionIDLen {
		return nil
	}
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM sessions WHERE id_hash = ?`, hashToken(id)).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PurgeSessions deletes every session past either deadline at now and says
// how many.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	now = now.UTC()
	res := s.db.WithContext(ctx).Exec(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`, now, now.Add(-idle))
	if res.Error != nil {
		return 0, fmt.Errorf("purge sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
