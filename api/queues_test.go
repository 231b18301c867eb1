package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/hibiken/asynq"

	"inspectonce/store/storetest"
)

// archivedQueue makes a queue of the test's own holding n archived tasks (and
// one pending), deleted when the test ends; nothing runs its tasks.
func archivedQueue(t *testing.T, n int) (queue string, ids []string, ins *asynq.Inspector) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	queue = "test-api-queues-" + hex.EncodeToString(b[:])
	client := asynq.NewClient(opt)
	defer client.Close()
	ins = asynq.NewInspector(opt)
	t.Cleanup(func() {
		_ = ins.DeleteQueue(queue, true)
		_ = ins.Close()
	})
	for i := range n + 1 {
		info, err := client.Enqueue(asynq.NewTask("test:queue-view", fmt.Appendf(nil, `{"n":%d}`, i)), asynq.Queue(queue), asynq.MaxRetry(0))
		if err != nil {
			t.Fatal(err)
		}
		if i == n {
			break // stays pending
		}
		if err := ins.ArchiveTask(queue, info.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	return queue, ids, ins
}

type queueRow struct {
	Queue                                                  string
	Exists                                                 bool
	Pending, Active, Scheduled, Retry, Archived, Completed int
	LatencySeconds                                         float64 `json:"latency_seconds"`
	ProcessedTotal                                         int     `json:"processed_total"`
}

type archivedRow struct {
	ID, Type, Payload string
	LastError         string `json:"last_error"`
	Retried           int
	MaxRetry          int `json:"max_retry"`
}

func TestAdminQueues(t *testing.T) {
	v := newEnv(t)
	queue, ids, ins := archivedQueue(t, 3)
	base := "/api/v1/admin/queues/" + queue + "/archived"

	// The list: configured queues always, the test queue with its counts.
	r := v.do("admin", "GET", "/api/v1/admin/queues", nil)
	expect(t, r, 200, "list queues")
	var ql struct{ Items []queueRow }
	r.json(t, &ql)
	got := map[string]queueRow{}
	for _, q := range ql.Items {
		got[q.Queue] = q
	}
	for _, q := range []string{"critical", "default", "low"} {
		if _, ok := got[q]; !ok {
			t.Errorf("configured queue %s not listed", q)
		}
	}
	if q := got[queue]; !q.Exists || q.Archived != 3 || q.Pending != 1 || q.Active != 0 || q.LatencySeconds < 0 {
		t.Errorf("test queue row %+v, want exists, 3 archived, 1 pending", q)
	}

	// Archived tasks, two pages of two.
	r = v.do("admin", "GET", base+"?limit=2", nil)
	expect(t, r, 200, "archived page 1")
	var page struct {
		Items      []archivedRow
		NextCursor string `json:"next_cursor"`
	}
	r.json(t, &page)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("page 1: %s", r.Body)
	}
	seen := map[string]bool{}
	for _, it := range page.Items {
		seen[it.ID] = true
		if it.Type != "test:queue-view" || it.MaxRetry != 0 || it.Retried != 0 || len(it.Payload) < 7 || it.Payload[:5] != `{"n":` {
			t.Errorf("archived row %+v", it)
		}
	}
	r = v.do("admin", "GET", base+"?limit=2&after="+page.NextCursor, nil)
	expect(t, r, 200, "archived page 2")
	page.NextCursor = ""
	r.json(t, &page)
	if len(page.Items) != 1 || page.NextCursor != "" {
		t.Fatalf("page 2: %s", r.Body)
	}
	seen[page.Items[0].ID] = true
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("archived task %s not listed", id)
		}
	}
	expect(t, v.do("admin", "GET", base+"?after=x", nil), 422, "bad cursor")
	expect(t, v.do("admin", "GET", base+"?after=1", nil), 422, "cursor 1")

	// A configured queue lists (maybe nothing); an unknown one is 404.
	expect(t, v.do("admin", "GET", "/api/v1/admin/queues/low/archived", nil), 200, "configured queue")
	expect(t, v.do("admin", "GET", "/api/v1/admin/queues/"+queue+"-none/archived", nil), 404, "unknown queue")

	// Retry: the task is pending again, and no longer archived.
	expect(t, v.do("admin", "POST", base+"/"+ids[0]+"/retry", nil), 204, "retry")
	info, err := ins.GetTaskInfo(queue, ids[0])
	if err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("retried task: %v, %v", info, err)
	}
	expect(t, v.do("admin", "POST", base+"/"+ids[0]+"/retry", nil), 404, "retry a pending task")
	expect(t, v.do("admin", "DELETE", base+"/"+ids[0], nil), 404, "delete a pending task")

	// Delete: gone.
	expect(t, v.do("admin", "DELETE", base+"/"+ids[1], nil), 204, "delete")
	if _, err := ins.GetTaskInfo(queue, ids[1]); err == nil {
		t.Fatal("deleted task still there")
	}
	expect(t, v.do("admin", "DELETE", base+"/"+ids[1], nil), 404, "delete again")

	// Unknown task or queue.
	expect(t, v.do("admin", "POST", base+"/no-such-task/retry", nil), 404, "retry unknown task")
	expect(t, v.do("admin", "DELETE", "/api/v1/admin/queues/"+queue+"-none/archived/"+ids[2], nil), 404, "delete in unknown queue")

	// The counts follow.
	r = v.do("admin", "GET", "/api/v1/admin/queues", nil)
	expect(t, r, 200, "list queues again")
	r.json(t, &ql)
	for _, q := range ql.Items {
		if q.Queue == queue && (q.Archived != 1 || q.Pending != 2) {
			t.Errorf("after retry and delete: %+v, want 1 archived, 2 pending", q)
		}
	}

	// The changes are in the audit log.
	r = v.do("admin", "GET", "/api/v1/audit?limit=1000", nil)
	expect(t, r, 200, "audit")
	var audit struct {
		Items []struct{ Action, Outcome string }
	}
	r.json(t, &audit)
	n := 0
	for _, e := range audit.Items {
		if (e.Action == "queue.task.retry" || e.Action == "queue.task.delete") && e.Outcome == "ok" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d queue changes audited, want 2", n)
	}
}
