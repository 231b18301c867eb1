package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"inspectonce/store/storetest"
)

// buildBinary compiles the command once per test run.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "inspectonce")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// stopGracefully sends SIGTERM to cmd, whose Wait result arrives on done,
// and fails unless it exits cleanly within 40 s; logs is its output, shown
// on failure.
func stopGracefully(t *testing.T, cmd *exec.Cmd, done <-chan error, logs fmt.Stringer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("did not stop after SIGTERM:\n%s", logs)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCommandEndToEnd runs the real binary: migrate, seed, token, audit verify,
// then `all`, which must become ready and stop cleanly on SIGTERM.
func TestCommandEndToEnd(t *testing.T) {
	dsn := storetest.NewURL(t)
	bin := buildBinary(t)
	addr := freePort(t)
	env := append(os.Environ(),
		"INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_PLANNING_APPROVAL_STEPS=",
		"INSPECTONCE_REDIS_URL="+os.Getenv(storetest.EnvRedisURL),
		"INSPECTONCE_HTTP_ADDR="+addr,
		"INSPECTONCE_SCHEDULER_HEALTH_INTERVAL=1s",
	)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("inspectonce %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("migrate", "up"); !strings.Contains(out, "applied") {
		t.Fatalf("migrate up said %q", out)
	}
	if out := run("migrate", "status"); strings.Contains(out, "pending") {
		t.Fatalf("migrations pending after up:\n%s", out)
	}
	envFile := filepath.Join(t.TempDir(), "demo.env")
	seeded := run("seed", "--env-file", envFile)
	// The env file is what the README's examples source: every variable they
	// use, readable by the owner only (tokens are secrets).
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("env file: %v %v", fi, err)
	}
	sh := exec.Command("sh", "-c", ". "+envFile+` && printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s' "$ADMIN" "$PLANNER" "$LEADER" "$INSPECTOR" "$BUSINESS" "$DEPT" "$TEAM" "$INSPECTOR_ID" "$USCC" "$API" "$TZ"`)
	vars, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range strings.Split(string(vars), "|") {
		if v == "" || (i < 5 && !strings.Contains(seeded, v)) {
			t.Fatalf("env file variable %d is %q (or not a printed token):\n%s", i, v, vars)
		}
	}
	for _, role := range []string{"admin", "planner", "team_leader", "inspector", "business"} {
		if !strings.Contains(seeded, role) {
			t.Fatalf("seed printed no %s token:\n%s", role, seeded)
		}
	}
	if out := run("token", "create", "--role", "admin", "--name", "ops"); !strings.Contains(out, "io_") {
		t.Fatalf("token create said %q", out)
	}
	if out := run("audit", "verify"); !strings.Contains(out, "intact") || !strings.Contains(out, "not yet chained") {
		t.Fatalf("audit verify said %q", out)
	}

	// Availability and closures from the command line (issue 17), audited.
	fields := strings.Split(string(vars), "|")
	team, inspector := fields[6], fields[7]
	if out := run("unavailability", "add", "--inspector", inspector, "--from", "2030-03-04", "--to", "2030-03-05", "--reason", "年休假"); !strings.Contains(out, "away 2030-03-04..2030-03-05") {
		t.Fatalf("unavailability add said %q", out)
	}
	if out := run("unavailability", "list", "--inspector", inspector); !strings.Contains(out, `"reason":"年休假"`) {
		t.Fatalf("unavailability list said %q", out)
	}
	if out := run("closure", "add", "--team", team, "--from", "2030-03-06", "--to", "2030-03-06", "--reason", "台风停航"); !strings.Contains(out, "team "+team+" closed") {
		t.Fatalf("closure add said %q", out)
	}
	if out := run("closure", "list", "--from", "2030-03-01"); !strings.Contains(out, `"reason":"台风停航"`) {
		t.Fatalf("closure list said %q", out)
	}
	// Each opened a repair; no worker runs here, so they wait until `repair run`.
	if out := run("repair", "list", "--status", "pending"); strings.Count(out, `"status":"pending"`) != 2 || !strings.Contains(out, `"cause":"closure"`) {
		t.Fatalf("repair list said %q", out)
	}
	if out := run("repair", "run", "--id", "2"); !strings.Contains(out, "repair 2 done: 0 visits looked at") {
		t.Fatalf("repair run said %q", out)
	}
	if out := run("repair", "show", "--id", "2"); !strings.Contains(out, `"status":"done"`) || !strings.Contains(out, `"substitutions":[]`) {
		t.Fatalf("repair show said %q", out)
	}
	if out := run("repair", "verify", "--id", "2"); !strings.Contains(out, `"mismatches":0`) {
		t.Fatalf("repair verify said %q", out)
	}
	for _, bad := range [][]string{
		{"closure", "add", "--team", team, "--region", "1", "--from", "2030-03-06", "--to", "2030-03-06", "--reason", "x"},
		{"unavailability", "add", "--inspector", inspector, "--from", "2030-03-06", "--to", "2030-03-01", "--reason", "x"},
	} {
		cmd := exec.Command(bin, bad...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Fatalf("inspectonce %s succeeded: %s", strings.Join(bad, " "), out)
		}
	}
	// The same from CSV: loaded once, a second load finds it unchanged.
	leavePath := filepath.Join(t.TempDir(), "leave.csv")
	closedPath := filepath.Join(t.TempDir(), "closed.csv")
	if err := os.WriteFile(leavePath, []byte("执法证号,开始日期,结束日期,原因\nZJ-SS-0001,2030-04-01,2030-04-02,培训\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(closedPath, []byte("region,from,to,reason\nSS-CY,2030-04-03,2030-04-03,台风停航\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ kind, path string }{{"unavailability", leavePath}, {"closures", closedPath}} {
		if out := run("import", f.kind, "--dry-run", f.path); !strings.Contains(out, `"rows_new": 1`) {
			t.Fatalf("import %s --dry-run said %s", f.kind, out)
		}
		if out := run("import", f.kind, f.path); !strings.Contains(out, `"status": "done"`) || !strings.Contains(out, `"rows_loaded": 1`) {
			t.Fatalf("import %s said %s", f.kind, out)
		}
		if out := run("import", f.kind, "--dry-run", f.path); !strings.Contains(out, `"rows_unchanged": 1`) {
			t.Fatalf("import %s --dry-run after the import said %s", f.kind, out)
		}
	}
	// An .xlsx file, told by its bytes: a date cell is a date, and a bad row
	// is reported by the row number the spreadsheet shows. A file named .xlsx
	// that is not one is refused before anything is read.
	xlsxPath := filepath.Join(t.TempDir(), "leave.xlsx")
	book := excelize.NewFile()
	for i, row := range [][]any{{"执法证号", "开始日期", "结束日期", "原因"},
		{"ZJ-SS-0001", time.Date(2030, 4, 8, 0, 0, 0, 0, time.UTC), "2030-04-09", "培训"},
		{"ZJ-SS-0001", "2030-04-09", "2030-04-08", "倒置"}} {
		if err := book.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := book.SaveAs(xlsxPath); err != nil {
		t.Fatal(err)
	}
	_ = book.Close()
	if out := run("import", "unavailability", "--dry-run", xlsxPath); !strings.Contains(out, `"rows_new": 1`) ||
		!strings.Contains(out, `"line": 3`) || !strings.Contains(out, `"field": "结束日期"`) {
		t.Fatalf("import unavailability --dry-run of an .xlsx file said %s", out)
	}
	fake := filepath.Join(t.TempDir(), "fake.xlsx")
	if err := os.WriteFile(fake, []byte("执法证号,开始日期,结束日期,原因\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := func() ([]byte, error) {
		cmd := exec.Command(bin, "import", "unavailability", fake)
		cmd.Env = env
		return cmd.CombinedOutput()
	}(); err == nil || !strings.Contains(string(out), "not an .xlsx workbook") {
		t.Fatalf("a CSV named .xlsx: %v %s", err, out)
	}
	if out := run("unavailability", "list", "--from", "2030-04-01"); strings.Count(out, `"reason":"培训"`) != 1 {
		t.Fatalf("imported leave: %q", out)
	}
	if out := run("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("audit verify after availability said %q", out)
	}

	// import --dry-run reports the change and writes nothing: run twice, it
	// reports the same change; an override without a reason is a usage error.
	var biz string
	for _, line := range strings.Split(seeded, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "business" {
			biz = f[1]
		}
	}
	csvPath := filepath.Join(t.TempDir(), "rename.csv")
	if err := os.WriteFile(csvPath, []byte("uscc,name\n"+biz+",改名测试\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out := run("import", "businesses", "--dry-run", csvPath)
		if !strings.Contains(out, `"rows_changed": 1`) || !strings.Contains(out, `"new": "改名测试"`) {
			t.Fatalf("import --dry-run said %s", out)
		}
	}
	bad := exec.Command(bin, "import", "businesses", "--risk-override", csvPath)
	bad.Env = env
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "reason") {
		t.Fatalf("an override without a reason: %v %s", err, out)
	}

	// A bad configuration value stops start-up naming the key.
	bad = exec.Command(bin, "serve")
	bad.Env = append(env, "INSPECTONCE_WORKER_CONCURRENCY=many")
	out, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "INSPECTONCE_WORKER_CONCURRENCY") {
		t.Fatalf("bad config accepted or not named: %v %s", err, out)
	}

	// A taken HTTP port stops start-up and says which variables move it.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy := exec.Command(bin, "all")
	busy.Env = append(slices.Clone(env), "INSPECTONCE_HTTP_ADDR="+taken.Addr().String())
	out, err = busy.CombinedOutput()
	taken.Close()
	if err == nil || !strings.Contains(string(out), "INSPECTONCE_HTTP_ADDR") || !strings.Contains(string(out), "INSPECTONCE_HTTP_PUBLIC_BASE_URL") {
		t.Fatalf("taken port: %v\n%s", err, out)
	}
	// http.metrics_addr moves /metrics to a listener of its own; a bad one
	// stops start-up naming the key.
	bad = exec.Command(bin, "serve")
	bad.Env = append(slices.Clone(env), "INSPECTONCE_HTTP_METRICS_ADDR=9090")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "http.metrics_addr") {
		t.Fatalf("bad http.metrics_addr accepted or not named: %v %s", err, out)
	}
	metricsAddr := freePort(t)

	var logs bytes.Buffer
	cmd := exec.Command(bin, "all")
	cmd.Env = append(slices.Clone(env), "INSPECTONCE_HTTP_METRICS_ADDR="+metricsAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("service never became ready:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := get("http://" + metricsAddr + "/metrics"); status != 200 ||
		!strings.Contains(body, "inspectonce_http_requests_total") || !strings.Contains(body, "inspectonce_queue_up") {
		t.Errorf("/metrics on http.metrics_addr: %d\n%.500s", status, body)
	}
	if status, _ := get("http://" + addr + "/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on http.addr with http.metrics_addr set: %d, want 404", status)
	}
	time.Sleep(1500 * time.Millisecond) // let the scheduler fire its health entry
	stopGracefully(t, cmd, done, &logs)
	for _, want := range []string{"api stopped", "worker stopped", "scheduler stopped", "scheduler health"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
