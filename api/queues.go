package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/web"
)

// QueueInspector is the part of asynq's Inspector the admin queue view uses
// (*asynq.Inspector satisfies it); the queue page uses the same.
type QueueInspector = web.QueueInspector

// maxQueueParam bounds the queue and task id path parameters.
const maxQueueParam = 200

// queueSummary is one row of GET /api/v1/admin/queues.
type queueSummary struct {
	Queue          string  `json:"queue"`
	Exists         bool    `json:"exists"`
	Paused         bool    `json:"paused"`
	Size           int     `json:"size"`
	Pending        int     `json:"pending"`
	Active         int     `json:"active"`
	Scheduled      int     `json:"scheduled"`
	Retry          int     `json:"retry"`
	Archived       int     `json:"archived"`
	Completed      int     `json:"completed"`
	LatencySeconds float64 `json:"latency_seconds"`
	ProcessedToday int     `json:"processed_today"`
	FailedToday    int     `json:"failed_today"`
	ProcessedTotal int     `json:"processed_total"`
	FailedTotal    int     `json:"failed_total"`
}

// archivedTask is one row of GET /api/v1/admin/queues/{queue}/archived.
type archivedTask struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Payload      string     `json:"payload"`
	LastError    string     `json:"last_error"`
	LastFailedAt *time.Time `json:"last_failed_at,omitempty"`
	Retried      int        `json:"retried"`
	MaxRetry     int        `json:"max_retry"`
}

// inspector answers the queue inspector, or an error when none is configured.
func (s *Server) inspector() (QueueInspector, error) {
	if s.queues == nil {
		return nil, errors.New("no queue inspector configured (api.Options.Queues)")
	}
	return s.queues, nil
}

// listQueues is GET /api/v1/admin/queues: the configured queues and any other
// queue Redis knows, with their counts.
func (s *Server) listQueues(c echo.Context) error {
	if _, err := allow(c, "inspect the job queues", adminOnly...); err != nil {
		return err
	}
	ins, err := s.inspector()
	if err != nil {
		return err
	}
	states, err := web.ReadQueues(ins, s.queueNames)
	if err != nil {
		return err
	}
	out := make([]queueSummary, 0, len(states))
	for _, st := range states {
		q, info := st.Name, st.Info
		row := queueSummary{Queue: q}
		if info != nil {
			row = queueSummary{Queue: q, Exists: true, Paused: info.Paused, Size: info.Size,
				Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled, Retry: info.Retry,
				Archived: info.Archived, Completed: info.Completed, LatencySeconds: info.Latency.Seconds(),
				ProcessedToday: info.Processed, FailedToday: info.Failed,
				ProcessedTotal: info.ProcessedTotal, FailedTotal: info.FailedTotal}
		}
		out = append(out, row)
	}
	return list(c, store.Paged[queueSummary]{Items: out})
}

// knownQueue answers the queue path parameter if it names a configured queue
// or one Redis knows, else a 404.
func (s *Server) knownQueue(c echo.Context, ins QueueInspector) (string, error) {
	q := c.Param("queue")
	if q == "" || len(q) > maxQueueParam {
		return "", fmt.Errorf("queue %q: %w", q, domain.ErrNotFound)
	}
	if slices.Contains(s.queueNames, q) {
		return q, nil
	}
	existing, err := ins.Queues()
	if err != nil {
		return "", fmt.Errorf("list queues: %w", err)
	}
	if !slices.Contains(existing, q) {
		return "", fmt.Errorf("queue %q: %w", q, domain.ErrNotFound)
	}
	return q, nil
}

