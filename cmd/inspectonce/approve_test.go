package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestPlanApproveCommand: with the default approval step (法制审核) a draft
// made on the command line is refused publication naming the step; `plan
// approve` without an opinion is refused, with one it records the decision,
// and the draft then publishes.
func TestPlanApproveCommand(t *testing.T) {
	dsn := storetest.NewURL(t)
	bin := buildBinary(t)
	env := append(os.Environ(), "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL="+os.Getenv(storetest.EnvRedisURL))
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
	var made planOutput
	if err := json.Unmarshal([]byte(run(true, "plan", "--horizon", "2w", "--json")), &made); err != nil {
		t.Fatal(err)
	}
	if made.PlanID == 0 || made.Status != store.PlanDraft {
		t.Fatalf("draft: %+v", made)
	}
	id := strconv.FormatInt(made.PlanID, 10)
	if out := run(false, "plan", "publish", id); !strings.Contains(out, "法制审核") || !strings.Contains(out, "not approved") || !strings.Contains(out, "inspectonce plan approve --id "+id) {
		t.Fatalf("publish before approval:\n%s", out)
	}
	if out := run(false, "plan", "approve", "--id", id, "--step", "法制审核"); !strings.Contains(out, "opinion") {
		t.Fatalf("approve without an opinion:\n%s", out)
	}
	if out := run(true, "plan", "approve", "--id", id, "--step", "法制审核", "--opinion", "同意发布"); !strings.Contains(out, "approved by cli:") ||
		!strings.Contains(out, "plan publish "+id) {
		t.Fatalf("approve:\n%s", out)
	}
	var pub planOutput
	if err := json.Unmarshal([]byte(run(true, "plan", "publish", id, "--json")), &pub); err != nil || pub.Status != store.PlanPublished {
		t.Fatalf("publish after approval: %+v %v", pub, err)
	}
}
