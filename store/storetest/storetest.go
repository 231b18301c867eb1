// Package storetest gives integration tests a fresh, migrated PostgreSQL database
// on the server named by INSPECTONCE_TEST_DATABASE_URL (started by scripts/test.sh).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"inspectonce/store"
)

// EnvDatabaseURL names the server tests create their databases on.
const EnvDatabaseURL = "INSPECTONCE_TEST_DATABASE_URL"

// EnvRedisURL names the Redis tests may use.
const EnvRedisURL = "INSPECTONCE_TEST_REDIS_URL"

// RequireServers skips the test when the test servers are not configured, unless
// INSPECTONCE_TEST_REQUIRE=1, in which case it fails: CI must never skip them.
func RequireServers(tb testing.TB) {
	tb.Helper()
	if os.Getenv(EnvDatabaseURL) == "" || os.Getenv(EnvRedisURL) == "" {
		if os.Getenv("INSPECTONCE_TEST_REQUIRE") == "1" {
			tb.Fatalf("%s and %s must be set (run make test)", EnvDatabaseURL, EnvRedisURL)
		}
		tb.Skipf("integration test: %s not set; run make test", EnvDatabaseURL)
	}
}

// NewURL creates an empty database with a random name, drops it when the test
// ends and returns its URL. It does not migrate.
func NewURL(tb testing.TB) string {
	tb.Helper()
	RequireServers(tb)
	base := os.Getenv(EnvDatabaseURL)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// New returns a store on a fresh database with every migration applied.
func New(tb testing.TB) (*store.Store, string) {
	tb.Helper()
	dsn := NewURL(tb)
	st, err := store.Open(dsn, store.Options{MaxOpenConns: 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	m, err := store.NewMigrator(st.SQL())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		tb.Fatal(fmt.Errorf("migrate test database: %w", err))
	}
	return st, dsn
}
