package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// QueueInspector is the part of asynq's Inspector the queue page uses
// (*asynq.Inspector satisfies it).
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
	ListArchivedTasks(queue string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	RunTask(queue, id string) error
	DeleteTask(queue, id string) error
}

const (
	// queueArchivedShown bounds the archived tasks listed per queue; the
	// JSON API pages through the rest.
	queueArchivedShown = 50
	// queueParamMax bounds the queue and task id path parameters, as the API does.
	queueParamMax = 200
	// payloadShown bounds how much of a payload the page shows.
	payloadShown = 300
)

// queueRoutes adds the admin queue view and its two actions. The actions are
// POST forms: the session cookie is SameSite=Strict, so no other site can
// make a signed-in admin's browser post them.
func (p *Pages) queueRoutes(g *echo.Group) {
	g.GET("/admin/queues", p.page(p.queuesPage))
	g.POST("/admin/queues/:queue/archived/:task_id/retry", p.page(p.retryArchived))
	g.POST("/admin/queues/:queue/archived/:task_id/delete", p.page(p.deleteArchived))
}

type queuesView struct {
	// NoInspector: this process cannot reach the queues (Options.Queues nil).
	NoInspector bool
	// Unreachable is why the queues could not be read (Redis down).
	Unreachable string
	Queues      []queueView
	// Done reports the action just taken (after the redirect).
	Done *queueDone
}

type queueView struct {
	Name      string
	Exists    bool
	Paused    bool
	Pending   int
	Active    int
	Scheduled int
	Retry     int
	Archived  int
	Completed int
	Processed int // today
	Failed    int // today
	Latency   string
	Tasks     []archivedView
	// MoreTasks: archived tasks not listed.
	MoreTasks int
}

type archivedView struct {
	ID           string
	Type         string
	Payload      string
	LastError    string
	LastFailedAt *time.Time
	Retried      int
	MaxRetry     int
	RetryURL     string
	DeleteURL    string
}

type queueDone struct {
	Key, Queue, Task string
}

// queuesPage is GET /admin/queues: the HTML twin of GET /api/v1/admin/queues
// and of each queue's archived tasks.
func (p *Pages) queuesPage(c echo.Context) error {
	if _, err := allow(c, domain.RoleAdmin); err != nil {
		return err
	}
	v := queuesView{Done: doneOf(c)}
	if p.queues == nil {
		v.NoInspector = true
		for _, q := range slices.Sorted(slices.Values(p.queueNames)) {
			v.Queues = append(v.Queues, queueView{Name: q})
		}
		return p.render(c, http.StatusOK, "queues", "queues.title", v)
	}
	queues, err := p.readQueues()
	if err != nil {
		// Redis away: say so on the page (503), as /readyz would.
		p.log.WarnContext(c.Request().Context(), "queue page: queues not readable", "err", err)
		v.Unreachable = err.Error()
		return p.render(c, http.StatusServiceUnavailable, "queues", "queues.title", v)
	}
	v.Queues = queues
	return p.render(c, http.StatusOK, "queues", "queues.title", v)
}

// QueueState is a queue by name with what Redis holds of it; Info is nil for
// a configured queue that has never held a task.
type QueueState struct {
	Name string
	Info *asynq.QueueInfo
}

