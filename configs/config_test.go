package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsLoad(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != ":8080" || c.Location().String() != "Asia/Shanghai" || c.Risk.Weights["red"] != 4 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	c, err := Load("", []string{
		"INSPECTONCE_HTTP_ADDR=127.0.0.1:9999",
		"INSPECTONCE_DATABASE_URL=postgres://u@db:5432/x",
		"INSPECTONCE_REDIS_URL=redis://r:6379/2",
		"INSPECTONCE_HTTP_READ_TIMEOUT=5s",
		"INSPECTONCE_RISK_WEIGHTS=red=9,yellow=3,green=1",
		"INSPECTONCE_CALENDAR_HOLIDAYS=2027-01-01,2027-01-02",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9999" || c.Database.URL != "postgres://u@db:5432/x" || c.Redis.URL != "redis://r:6379/2" ||
		c.HTTP.ReadTimeout != 5*time.Second || c.Risk.Weights["red"] != 9 || len(c.Calendar.Holidays) != 2 {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	tests := []struct{ env, want string }{
		{"INSPECTONCE_WORKER_CONCURRENCY=many", "INSPECTONCE_WORKER_CONCURRENCY"},
		{"INSPECTONCE_DATABASE_URL=mysql://x", "database.url"},
		{"INSPECTONCE_REDIS_URL=", "redis.url"},
		{"INSPECTONCE_TIME_ZONE=Mars/Olympus", "time_zone"},
		{"INSPECTONCE_HTTP_READ_TIMEOUT=soon", "INSPECTONCE_HTTP_READ_TIMEOUT"},
		{"INSPECTONCE_CALENDAR_WORKING_WEEKENDS=2026-10-12", "calendar.working_weekends[0]"},
		{"INSPECTONCE_RISK_WEIGHTS=red=4,yellow=2", "risk.weights.green"},
	}
	for _, tt := range tests {
		_, err := Load("", []string{tt.env})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to name %s", tt.env, err, tt.want)
		}
	}
}

func TestFileOverDefaultsRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("worker:\n  concurrency: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good, []string{"INSPECTONCE_WORKER_CONCURRENCY=5"})
	if err != nil || c.Worker.Concurrency != 5 || c.HTTP.Addr != ":8080" {
		t.Fatalf("file + env: %v %+v", err, c)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("wroker:\n  concurrency: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, nil); err == nil || !strings.Contains(err.Error(), "wroker") {
		t.Fatalf("unknown key accepted: %v", err)
	}
}

func TestEnvNamesCoverRequiredKeys(t *testing.T) {
	names := strings.Join(EnvNames(), " ")
	for _, want := range []string{"INSPECTONCE_DATABASE_URL", "INSPECTONCE_REDIS_URL", "INSPECTONCE_HTTP_ADDR"} {
		if !strings.Contains(names, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
}
