package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestContactScopeEvaluatedOnce: the contact rule of a reader other than the
// admin is evaluated once per business, not once for each of the three
// contact columns: its plan holds each EXISTS of the rule once (a planner's
// rule has two: visits of its department's tasks, demands naming the
// business), where the subquery pulled up into the columns held six.
func TestContactScopeEvaluatedOnce(t *testing.T) {
	_, dsn := storetest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range []struct {
		name    string
		viewer  domain.Principal
		subplan int
	}{
		{"planner", domain.Principal{Role: domain.RolePlanner, Scope: "SCJG", DepartmentID: 1}, 2},
		{"inspector", domain.Principal{Role: domain.RoleInspector, Scope: "7"}, 1},
		{"leader", domain.Principal{Role: domain.RoleTeamLeader, Scope: "3"}, 1},
	} {
		q, args := store.ContactListSQL(c.viewer)
		var plan strings.Builder
		rows, err := conn.Query(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var line string
		if _, err := pgx.ForEachRow(rows, []any{&line}, func() error { plan.WriteString(line + "\n"); return nil }); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(plan.String(), "SubPlan") + strings.Count(plan.String(), "Semi Join"); n > c.subplan {
			t.Errorf("%s: the rule is evaluated %d times a row, want %d:\n%s", c.name, n, c.subplan, plan.String())
		}
	}
}
