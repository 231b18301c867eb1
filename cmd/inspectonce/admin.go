package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"inspectonce/configs"
	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/seed"
	"inspectonce/store"
)

func runMigrate(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) != 1 {
		return usageError{"migrate needs one of up, down, status"}
	}
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := store.NewMigrator(st.SQL())
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migration(s)\n", n)
	case "down":
		if err := m.Down(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, "rolled back one migration")
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tFILE")
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, state, s.Source)
		}
		return tw.Flush()
	default:
		return usageError{fmt.Sprintf("migrate: unknown action %q", args[0])}
	}
	return nil
}

func runSeed(ctx context.Context, cfg *configs.Config, out io.Writer) error {
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := seed.LoadConfig(ctx, st, cfg, time.Now())
	switch {
	case errors.Is(err, seed.ErrAlreadySeeded):
		fmt.Fprintln(out, "the demo county is already loaded; issuing fresh tokens")
	case err != nil:
		return err
	default:
		fmt.Fprintf(out, "loaded the demo county: %d departments, %d items, %d scenarios, %d regions, %d teams, %d inspectors, %d businesses\n",
			res.Departments, res.Items, res.Scenarios, res.Regions, res.Teams, res.Inspectors, res.Businesses)
		p := res.Past
		fmt.Fprintf(out, "and its past: plan %d (published, %d visits, %d today); %d visits reported (%d results published), "+
			"%d awaiting a second confirmation, %d not reported yet; %d risk codes changed, %d follow-up demands; %d moved, %d code revoked; %d open demands\n",
			p.PlanID, p.Visits, p.Today, p.Reported, p.Published, p.Awaiting, p.Unreported, p.RiskChanges, p.FollowUps,
			p.Moved, p.Revoked, res.Demands)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tSCOPE\tTOKEN\tWHO")
	for _, t := range res.Tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Role, t.Scope, t.Token, t.Description)
	}
	return tw.Flush()
}

func runToken(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"token needs: create --role ROLE [--scope SCOPE] [--name NAME]"}
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "admin, planner, team_leader, inspector or business")
	scope := fs.String("scope", "", "department code, team id, inspector id or USCC")
	name := fs.String("name", "", "who holds the token")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"token create: " + err.Error()}
	}
	if !domain.Role(*role).Valid() {
		return usageError{fmt.Sprintf("token create: --role %q is not one of admin, planner, team_leader, inspector, business", *role)}
	}
	if *name == "" {
		*name = *role
	}
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	token, id, err := st.CreateToken(ctx, "cli:"+osUser(), *name, domain.Role(*role), *scope)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "token %d for %s %s: %s\n", id, *role, *scope, token)
	return nil
}

func osUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func runImport(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) != 2 || (args[0] != "businesses" && args[0] != "inspectors") {
		return usageError{"import needs: businesses|inspectors FILE.csv"}
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	opt := csvimport.Options{BatchSize: cfg.Import.BatchSize, Progress: func(read, loaded, rejected int) {
		fmt.Fprintf(os.Stderr, "\rread %d, loaded %d, rejected %d", read, loaded, rejected)
	}}
	actor := "cli:" + osUser()
	importFn := csvimport.Businesses
	if args[0] == "inspectors" {
		importFn = csvimport.Inspectors
	}
	job, err := importFn(ctx, st, actor, f, opt)
	fmt.Fprintln(os.Stderr)
	if job.ID != 0 {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if eerr := enc.Encode(job); eerr != nil {
			return eerr
		}
	}
	return err
}

func runAudit(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return usageError{"audit needs: verify"}
	}
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, brk, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		fmt.Fprintf(out, "audit log BROKEN at record %d: %s (%d records read)\n", brk.Seq, brk.Reason, n)
		return fmt.Errorf("audit log broken at record %d", brk.Seq)
	}
	fmt.Fprintf(out, "audit log intact: %d records\n", n)
	return nil
}
