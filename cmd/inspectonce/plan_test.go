package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestPlanCommands runs the real binary on the demo county: plan --json,
// plan --publish, draw verify (all match, then a tampered draw is reported
// and the command fails), and bad requests.
func TestPlanCommands(t *testing.T) {
	dsn := storetest.NewURL(t)
	bin := buildBinary(t)
	env := append(os.Environ(), "INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL="+os.Getenv(storetest.EnvRedisURL))
	run := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("inspectonce %s: err %v, want ok=%v\n%s", strings.Join(args, " "), err, wantOK, out)
		}
		return string(out)
	}
	run(true, "migrate", "up")
	run(true, "seed")

	var dry, made planOutput
	if err := json.Unmarshal([]byte(run(true, "plan", "--horizon", "28d", "--dry-run", "--json")), &dry); err != nil {
		t.Fatal(err)
	}
	if dry.PlanID != 0 || dry.Status != "dry-run" || dry.Visits == 0 || dry.Visits >= dry.NaiveVisits {
		t.Fatalf("dry run: %+v", dry)
	}
	out := run(true, "plan", "--horizon", "4w", "--publish", "--json")
	if err := json.Unmarshal([]byte(out), &made); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, key := range []string{`"plan_id"`, `"naive_visits"`, `"lower_bound"`, `"visits"`, `"joint_visit_rate"`, `"unplaced"`, `"unplaced_by_reason"`, `"busiest_day"`, `"busiest_day_share"`, `"team_load"`, `"peak_minutes"`, `"mean_minutes"`} {
		if !strings.Contains(out, key) {
			t.Errorf("plan --json lacks %s:\n%s", key, out)
		}
	}
	if made.PlanID == 0 || made.Status != store.PlanPublished || made.Seed == nil || made.Visits >= made.NaiveVisits {
		t.Fatalf("published plan: %+v", made)
	}
	t.Logf("demo county: naive %d, lower bound %d, visits %d, joint-visit rate %.2f, unplaced %d",
		made.NaiveVisits, made.LowerBound, made.Visits, made.JointVisitRate, made.Unplaced)
	if made.BusiestDay == "" || made.BusiestDayShare <= 0 || made.BusiestDayShare > 0.12 || len(made.TeamLoad) == 0 {
		t.Errorf("spread of the published plan: busiest %q at %.3f, %d team loads", made.BusiestDay, made.BusiestDayShare, len(made.TeamLoad))
	}
	if human := run(true, "plan", "show", strconv.FormatInt(made.PlanID, 10)); !strings.Contains(human, "naive visits") ||
		!strings.Contains(human, "% of the visits)") || !strings.Contains(human, "min a working day") {
		t.Errorf("plan show:\n%s", human)
	}

	id := strconv.FormatInt(made.PlanID, 10)
	verified := run(true, "draw", "verify", "--plan", id)
	if strings.Contains(verified, "MISMATCH") || !strings.Contains(verified, "all ") {
		t.Fatalf("draw verify of an untouched plan:\n%s", verified)
	}
	st, err := store.Open(dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, q := range []string{
		"ALTER TABLE plan_draws DISABLE TRIGGER plan_draws_frozen",
		"UPDATE plan_draws SET result = jsonb_build_array(result->1, result->0) || (result - 0 - 0) WHERE plan_id = " + id +
			" AND seq = (SELECT min(seq) FROM plan_draws WHERE plan_id = " + id + " AND kind = 'targets' AND jsonb_array_length(result) > 1)",
	} {
		if err := st.ExecForTest(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	tampered := run(false, "draw", "verify", "--plan", id)
	if strings.Count(tampered, "MISMATCH") < 2 { // the draw, and the records pinned by the audit log
		t.Fatalf("tampered draw not reported:\n%s", tampered)
	}

	// demand place: a usage error without an id; an unknown demand is refused.
	if out := run(false, "demand", "place"); !strings.Contains(out, "demand needs: place ID") {
		t.Errorf("demand place without id: %s", out)
	}
	if out := run(false, "demand", "place", "999999"); !strings.Contains(out, "not found") {
		t.Errorf("demand place 999999: %s", out)
	}

	for _, bad := range [][]string{
		{"plan", "--horizon", "0d"},
		{"plan", "--horizon", "200d"},
		{"plan", "--region", "999999"},
		{"plan", "--from", "2000-01-03"},
	} {
		out := run(false, bad...)
		if !strings.Contains(out, "horizon") && !strings.Contains(out, "region_ids") {
			t.Errorf("%v: %s", bad, out)
		}
	}

	// A plan with no visits (a week next year: no demand is open then) is
	// made but not published, with the reason; plan publish refuses it too,
	// and publishes it with --force.
	far := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	out = run(false, "plan", "--from", far, "--horizon", "7d", "--publish")
	m := regexp.MustCompile(`plan (\d+) was made but not published: plan/\d+ has no visits: no open demand`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "--force") {
		t.Fatalf("empty plan --publish:\n%s", out)
	}
	if out := run(false, "plan", "publish", m[1]); !strings.Contains(out, "has no visits") {
		t.Fatalf("plan publish of an empty draft:\n%s", out)
	}
	// The draft says why before anyone tries to publish it.
	if out := run(true, "plan", "show", m[1]); !strings.Contains(out, "empty (nothing_open): ") {
		t.Fatalf("plan show of an empty draft:\n%s", out)
	}
	var shown planOutput
	if err := json.Unmarshal([]byte(run(true, "plan", "show", m[1], "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Empty == nil || shown.Empty.Reason != store.EmptyNothingOpen {
		t.Fatalf("plan show --json of an empty draft: %+v", shown.Empty)
	}
	if out := run(true, "plan", "--from", far, "--horizon", "7d"); !strings.Contains(out, "empty (nothing_open): ") {
		t.Fatalf("plan of an empty horizon:\n%s", out)
	}
	var forced planOutput
	if err := json.Unmarshal([]byte(run(true, "plan", "publish", m[1], "--force", "--json")), &forced); err != nil {
		t.Fatal(err)
	}
	if forced.Status != store.PlanPublished || forced.Visits != 0 {
		t.Fatalf("forced: %+v", forced)
	}
	if out := run(false, "plan", "show", m[1], "--force"); !strings.Contains(out, "--force goes with publish") {
		t.Errorf("show --force: %s", out)
	}
}
