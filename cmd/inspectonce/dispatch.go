package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"inspectonce/configs"
	"inspectonce/jobs"
	"inspectonce/store"
)

// dispatchOutput is what `dispatch status --json` prints (the same figures as
// GET /api/v1/plans/{id}/dispatch).
type dispatchOutput struct {
	store.DispatchStatus
	// Failed counts the visits carried by the plan's archived dispatch tasks
	// (dispatch:visits batches, or older dispatch:visit ones) — retries spent,
	// or refused (jobs.ArchivedDispatches). They are also counted in pending.
	Failed     int    `json:"failed"`
	FailedNote string `json:"failed_note,omitempty"`
}

// runDispatch is `inspectonce dispatch status --plan ID [--json]`.
func runDispatch(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return usageError{"dispatch needs: status --plan ID [--json]"}
	}
	fs := flag.NewFlagSet("dispatch status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.Int64("plan", 0, "the plan whose dispatch to report")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"dispatch status: " + err.Error()}
	}
	if *id <= 0 || fs.NArg() > 0 {
		return usageError{"dispatch status needs --plan ID"}
	}
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.PlanDispatchStatus(ctx, *id)
	if err != nil {
		return err
	}
	o := dispatchOutput{DispatchStatus: s}
	o.Failed, err = archivedDispatches(ctx, cfg, *id)
	if err != nil {
		o.FailedNote = "failed is not known, the queue could not be read: " + err.Error()
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	printDispatch(out, o)
	return nil
}

// archivedDispatches counts the plan's archived dispatch tasks in Redis,
// giving up quickly when Redis does not answer.
func archivedDispatches(ctx context.Context, cfg *configs.Config, planID int64) (int, error) {
	ropt, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return 0, fmt.Errorf("redis.url: %w", err)
	}
	ropt.DialTimeout, ropt.MaxRetries = 2*time.Second, -1
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return 0, fmt.Errorf("redis unreachable: %w", err)
	}
	qopt, err := asynq.ParseRedisURI(cfg.Redis.URL)
	if err != nil {
		return 0, fmt.Errorf("redis.url: %w", err)
	}
	ins := asynq.NewInspector(qopt)
	defer ins.Close()
	return jobs.ArchivedDispatches(ins, planID, "")
}

func printDispatch(out io.Writer, o dispatchOutput) {
	fmt.Fprintf(out, "plan %d (%s)\n", o.PlanID, o.PlanStatus)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "visits\t%d\n", o.Visits)
	fmt.Fprintf(tw, "dispatched\t%d\t(notices written)\n", o.Dispatched)
	fmt.Fprintf(tw, "pending\t%d\t(%d not relayed to the queue, %d queued or running)\n", o.Pending, o.PendingRelay, o.PendingTasks)
	if o.FailedNote != "" {
		fmt.Fprintf(tw, "failed\t?\t(%s)\n", o.FailedNote)
	} else {
		fmt.Fprintf(tw, "failed\t%d\t(retries spent, archived in the queue)\n", o.Failed)
	}
	fmt.Fprintf(tw, "notifications\t%d\n", o.Notifications)
	for _, k := range sortedKeys(o.NotificationsByKind) {
		fmt.Fprintf(tw, "  %s\t%d\n", k, o.NotificationsByKind[k])
	}
	if len(o.Webhooks) > 0 {
		fmt.Fprintf(tw, "webhook deliveries\n")
		for _, k := range sortedKeys(o.Webhooks) {
			fmt.Fprintf(tw, "  %s\t%d\n", k, o.Webhooks[k])
		}
	}
	tw.Flush()
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
