package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"inspectonce/configs"
	"inspectonce/store"
)

// runRepair is `repair list|show|problems|run|verify`: the repairs of the
// calendar that leave and closures open (the worker runs them; `run` runs
// one here, e.g. while no worker is up).
func runRepair(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	const use = "repair needs: list [--status pending|running|done] [--with-problems] | show --id ID | problems [--id ID] | run --id ID | verify --id ID | restore --id ID"
	if len(args) == 0 {
		return usageError{use}
	}
	fs := flag.NewFlagSet("repair "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.Int64("id", 0, "repair id")
	status := fs.String("status", "", "list: pending, running or done")
	withProblems := fs.Bool("with-problems", false, "list: only repairs that left visits unrepaired")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"repair " + args[0] + ": " + err.Error()}
	}
	needID := func() error {
		if *id <= 0 {
			return usageError{"repair " + args[0] + ": --id ID is required"}
		}
		return nil
	}
	switch *status {
	case "", store.RepairPending, store.RepairRunning, store.RepairDone:
	default:
		return usageError{"repair list: --status must be pending, running or done"}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(out)
	switch args[0] {
	case "list":
		for page := (store.Page{Limit: store.MaxLimit}); ; {
			p, err := st.ListRepairs(ctx, store.RepairFilter{Status: *status, WithProblems: *withProblems}, page)
			if err != nil {
				return err
			}
			if err := printJSONLines(out, p.Items); err != nil || p.Next == "" {
				return err
			}
			page.After = p.Next
		}
	case "show":
		if err := needID(); err != nil {
			return err
		}
		r, err := st.GetRepair(ctx, *id)
		if err != nil {
			return err
		}
		subs, err := st.RepairSubstitutions(ctx, *id)
		if err != nil {
			return err
		}
		return enc.Encode(struct {
			store.CalendarRepair
			Substitutions []store.VisitSubstitution `json:"substitutions"`
		}{r, append([]store.VisitSubstitution{}, subs...)})
	case "problems":
		for page := (store.Page{Limit: store.MaxLimit}); ; {
			p, err := st.RepairProblems(ctx, *id, page)
			if err != nil {
				return err
			}
			if err := printJSONLines(out, p.Items); err != nil || p.Next == "" {
				return err
			}
			page.After = p.Next
		}
	case "run":
		if err := needID(); err != nil {
			return err
		}
		r, err := svc.RunRepair(ctx, *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "repair %d %s: %d visits looked at, %d moved, %d restaffed, %d unrepaired\n",
			r.ID, r.Status, deref(r.Visits), r.Moved, r.Restaffed, r.Unrepaired)
		return nil
	case "restore":
		if err := needID(); err != nil {
			return err
		}
		r, err := st.OpenRestore(ctx, "cli:"+osUser(), *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "repair %d queued: moves repair %d's visits back where they can go (run it: repair run --id %d)\n", r.ID, *id, r.ID)
		return nil
	case "verify":
		if err := needID(); err != nil {
			return err
		}
		v, err := svc.VerifyRepair(ctx, *id)
		if err != nil {
			return err
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
		if v.Mismatches > 0 {
			return fmt.Errorf("repair %d: %d of %d draws do not replay", *id, v.Mismatches, len(v.Draws))
		}
		return nil
	}
	return usageError{use}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