// listArchivedTasks is GET /api/v1/admin/queues/{queue}/archived: the tasks that
// spent their retries, oldest archived first. The cursor is a page number,
// valid with the same limit.
func (s *Server) listArchivedTasks(c echo.Context) error {
	if _, err := allow(c, "inspect the job queues", adminOnly...); err != nil {
		return err
	}
	ins, err := s.inspector()
	if err != nil {
		return err
	}
	q := query{c: c}
	pg := q.page()
	page := 1
	if pg.After != "" {
		n, err := strconv.Atoi(pg.After)
		if err != nil || n < 2 {
			q.errs.Add("after", "not a cursor returned by this list")
		}
		page = n
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	queue, err := s.knownQueue(c, ins)
	if err != nil {
		return err
	}
	size := effectiveLimit(pg.Limit)
	tasks, err := ins.ListArchivedTasks(queue, asynq.PageSize(size), asynq.Page(page))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		tasks, err = nil, nil // a configured queue that has never held a task
	}
	if err != nil {
		return fmt.Errorf("list archived tasks of %s: %w", queue, err)
	}
	out := store.Paged[archivedTask]{Items: make([]archivedTask, 0, len(tasks))}
	for _, t := range tasks {
		row := archivedTask{ID: t.ID, Type: t.Type, Payload: string(t.Payload), LastError: t.LastErr,
			Retried: t.Retried, MaxRetry: t.MaxRetry}
		if !t.LastFailedAt.IsZero() {
			at := t.LastFailedAt.UTC()
			row.LastFailedAt = &at
		}
		out.Items = append(out.Items, row)
	}
	if len(tasks) == size {
		out.Next = strconv.Itoa(page + 1)
	}
	return list(c, out)
}

// archivedTaskOf answers the queue and id of an archived task named by the
// path, or a 404 when the queue or the task does not exist or the task is not
// archived.
func (s *Server) archivedTaskOf(c echo.Context, ins QueueInspector) (string, string, error) {
	queue, id := c.Param("queue"), c.Param("task_id")
	if err := web.ArchivedTask(ins, queue, id); err != nil {
		return "", "", err
	}
	return queue, id, nil
}

// taskGone maps asynq's not-found errors (the task went between the check and
// the change) to a 404.
func taskGone(err error) error {
	if errors.Is(err, asynq.ErrQueueNotFound) || errors.Is(err, asynq.ErrTaskNotFound) {
		return fmt.Errorf("%v: %w", err, domain.ErrNotFound)
	}
	return err
}

// retryArchivedTask is POST /api/v1/admin/queues/{queue}/archived/{task_id}/retry:
// the task goes back to pending, to run once more.
func (s *Server) retryArchivedTask(c echo.Context) error {
	return s.onArchivedTask(c, "retry archived tasks", "queue.task.retry", QueueInspector.RunTask)
}

// deleteArchivedTask is DELETE /api/v1/admin/queues/{queue}/archived/{task_id}.
func (s *Server) deleteArchivedTask(c echo.Context) error {
	return s.onArchivedTask(c, "delete archived tasks", "queue.task.delete", QueueInspector.DeleteTask)
}

// onArchivedTask applies do to the archived task in the path and audits it.
func (s *Server) onArchivedTask(c echo.Context, what, action string, do func(QueueInspector, string, string) error) error {
	p, err := allow(c, what, adminOnly...)
	if err != nil {
		return err
	}
	ins, err := s.inspector()
	if err != nil {
		return err
	}
	queue, id, err := s.archivedTaskOf(c, ins)
	if err != nil {
		return err
	}
	if err := do(ins, queue, id); err != nil {
		return taskGone(err)
	}
	s.auditQueue(c, p, action, queue, id)
	return c.NoContent(http.StatusNoContent)
}

// auditQueue records an admin's change to the queue in the audit log; the
// change is done, so a failure to record it is logged, not answered. The
// change happened even if the client has gone, so the record must not be
// cancelled with the request.
func (s *Server) auditQueue(c echo.Context, p domain.Principal, action, queue, id string) {
	if err := s.store.Audit(context.WithoutCancel(c.Request().Context()), p.Actor(), action, "queue:"+queue+"/task:"+id, store.OutcomeOK,
		map[string]string{"queue": queue, "task_id": id}); err != nil {
		s.log.WarnContext(c.Request().Context(), "audit of a queue change failed", "err", err, "action", action, "queue", queue, "task_id", id)
	}
}
