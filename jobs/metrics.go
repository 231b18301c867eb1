package jobs

import (
	"slices"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueInspector is the part of asynq's Inspector the queue metrics read.
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// QueueCollector reports the asynq queues on each scrape: tasks by state,
// latency, and the processed and failed totals. A queue that does not exist yet
// reports zeros; when Redis cannot be read, inspectonce_queue_up is 0 and the
// scrape still succeeds.
type QueueCollector struct {
	ins    QueueInspector
	queues []string

	up, tasks, latency, processed, failed *prometheus.Desc
}

// queueStates are the task states reported by inspectonce_queue_tasks.
var queueStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed"}

// NewQueueCollector reports the queues named (usually the keys of Queues).
func NewQueueCollector(inspector *asynq.Inspector, queues []string) *QueueCollector {
	return newQueueCollector(inspector, queues)
}

func newQueueCollector(ins QueueInspector, queues []string) *QueueCollector {
	qs := slices.Clone(queues)
	slices.Sort(qs)
	return &QueueCollector{
		ins: ins, queues: slices.Compact(qs),
		up: prometheus.NewDesc("inspectonce_queue_up",
			"1 if the job queues could be read from Redis at the last scrape, else 0.", nil, nil),
		tasks: prometheus.NewDesc("inspectonce_queue_tasks",
			"Tasks in a job queue by state.", []string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("inspectonce_queue_latency_seconds",
			"Age of the oldest pending task of a job queue (0 when none is pending).", []string{"queue"}, nil),
		processed: prometheus.NewDesc("inspectonce_queue_processed_total",
			"Tasks a job queue has processed (succeeded or failed) since it was created, as kept by asynq.", []string{"queue"}, nil),
		failed: prometheus.NewDesc("inspectonce_queue_failed_total",
			"Task runs of a job queue that failed since it was created, as kept by asynq.", []string{"queue"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.tasks, c.latency, c.processed, c.failed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	existing, err := c.ins.Queues()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	infos := make([]*asynq.QueueInfo, 0, len(c.queues))
	for _, q := range c.queues {
		info := &asynq.QueueInfo{Queue: q}
		if slices.Contains(existing, q) {
			if info, err = c.ins.GetQueueInfo(q); err != nil {
				ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
				return
			}
		}
		infos = append(infos, info)
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, info := range infos {
		q := info.Queue
		counts := []int{info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived, info.Completed}
		for i, state := range queueStates {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(counts[i]), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.GaugeValue, float64(info.ProcessedTotal), q)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(info.FailedTotal), q)
	}
}

// QueueNames are the names of Queues, sorted.
func QueueNames() []string {
	names := make([]string, 0, len(Queues))
	for q := range Queues {
		names = append(names, q)
	}
	slices.Sort(names)
	return names
}
