// Package store owns every SQL statement of InspectOnce: registries, demands,
// tokens, the audit log and imports, on PostgreSQL through gorm.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"inspectonce/domain"
)

// Store is the PostgreSQL storage of one process.
type Store struct {
	db  *gorm.DB
	sql *sql.DB
	// codeKey caches the visit-code signing key (visitcodes.go).
	codeKey keyCache
	// url is the database's, for the token listener's own connection.
	url string
	// tokens caches checked tokens (tokencache.go).
	tokens *tokenCache
	// scans records code scans in batches (scanbatch.go).
	scans *scanRecorder
	// reads caches schedules and code checks (readcache.go); nil when off.
	reads *readCache
}

// Options tune the connection pool.
type Options struct {
	MaxOpenConns int
	MaxIdleConns int
	// TokenCacheTTL bounds how long a checked token is trusted without
	// PostgreSQL (DefaultTokenCacheTTL when 0).
	TokenCacheTTL time.Duration
	// ReadCacheSize bounds the calendar's read cache (readcache.go):
	// DefaultReadCacheSize when 0, no cache when negative.
	ReadCacheSize int
}

// Open connects to PostgreSQL at url. It does not fail when the database is not
// up yet: the pool connects lazily and Ping reports readiness.
func Open(url string, opts Options) (*Store, error) {
	db, err := gorm.Open(postgres.Open(url), &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		// Start even while Postgres is down: /readyz says so until it is up.
		DisableAutomaticPing: true,
		Logger:               logger.Discard,
		NowFunc:              func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if opts.MaxOpenConns > 0 {
		sqlDB.SetMaxOpenConns(opts.MaxOpenConns)
	}
	if opts.MaxIdleConns > 0 {
		sqlDB.SetMaxIdleConns(opts.MaxIdleConns)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	st := &Store{db: db, sql: sqlDB, url: url, tokens: newTokenCache(opts.TokenCacheTTL),
		reads: newReadCache(opts.ReadCacheSize)}
	st.scans = newScanRecorder(st)
	return st, nil
}

// Warm opens n connections of the pool at once and checks each, then leaves
// them idle in the pool (database.warm_conns), so the first requests after a
// start do not each pay for connecting and authenticating. n is capped by the
// pool's idle size, past which the extra connections would be closed again.
func (s *Store) Warm(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := s.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("warm the pool: %w", err)
		}
		conns = append(conns, c)
		if err := c.PingContext(ctx); err != nil {
			return fmt.Errorf("warm the pool: %w", err)
		}
	}
	return nil
}

// Close stops the token listener, writes the scans still buffered and closes
// the pool.
func (s *Store) Close() error {
	s.tokens.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.scans.stop(ctx)
	return s.sql.Close()
}

// SQL is the underlying pool, for migrations.
func (s *Store) SQL() *sql.DB { return s.sql }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.sql.PingContext(ctx)
}

// translate maps driver and gorm errors to domain errors, keeping context.
// gorm translates only some statements' errors (not those of Raw(...).Scan),
// so PostgreSQL's own codes are read here too.
func translate(err error, what string) error {
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case Unavailable(err):
		return fmt.Errorf("%s: %w: %w", what, domain.ErrUnavailable, err)
	case errors.As(err, &pe) && pe.Code == "23505":
		return fmt.Errorf("%s already exists: %w", what, domain.ErrConflict)
	case errors.As(err, &pe) && pe.Code == "23503":
		return fmt.Errorf("%s refers to something that does not exist, or is still referenced: %w", what, domain.ErrConflict)
	case errors.As(err, &pe) && pe.Code == "23514":
		return fmt.Errorf("%s breaks a rule of the registry: %w", what, domain.ErrConflict)
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s already exists: %w", what, domain.ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s refers to something that does not exist, or is still referenced: %w", what, domain.ErrConflict)
	case errors.Is(err, gorm.ErrCheckConstraintViolated):
		return fmt.Errorf("%s breaks a rule of the registry: %w", what, domain.ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Unavailable reports whether err says PostgreSQL cannot be reached or is not
// serving now (down, starting, shutting down, out of connections, or the
// connection broke), rather than that the request was wrong: the API answers
// such errors 503 with Retry-After (domain.ErrUnavailable).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: admin_shutdown,
		// crash_shutdown, cannot_connect_now; 53300: too_many_connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" ||
			pe.Code == "57P03" || pe.Code == "53300"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}

func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// Page asks for one page of a list: at most Limit rows after the cursor.
type Page struct {
	Limit int
	After string
}

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// ExecForTest runs a raw statement; tests use it to simulate tampering.
func (s *Store) ExecForTest(ctx context.Context, sql string) error {
	return s.db.WithContext(ctx).Exec(sql).Error
}
