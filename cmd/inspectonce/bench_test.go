package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"inspectonce/store/storetest"
)

// TestBenchLoadRuns keeps the load benchmark from rotting: the real binary
// runs `bench load` on the test servers (a fresh database, no throwaway
// servers), tiny steps on one route and a short pgbench, and prints its
// steps, the demo plan's timings and the summary.
func TestBenchLoadRuns(t *testing.T) {
	dsn := storetest.NewURL(t)
	bin := buildBinary(t)
	cmd := exec.Command(bin, "bench", "load", "--database-url", dsn, "--redis-url", os.Getenv(storetest.EnvRedisURL),
		"--dir", t.TempDir(), "--routes", "schedule", "--rates", "10,20", "--duration", "300ms", "--warmup", "0", "--pause", "0",
		"--p99-limit", "5s", "--pgbench-duration", "1s", "--pgbench-scale", "1", "--pgbench-clients", "1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench load: %v\n%s", err, out)
	}
	text := string(out)
	for _, re := range []string{
		`# demo plan \d+: draft after .* comparison done after `,
		`# demo plan \d+ published`,
		`# pgbench -S simple: \d+ TPS`,
		`# pgbench -S prepared: \d+ TPS`,
		`(?m)^schedule +offered +10/s +achieved .* errors 0  503 0 .* ok$`,
		`(?m)^schedule +offered +40/s `, // twice the knee
		`(?m)^schedule +5000\.00ms +≥ 20 \(highest tried\)`,
		`(?m)^pgbench -S simple +\d+ TPS`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("output lacks %s:\n%s", re, text)
		}
	}
	if strings.Contains(text, "healthz") {
		t.Errorf("a route not asked for ran:\n%s", text)
	}
	// Bad flags are usage errors, before anything starts.
	for _, bad := range [][]string{{"bench"}, {"bench", "load", "--rates", "20,10"}, {"bench", "load", "--routes", "nope"},
		{"bench", "load", "--database-url", dsn}} {
		b, err := exec.Command(bin, bad...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("inspectonce %v: %v, want exit 2\n%s", bad, err, b)
		}
	}
}