// ReadQueues lists the configured queues and any other queue Redis knows, by
// name, with their counts: what the queue views (the API's and this page's)
// show.
func ReadQueues(ins QueueInspector, configured []string) ([]QueueState, error) {
	existing, err := ins.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	names := slices.Concat(configured, existing)
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]QueueState, 0, len(names))
	for _, q := range names {
		st := QueueState{Name: q}
		if slices.Contains(existing, q) {
			if st.Info, err = ins.GetQueueInfo(q); err != nil {
				return nil, fmt.Errorf("queue %s: %w", q, err)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// readQueues reads the queues with their first archived tasks.
func (p *Pages) readQueues() ([]queueView, error) {
	states, err := ReadQueues(p.queues, p.queueNames)
	if err != nil {
		return nil, err
	}
	out := make([]queueView, 0, len(states))
	for _, st := range states {
		q, info := st.Name, st.Info
		if info == nil {
			out = append(out, queueView{Name: q})
			continue
		}
		row := queueView{Name: q, Exists: true, Paused: info.Paused, Pending: info.Pending, Active: info.Active,
			Scheduled: info.Scheduled, Retry: info.Retry, Archived: info.Archived, Completed: info.Completed,
			Processed: info.Processed, Failed: info.Failed, Latency: latencyText(info.Latency)}
		if info.Archived > 0 {
			tasks, err := p.queues.ListArchivedTasks(q, asynq.PageSize(queueArchivedShown), asynq.Page(1))
			if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
				return nil, fmt.Errorf("archived tasks of %s: %w", q, err)
			}
			for _, t := range tasks {
				row.Tasks = append(row.Tasks, archivedOf(q, t))
			}
			row.MoreTasks = max(0, info.Archived-len(row.Tasks))
		}
		out = append(out, row)
	}
	return out, nil
}

func archivedOf(queue string, t *asynq.TaskInfo) archivedView {
	base := "/admin/queues/" + url.PathEscape(queue) + "/archived/" + url.PathEscape(t.ID)
	a := archivedView{ID: t.ID, Type: t.Type, Payload: shorten(string(t.Payload), payloadShown), LastError: t.LastErr,
		Retried: t.Retried, MaxRetry: t.MaxRetry, RetryURL: base + "/retry", DeleteURL: base + "/delete"}
	if !t.LastFailedAt.IsZero() {
		at := t.LastFailedAt
		a.LastFailedAt = &at
	}
	return a
}

// shorten keeps the first n runes of s (valid UTF-8: a payload may be
// binary), marking a cut with an ellipsis.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// latencyText shows how long the oldest pending task has waited.
func latencyText(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// doneOf reads the notice the actions redirect with.
func doneOf(c echo.Context) *queueDone {
	var key string
	switch c.QueryParam("done") {
	case "retry":
		key = "queues.done.retry"
	case "delete":
		key = "queues.done.delete"
	default:
		return nil
	}
	return &queueDone{Key: key, Queue: shorten(c.QueryParam("queue"), queueParamMax), Task: shorten(c.QueryParam("task"), queueParamMax)}
}

// retryArchived is POST /admin/queues/{queue}/archived/{task_id}/retry: the
// task goes back to pending, to run once more.
func (p *Pages) retryArchived(c echo.Context) error {
	return p.onArchived(c, "retry", "queue.task.retry", QueueInspector.RunTask)
}

// deleteArchived is POST /admin/queues/{queue}/archived/{task_id}/delete.
func (p *Pages) deleteArchived(c echo.Context) error {
	return p.onArchived(c, "delete", "queue.task.delete", QueueInspector.DeleteTask)
}

// onArchived applies do to the archived task in the path, audits it as the
// API does (same action and object), and sends the browser back to the
// queue page with a notice (303: reloading it does not post again).
func (p *Pages) onArchived(c echo.Context, done, action string, do func(QueueInspector, string, string) error) error {
	v, err := allow(c, domain.RoleAdmin)
	if err != nil {
		return err
	}
	if p.queues == nil {
		return fmt.Errorf("no queue inspector in this process: %w", domain.ErrNotFound)
	}
	queue, id, err := p.archivedTask(c)
	if err != nil {
		return err
	}
	if err := do(p.queues, queue, id); err != nil {
		if errors.Is(err, asynq.ErrQueueNotFound) || errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("%w: %w", err, domain.ErrNotFound) // gone between the check and the change
		}
		return fmt.Errorf("%s task %s of %s: %w", done, id, queue, err)
	}
	// The change is done: record it even if the browser has gone meanwhile.
	ctx := context.WithoutCancel(c.Request().Context())
	if err := p.store.Audit(ctx, v.Actor(), action, "queue:"+queue+"/task:"+id, store.OutcomeOK,
		map[string]string{"queue": queue, "task_id": id}); err != nil {
		// A failure to record it is logged, not shown: the change stands.
		p.log.WarnContext(ctx, "audit of a queue change failed", "err", err, "action", action, "queue", queue, "task_id", id)
	}
	q := url.Values{"done": {done}, "queue": {queue}, "task": {id}}
	return c.Redirect(http.StatusSeeOther, "/admin/queues?"+q.Encode())
}

// ArchivedTask checks that task id of queue exists and is archived: the only
// tasks an admin may retry or delete from the queue views (the API's and this
// page's). Anything else, bad parameters included, is domain.ErrNotFound.
func ArchivedTask(ins QueueInspector, queue, id string) error {
	if queue == "" || len(queue) > queueParamMax || id == "" || len(id) > queueParamMax {
		return fmt.Errorf("archived task %q of queue %q: %w", id, queue, domain.ErrNotFound)
	}
	info, err := ins.GetTaskInfo(queue, id)
	switch {
	case errors.Is(err, asynq.ErrQueueNotFound), errors.Is(err, asynq.ErrTaskNotFound):
		return fmt.Errorf("archived task %q of queue %q: %w", id, queue, domain.ErrNotFound)
	case err != nil:
		return fmt.Errorf("task %s of %s: %w", id, queue, err)
	case info.State != asynq.TaskStateArchived:
		return fmt.Errorf("task %q of queue %q is %s, not archived: %w", id, queue, info.State, domain.ErrNotFound)
	}
	return nil
}

// archivedTask reads the queue and task id of a retry or delete form.
func (p *Pages) archivedTask(c echo.Context) (string, string, error) {
	queue, id := c.Param("queue"), c.Param("task_id")
	if err := ArchivedTask(p.queues, queue, id); err != nil {
		return "", "", err
	}
	return queue, id, nil
}

func init() {
	addMessages(map[string][2]string{
		"queues.title":          {"任务队列", "Job queues"},
		"queues.no_inspector":   {"本进程无法访问任务队列（未配置队列检查器），无法显示任务数量和已归档任务。请在与后台任务进程共用 Redis 的服务上查看本页。", "This process cannot reach the job queues (no queue inspector is configured), so no counts or archived tasks can be shown. Open this page on a service that shares Redis with the workers."},
		"queues.unreachable":    {"无法读取任务队列：", "The job queues cannot be read: "},
		"queues.queue":          {"队列", "Queue"},
		"queues.pending":        {"待处理", "Pending"},
		"queues.active":         {"处理中", "Active"},
		"queues.scheduled":      {"定时", "Scheduled"},
		"queues.retry":          {"待重试", "Retry"},
		"queues.archived":       {"已归档", "Archived"},
		"queues.completed":      {"已完成", "Completed"},
		"queues.processed":      {"今日处理", "Processed today"},
		"queues.failed":         {"今日失败", "Failed today"},
		"queues.latency":        {"等待时长", "Latency"},
		"queues.paused":         {"已暂停", "paused"},
		"queues.empty":          {"尚未使用", "not used yet"},
		"queues.archived_tasks": {"已归档任务：%s", "Archived tasks: %s"},
		"queues.none_archived":  {"没有已归档的任务。", "No archived tasks."},
		"queues.more":           {"另有 %d 个已归档任务未列出（可通过 JSON 接口分页查看）。", "%d more archived tasks are not listed (page through them with the JSON API)."},
		"queues.task_id":        {"任务编号", "Task id"},
		"queues.type":           {"类型", "Type"},
		"queues.payload":        {"内容", "Payload"},
		"queues.last_error":     {"最后错误", "Last error"},
		"queues.last_failed":    {"最后失败时间", "Last failed"},
		"queues.retried":        {"已重试", "Retried"},
		"queues.actions":        {"操作", "Actions"},
		"queues.do_retry":       {"重试", "Retry"},
		"queues.do_delete":      {"删除", "Delete"},
		"queues.done.retry":     {"队列 %s 的任务 %s 已重新排队。", "Task %[2]s of queue %[1]s is pending again."},
		"queues.done.delete":    {"队列 %s 的任务 %s 已删除。", "Task %[2]s of queue %[1]s is deleted."},
	})
}
