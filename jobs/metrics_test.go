package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather scrapes c and returns each sample as "name{label=value,...}" -> value.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[key] = sampleValue(m)
		}
	}
	return out
}

func sampleValue(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

func TestQueueCollector(t *testing.T) {
	opt, queue := testQueue(t)
	missing := queue + "-none"
	client := asynq.NewClient(opt)
	defer client.Close()
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	for range 2 {
		if _, err := client.Enqueue(asynq.NewTask("test:metrics", []byte("{}")), asynq.Queue(queue), asynq.MaxRetry(0)); err != nil {
			t.Fatal(err)
		}
	}
	info, err := client.Enqueue(asynq.NewTask("test:metrics", []byte("{}")), asynq.Queue(queue), asynq.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := ins.ArchiveTask(queue, info.ID); err != nil {
		t.Fatal(err)
	}

	got := gather(t, NewQueueCollector(ins, []string{queue, missing}))
	want := map[string]float64{
		"inspectonce_queue_up": 1,
		"inspectonce_queue_tasks{queue=" + queue + "}{state=pending}":   2,
		"inspectonce_queue_tasks{queue=" + queue + "}{state=archived}":  1,
		"inspectonce_queue_tasks{queue=" + queue + "}{state=active}":    0,
		"inspectonce_queue_tasks{queue=" + missing + "}{state=pending}": 0,
		"inspectonce_queue_processed_total{queue=" + missing + "}":      0,
		"inspectonce_queue_failed_total{queue=" + missing + "}":         0,
		"inspectonce_queue_latency_seconds{queue=" + missing + "}":      0,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if l, ok := got["inspectonce_queue_latency_seconds{queue="+queue+"}"]; !ok || l < 0 {
		t.Errorf("latency of %s = %v (present %v), want >= 0", queue, l, ok)
	}
	if n := len(got); n != 1+2*(len(queueStates)+3) {
		t.Errorf("%d samples, want %d: %v", n, 1+2*(len(queueStates)+3), got)
	}
}

func TestQueueCollectorRedisDown(t *testing.T) {
	ins := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
	defer ins.Close()
	got := gather(t, NewQueueCollector(ins, QueueNames()))
	if len(got) != 1 || got["inspectonce_queue_up"] != 0 {
		t.Fatalf("samples %v, want only inspectonce_queue_up 0", got)
	}
	if _, ok := got["inspectonce_queue_up"]; !ok {
		t.Fatal("inspectonce_queue_up missing")
	}
}

// TestTaskMetrics: the worker's middleware counts runs by type and outcome
// and times them.
func TestTaskMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	mw := taskMetrics(reg)
	outcomes := map[string]error{"ok": nil, "error": errors.New("boom"), "deferred": notYet{time.Now().Add(time.Hour)}}
	for _, err := range outcomes {
		h := mw(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return err }))
		if got := h.ProcessTask(context.Background(), asynq.NewTask(TypeDispatchVisits, nil)); got != err {
			t.Fatalf("the middleware changed the error: %v, want %v", got, err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			if h := m.GetHistogram(); h != nil {
				got[key] = float64(h.GetSampleCount())
				continue
			}
			got[key] = sampleValue(m)
		}
	}
	for outcome := range outcomes {
		if k := "inspectonce_task_runs_total{outcome=" + outcome + "}{type=dispatch:visits}"; got[k] != 1 {
			t.Errorf("%s = %v (%v)", k, got[k], got)
		}
	}
	if k := "inspectonce_task_duration_seconds{type=dispatch:visits}"; got[k] != 3 {
		t.Errorf("%s = %v", k, got[k])
	}
}
