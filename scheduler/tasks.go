package scheduler

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// The default job of an entry enqueues the asynq task "cron:" + entry name;
// the handlers of those tasks live with the work they do (jobs/).
const (
	TaskDailyRosters   = "cron:daily_rosters"
	TaskReminderScan   = "cron:reminder_scan"
	TaskRoutineDemands = "cron:routine_demands"
	TaskWeeklyPlanning = "cron:weekly_planning"
	TaskPublishResults = "cron:publish_results"
	// TaskTestEntry is fired only when scheduler.test_entry is set.
	TaskTestEntry = "cron:test_entry"
)

// Task options of cron tasks: the queue, retries and timeout match the
// handlers' expectations in jobs/; TaskRetention keeps a finished task (and so
// its task ID) in Redis for a day, so enqueueing the same run again within it
// is a harmless task-ID conflict.
const (
	TaskQueue     = "default"
	TaskMaxRetry  = 5
	TaskTimeout   = 10 * time.Minute
	TaskRetention = 24 * time.Hour
)

// TaskPayload is version 1 of the payload of every cron:* task.
type TaskPayload struct {
	V int `json:"v"`
	// DueAt is the due time the run stands for; a catch-up run (no leader was
	// up) carries the first due time it missed.
	DueAt time.Time `json:"due_at"`
	// Missed counts the later due times collapsed into this catch-up run.
	Missed int `json:"missed,omitempty"`
}

// TaskType is the task type of entry.
func TaskType(entry string) string { return "cron:" + entry }

// TaskID is the task ID of entry's run for due: the same run always gets the
// same ID.
func TaskID(entry string, due time.Time) string {
	return fmt.Sprintf("cron:%s:%d", entry, due.Unix())
}

// NewTask builds the task of entry's run for due.
func NewTask(entry string, due time.Time, missed int) (*asynq.Task, error) {
	b, err := json.Marshal(TaskPayload{V: 1, DueAt: due.UTC(), Missed: missed})
	if err != nil {
		return nil, fmt.Errorf("cron payload: %w", err)
	}
	return asynq.NewTask(TaskType(entry), b, asynq.TaskID(TaskID(entry, due)), asynq.Queue(TaskQueue),
		asynq.MaxRetry(TaskMaxRetry), asynq.Timeout(TaskTimeout), asynq.Retention(TaskRetention)), nil
}
