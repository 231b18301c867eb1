// Command inspectonce is the one binary of InspectOnce: the API, the worker, the
// scheduler, and the administrative commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"inspectonce/configs"
)

const usage = `inspectonce: plan joint inspections ("综合查一次") for a county.

Usage:
  inspectonce [--config FILE] COMMAND [ARGS]

Commands:
  all                     run the API, worker and scheduler in one process (one machine)
  serve                   run the HTTP API
  worker                  run the job worker pool
  scheduler               run the cron scheduler
  migrate up|down|status  apply, roll back (one step) or list database migrations
  seed [--env-file FILE]  load the demo county and print a token for each role
                          (--env-file: also as shell variables ADMIN, PLANNER, LEADER, TEAM, ...)
  token create --role R [--scope S] [--name N]
                          issue an API token (roles: admin, planner, team_leader, inspector, business)
  import businesses|inspectors [--dry-run [--limit N] [--after-line N]] [--empty keep|clear]
         [--risk-override --reason TEXT] FILE.csv|FILE.xlsx
                          bulk-load a registry from CSV or .xlsx (its first sheet), reporting
                          every bad row by its line (an .xlsx file: the row number); rows change
                          only the columns the file carries; --dry-run writes nothing and
                          prints what would be new, changed (field by field) or refused
  import unavailability|closures [--dry-run [--limit N] [--after-line N]] FILE.csv|FILE.xlsx
                          add inspectors' days away (inspector,from,to,reason) or closures
                          (region or team,from,to,reason) from CSV or .xlsx, each row audited; a row
                          identical to a stored one is unchanged, so a file loads only once
  audit verify            walk the audit log's hash chain and name the first broken record
  plan [--horizon 28d] [--from YYYY-MM-DD] [--region ID,...] [--independent]
       [--dry-run] [--publish [--force]] [--json]
                          run a planning cycle (from the next working day by default) and
                          print its stats; --publish publishes the draft it made
  plan publish|discard|show ID [--json] [--force]
                          publish, discard or show a stored plan; a plan with no visits
                          is refused with the reason it is empty unless --force; a draft
                          is published only once every planning.approval_steps is approved
  plan approve --id N --step S --opinion TEXT [--reject] [--json]
                          record a decision on a draft's next approval step (法制审核 …)
  demand place ID [--json]
                          place an urgent demand (a complaint, or priority 1) into the
                          calendar at once: a plan of that demand alone from today, on the
                          earliest feasible team-days, published at once; prints the plan
                          and its visits, or why nothing could be placed
  draw verify --plan ID [--json]
                          recompute every draw of a published plan; exit 1 on a mismatch
  draw verify --public BASE_URL --plan ID [--json]
                          the outsider's check, from the service's open data alone (no
                          configuration, database or token): recompute every published
                          draw, check every commitment, check each business visited for a
                          draw was drawn and each drawn is accounted for; exit 1 on a
                          mismatch, 3 when something could not be checked yet
  dispatch status --plan ID [--json]
                          how far a published plan's dispatch has got: visits, dispatched,
                          notifications, pending, failed
  unavailability add --inspector ID --from YYYY-MM-DD --to YYYY-MM-DD --reason TEXT
  unavailability list [--inspector ID] [--team ID] [--from D] [--to D]
  unavailability delete --inspector ID --id ID
                          record, list (JSON lines) or delete an inspector's days away;
                          plans place nothing on them, and published visits on them are
                          repaired (audited)
  closure add --region ID|--team ID --from YYYY-MM-DD --to YYYY-MM-DD --reason TEXT
  closure list [--region ID] [--team ID] [--from D] [--to D]
  closure delete --id ID
                          close a region (and all below it) or a team for days, list
                          (JSON lines) or lift closures; plans place nothing on them, and
                          published visits on them are repaired (audited)
  repair list [--status pending|running|done] [--with-problems]
  repair show --id ID | repair problems [--id ID]
                          the repairs leave and closures opened (JSON lines): what each moved
                          or restaffed, and the visits it could not repair, with the reason
  repair run --id ID      run a repair here (the worker runs them; a repair done is left as is)
  repair verify --id ID   replay a repair's replacement draws; exit 1 on a mismatch
  repair restore --id ID  once its leave or closure is lifted, move the visits a repair moved
                          back to their days where they still fit (a new repair, queued)
  year close YEAR [--force]
                          reveal a year's key (only once the year has ended, unless --force)
  bench load [--duration 5s] [--rates 50,100,...] [--routes healthz,schedule,...] [--keep]
             [--database-url URL --redis-url URL] [--pgbench-duration 10s]
                          the load benchmark: throwaway servers, the demo county, a published
                          plan, rising open-loop rates per route (knee, goodput at twice it)
                          and pgbench -S as a baseline (bench load --help: every flag)

Configuration: configs/default.yaml is built in; --config FILE (or INSPECTONCE_CONFIG)
is read over it, and INSPECTONCE_* environment variables override both.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "inspectonce:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		var pe errPending
		if errors.As(err, &pe) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + " (see inspectonce --help)" }

func run(ctx context.Context, args []string, stdout io.Writer, environ []string) error {
	fs := flag.NewFlagSet("inspectonce", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", os.Getenv("INSPECTONCE_CONFIG"), "configuration file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stdout, usage)
		return usageError{"no command given"}
	}
	if fs.Arg(0) == "draw" && publicVerify(fs.Args()[1:]) {
		// An outsider's check: no configuration, database or token is
		// read, only the service's public open data.
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runPublicDrawVerify(ctx, fs.Args()[1:], stdout)
	}
	cfg, err := configs.Load(*configPath, environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "serve", "worker", "scheduler", "all":
		return runService(ctx, cfg, log, cmd)
	case "migrate":
		return runMigrate(ctx, cfg, rest, stdout)
	case "seed":
		return runSeed(ctx, cfg, rest, stdout)
	case "token":
		return runToken(ctx, cfg, rest, stdout)
	case "import":
		return runImport(ctx, cfg, rest, stdout)
	case "audit":
		return runAudit(ctx, cfg, rest, stdout)
	case "plan":
		return runPlan(ctx, cfg, rest, stdout)
	case "draw":
		return runDraw(ctx, cfg, rest, stdout)
	case "year":
		return runYear(ctx, cfg, rest, stdout)
	case "dispatch":
		return runDispatch(ctx, cfg, rest, stdout)
	case "unavailability":
		return runUnavailability(ctx, cfg, rest, stdout)
	case "closure":
		return runClosure(ctx, cfg, rest, stdout)
	case "repair":
		return runRepair(ctx, cfg, rest, stdout)
	case "demand":
		return runDemand(ctx, cfg, rest, stdout)
	case "bench":
		return runBench(ctx, rest, stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func newLogger(cfg *configs.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
