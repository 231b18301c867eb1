package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"inspectonce/api"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/drawcheck"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestPublicDrawVerify is issue 19's "done when": the service publishes a
// plan drawn under witness randomness, its draws close and its year ends
// (the test clock), and the outsider's verifier — `inspectonce draw verify
// --public`, with no configuration, database or token — recomputes every
// draw and accounts for every business drawn. Tampering with a frame row,
// the visits, the shift or the seed is caught and named. Before the visits
// happen no open-data route reveals them.
func TestPublicDrawVerify(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	loc := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2025, 11, 3, 10, 0, 0, 0, loc)
	var clock atomic.Pointer[time.Time]
	clock.Store(&t0)
	now := func() time.Time { return *clock.Load() }
	seeded, err := seed.LoadAt(ctx, st, t0)
	if err != nil {
		t.Fatal(err)
	}
	token := map[domain.Role]string{}
	for _, tk := range seeded.Tokens {
		token[tk.Role] = tk.Token
	}
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_PLANNING_RANDOMNESS=witness",
		// The verifier honours Retry-After; ten verifications in a row need not wait for it.
		"INSPECTONCE_HTTP_RATE_LIMITS_OPEN_DATA_RATE=1000", "INSPECTONCE_HTTP_RATE_LIMITS_OPEN_DATA_BURST=1000"})
	if err != nil {
		t.Fatal(err)
	}
	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ropt, err := redis.ParseURL(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { _ = rdb.Close() })
	var runs sync.WaitGroup
	t.Cleanup(runs.Wait)
	srv := api.New(api.Options{Store: st, Redis: redisPinger{rdb}, Config: cfg, Calendar: plans.Calendar(), Now: now,
		Logger: slog.New(slog.DiscardHandler), Planning: plans,
		Enqueue: func(_ context.Context, id int64) error {
			runs.Add(1)
			go func() {
				defer runs.Done()
				_, _ = plans.Execute(context.Background(), id)
			}()
			return nil
		}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	call := func(role domain.Role, method, path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, hs.URL+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if role != "" {
			req.Header.Set("Authorization", "Bearer "+token[role])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	waitPlan := func(id int64, until func(store.Plan) bool) store.Plan {
		t.Helper()
		for range 600 {
			code, b := call(domain.RoleAdmin, "GET", fmt.Sprintf("/api/v1/plans/%d", id), nil)
			var p store.Plan
			if code != 200 || json.Unmarshal(b, &p) != nil {
				t.Fatalf("plan %d: %d %s", id, code, b)
			}
			if until(p) {
				return p
			}
			if p.Status == store.PlanFailed {
				t.Fatalf("plan %d failed: %s", id, p.Failure)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("plan %d never got there", id)
		return store.Plan{}
	}

	from := plans.NextWorkingDay()
	code, b := call(domain.RoleAdmin, "POST", "/api/v1/plans", map[string]any{
		"from": from.Format(time.DateOnly), "to": from.AddDate(0, 0, 27).Format(time.DateOnly)})
	if code != http.StatusAccepted {
		t.Fatalf("create plan: %d %s", code, b)
	}
	var created store.Plan
	_ = json.Unmarshal(b, &created)
	id := created.ID
	waitPlan(id, func(p store.Plan) bool { return p.ProgressNote == store.ProgressNoteAwaiting })

	// The commitment is public before the value exists.
	code, b = call("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/commitment", id), nil)
	var cm store.PlanCommitment
	if code != 200 || json.Unmarshal(b, &cm) != nil || cm.Value != nil || len(cm.Draws) == 0 {
		t.Fatalf("public commitment before the value: %d %s", code, b)
	}
	if code, b = call(domain.RoleAdmin, "POST", fmt.Sprintf("/api/v1/plans/%d/randomness", id),
		map[string]string{"value": "operator picks this", "source": "admin"}); code != http.StatusForbidden {
		t.Fatalf("the operator entered the witness value: %d %s", code, b)
	}
	if code, b = call(domain.RoleWitness, "POST", fmt.Sprintf("/api/v1/plans/%d/randomness", id),
		map[string]string{"value": "司法局 2025-11-03 抽签 4 7 1 9", "source": "县司法局 王五"}); code != http.StatusAccepted {
		t.Fatalf("witness value: %d %s", code, b)
	}
	waitPlan(id, func(p store.Plan) bool { return p.Status == store.PlanDraft })
	if code, b = call(domain.RoleAdmin, "POST", fmt.Sprintf("/api/v1/plans/%d/publish", id), map[string]any{}); code != 200 {
		t.Fatalf("publish: %d %s", code, b)
	}

	// Before the visits: nothing of them is public. Every draw with a
	// visit to come is closed, tasks and inspector draws held back.
	var summary struct {
		Draws []struct {
			Seq    int  `json:"seq"`
			Closed bool `json:"closed"`
		} `json:"draws"`
	}
	code, b = call("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d", id), nil)
	if code != 200 || json.Unmarshal(b, &summary) != nil || len(summary.Draws) == 0 {
		t.Fatalf("open plan: %d %s", code, b)
	}
	for _, d := range summary.Draws {
		if d.Closed {
			t.Errorf("draw %d is public although its visits are all to come", d.Seq)
		}
		if code, _ := call("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/draws/%d", id, d.Seq), nil); code == 200 {
			var one map[string]any
			if json.Unmarshal(b, &one) == nil && one["frame"] != nil {
				t.Errorf("draw %d shows its frame before it closed", d.Seq)
			}
		}
	}
	var tasks struct {
		Tasks   []any `json:"tasks"`
		Pending int   `json:"pending"`
	}
	code, b = call("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/tasks", id), nil)
	if code != 200 || json.Unmarshal(b, &tasks) != nil || len(tasks.Tasks) != 0 || tasks.Pending == 0 {
		t.Fatalf("tasks before the visits: %d %s", code, b)
	}
	var insp struct {
		Draws   []any `json:"draws"`
		Pending int   `json:"pending"`
	}
	code, b = call("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/inspector-draws", id), nil)
	if code != 200 || json.Unmarshal(b, &insp) != nil || len(insp.Draws) != 0 || insp.Pending == 0 {
		t.Fatalf("inspector draws before the visits: %d %.300s", code, b)
	}
	verify := func() (string, error) {
		var out bytes.Buffer
		err := run(ctx, []string{"draw", "verify", "--public", hs.URL, "--plan", fmt.Sprint(id)}, &out, nil)
		return out.String(), err
	}
	out, err := verify()
	if !errors.As(err, new(errPending)) || !strings.Contains(out, "pending") {
		t.Fatalf("verify before the year closes: %v\n%s", err, out)
	}

	// The visits happen, the year ends and its key is revealed.
	t1 := time.Date(2026, 2, 2, 10, 0, 0, 0, loc)
	clock.Store(&t1)
	if _, err := plans.CloseYear(ctx, "admin", 2025, false); err != nil {
		t.Fatal(err)
	}
	c, err := drawcheck.NewClient(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Verify(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || !r.Complete() || r.TargetDraws == 0 || r.TargetMatched != r.TargetDraws || r.InspectorDraws == 0 ||
		r.InspectorMatched != r.InspectorDraws || r.Selected == 0 || r.AccountedFor != r.Selected || r.TasksChecked == 0 ||
		r.Randomness != "witness" {
		t.Fatalf("verification of an untouched plan: %+v", r)
	}
	out, err = verify()
	if err != nil || !strings.Contains(out, "recomputed "+fmt.Sprint(r.TargetDraws)+" (100 %)") {
		t.Fatalf("CLI verify: %v\n%s", err, out)
	}
	t.Logf("%d target draws recomputed and matched, %d inspector draws, %d businesses drawn all accounted for, %d tasks checked",
		r.TargetMatched, r.InspectorMatched, r.AccountedFor, r.TasksChecked)

	// Tampering, one at a time (each undone before the next).
	var seq, demand int
	var frameRow string
	if err := st.SQL().QueryRowContext(ctx, `SELECT seq, demand_id, frame::text FROM plan_draws WHERE plan_id = $1 AND kind = 'targets'
		AND json_array_length(frame) > n AND n > 0 ORDER BY seq LIMIT 1`, id).Scan(&seq, &demand, &frameRow); err != nil {
		t.Fatal(err)
	}
	var outsider string
	if err := st.SQL().QueryRowContext(ctx, `SELECT f->>'key' FROM plan_draws, json_array_elements(frame) f
		WHERE plan_id = $1 AND seq = $2 AND NOT (result ? (f->>'key')) LIMIT 1`, id, seq).Scan(&outsider); err != nil {
		t.Fatal(err)
	}
	var shift float64
	var seedBytes []byte
	if err := st.SQL().QueryRowContext(ctx, `SELECT shift, seed FROM plans WHERE id = $1`, id).Scan(&shift, &seedBytes); err != nil {
		t.Fatal(err)
	}
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if err := st.ExecForTest(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec("ALTER TABLE plan_draws DISABLE TRIGGER plan_draws_frozen", "ALTER TABLE plan_tasks DISABLE TRIGGER plan_tasks_frozen",
		"ALTER TABLE plans DISABLE TRIGGER plans_guard")
	for _, tc := range []struct {
		name       string
		do, undo   []string
		mismatches []string
	}{
		{"a changed frame row",
			[]string{fmt.Sprintf(`UPDATE plan_draws SET frame = json_build_array(json_build_object('key', %s, 'weight', 99))::jsonb
				|| (frame::jsonb - 0) WHERE plan_id = %d AND seq = %d`, quote(outsider), id, seq)},
			[]string{fmt.Sprintf(`UPDATE plan_draws SET frame = %s::json WHERE plan_id = %d AND seq = %d`, quote(frameRow), id, seq)},
			[]string{fmt.Sprintf("target draw %d (demand %d)", seq, demand), "frame"}},
		{"a business added to the visits",
			[]string{fmt.Sprintf(`INSERT INTO plan_tasks (plan_id, seq, visit_seq, demand_id, department_id, uscc, item_id, window_from, window_to)
				SELECT plan_id, (SELECT max(seq) + 1 FROM plan_tasks WHERE plan_id = %d), visit_seq, demand_id, department_id, %s, item_id,
				window_from, window_to FROM plan_tasks WHERE plan_id = %d AND demand_id = %d AND visit_seq IS NOT NULL LIMIT 1`,
				id, quote(outsider), id, demand)},
			[]string{fmt.Sprintf(`DELETE FROM plan_tasks WHERE plan_id = %d AND uscc = %s AND demand_id = %d`, id, quote(outsider), demand)},
			[]string{outsider, fmt.Sprintf("demand %d, which its draw did not select", demand)}},
		{"a changed shift",
			[]string{fmt.Sprintf(`UPDATE plans SET shift = %v WHERE id = %d`, fracShift(shift+0.25), id)},
			[]string{fmt.Sprintf(`UPDATE plans SET shift = %v WHERE id = %d`, shift, id)},
			[]string{"shift"}},
		{"a changed seed",
			[]string{fmt.Sprintf(`UPDATE plans SET seed = '\x%s' WHERE id = %d`, strings.Repeat("ab", 32), id)},
			[]string{fmt.Sprintf(`UPDATE plans SET seed = '\x%x' WHERE id = %d`, seedBytes, id)},
			[]string{"seed does not hash to its commitment", "inspector draw"}},
	} {
		exec(tc.do...)
		r, err := c.Verify(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		all := strings.Join(r.Mismatches, "\n")
		if r.OK() {
			t.Errorf("%s: not caught", tc.name)
		}
		for _, want := range tc.mismatches {
			if !strings.Contains(all, want) {
				t.Errorf("%s: no mismatch names %q:\n%s", tc.name, want, all)
			}
		}
		t.Logf("%s caught: %d mismatches, first: %s", tc.name, len(r.Mismatches), r.Mismatches[0])
		exec(tc.undo...)
		if r, err := c.Verify(ctx, id); err != nil || !r.OK() {
			t.Fatalf("after undoing %s: %v %v", tc.name, err, r.Mismatches)
		}
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func fracShift(x float64) float64 {
	for x >= 1 {
		x--
	}
	return x
}
