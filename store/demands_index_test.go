package store_test

import (
	"context"
	"strings"
	"testing"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestMissingBusinessesUsesTheIndex: checking a demand's businesses looks
// each code up in the businesses' primary key, whatever the registry's
// size. Compared as text, the codes made PostgreSQL read the whole registry
// on every submission (issue 20).
func TestMissingBusinessesUsesTheIndex(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.New(t)
	for _, q := range []string{
		`INSERT INTO regions (code, name, level) VALUES ('R', '县', 'county')`,
		// 5,000 businesses with valid-looking codes: the planner then
		// prefers an index to a scan if the statement lets it.
		`INSERT INTO businesses (uscc, name, region_id, industry_code, lat, lng, risk_code, list_kind)
			SELECT '91330922' || lpad(g::text, 10, '0'), 'b' || g, (SELECT id FROM regions), 'H621', 30, 122, 'green', 'random'
			FROM generate_series(1, 5000) g`,
		`ANALYZE businesses`,
	} {
		if err := st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := st.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The plan a prepared statement settles on (pgx prepares it).
	if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	prepared := strings.ReplaceAll(store.MissingBusinessesSQL, "$1::text[]", "$1")
	if _, err := conn.ExecContext(ctx, `PREPARE missing (text[]) AS `+prepared); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE missing('{913309220000000001,913309220000000002}')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan.String(), "Seq Scan on businesses") || !strings.Contains(plan.String(), "businesses_pkey") {
		t.Errorf("the missing-businesses check does not look codes up in businesses_pkey:\n%s", plan.String())
	}
	missing, err := st.MissingBusinesses(ctx, []string{"913309220000000002", "91330922000000900X", "91330922000000800X"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(missing, ",") != "91330922000000800X,91330922000000900X" {
		t.Errorf("missing %v, want the two unregistered codes in order", missing)
	}
}
