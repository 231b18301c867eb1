package configs

import (
	"strings"
	"testing"
	"time"
)

// TestConcurrencyDefaults: every class is limited by default, the refusal
// waits tens of ms at most, the pool is warmed and the audit log chained often.
func TestConcurrencyDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := c.HTTP.Concurrency
	if cc.Public != 64 || cc.Reads != 64 || cc.Writes != 32 || cc.Bulk != 4 || cc.QueueWait != 20*time.Millisecond ||
		cc.WriteQueueWait != 50*time.Millisecond || cc.RetryAfter != time.Second {
		t.Errorf("http.concurrency defaults: %+v", cc)
	}
	if c.Database.WarmConns != 10 || c.Audit.ChainInterval != 200*time.Millisecond {
		t.Errorf("database.warm_conns %d, audit.chain_interval %v", c.Database.WarmConns, c.Audit.ChainInterval)
	}
	c, err = Load("", []string{"INSPECTONCE_HTTP_CONCURRENCY_READS=0", "INSPECTONCE_HTTP_CONCURRENCY_QUEUE_WAIT=0s",
		"INSPECTONCE_HTTP_CONCURRENCY_RETRY_AFTER=3s", "INSPECTONCE_DATABASE_WARM_CONNS=0", "INSPECTONCE_AUDIT_CHAIN_INTERVAL=1s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Concurrency.Reads != 0 || c.HTTP.Concurrency.QueueWait != 0 || c.HTTP.Concurrency.RetryAfter != 3*time.Second ||
		c.Database.WarmConns != 0 || c.Audit.ChainInterval != time.Second {
		t.Errorf("overrides: %+v %+v %+v", c.HTTP.Concurrency, c.Database, c.Audit)
	}
}

func TestConcurrencyBadValuesNameTheKey(t *testing.T) {
	tests := []struct{ env, want string }{
		{"INSPECTONCE_HTTP_CONCURRENCY_PUBLIC=-1", "http.concurrency.public"},
		{"INSPECTONCE_HTTP_CONCURRENCY_READS=many", "INSPECTONCE_HTTP_CONCURRENCY_READS"},
		{"INSPECTONCE_HTTP_CONCURRENCY_WRITES=-3", "http.concurrency.writes"},
		{"INSPECTONCE_HTTP_CONCURRENCY_BULK=-1", "http.concurrency.bulk"},
		{"INSPECTONCE_HTTP_CONCURRENCY_QUEUE_WAIT=-1ms", "http.concurrency.queue_wait"},
		{"INSPECTONCE_HTTP_CONCURRENCY_QUEUE_WAIT=5s", "http.concurrency.queue_wait"},
		{"INSPECTONCE_HTTP_CONCURRENCY_WRITE_QUEUE_WAIT=-1ms", "http.concurrency.write_queue_wait"},
		{"INSPECTONCE_HTTP_CONCURRENCY_WRITE_QUEUE_WAIT=2s", "http.concurrency.write_queue_wait"},
		{"INSPECTONCE_HTTP_CONCURRENCY_RETRY_AFTER=0s", "http.concurrency.retry_after"},
		{"INSPECTONCE_HTTP_CONCURRENCY_RETRY_AFTER=1500ms", "http.concurrency.retry_after"},
		{"INSPECTONCE_DATABASE_WARM_CONNS=-1", "database.warm_conns"},
		{"INSPECTONCE_DATABASE_WARM_CONNS=41", "database.warm_conns"},
		{"INSPECTONCE_AUDIT_CHAIN_INTERVAL=0s", "audit.chain_interval"},
		{"INSPECTONCE_AUDIT_CHAIN_INTERVAL=2m", "audit.chain_interval"},
	}
	for _, tt := range tests {
		_, err := Load("", []string{tt.env})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to name %s", tt.env, err, tt.want)
		}
	}
}
