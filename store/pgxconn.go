package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// withPgx runs fn on a pgx connection of the pool, for the hot reads (issue
// 20): pgx prepares each statement once per connection and caches it, a
// batch sends several in one round trip, and rows are scanned by hand
// rather than through gorm's reflection.
func (s *Store) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("hot reads need the pgx driver, the pool uses %T", dc)
		}
		return fn(c.Conn())
	})
}
