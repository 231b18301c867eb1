package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/store"
)

// Bounds of an unavailability or a closure, as the API enforces them.
const (
	cliMaxReason = 500
	cliMaxDays   = 366
)

// cliSpan checks --from, --to and --reason as the API does.
func cliSpan(cmd, from, to, reason string) (time.Time, time.Time, error) {
	f, err := domain.ParseDate(from, time.UTC)
	if err != nil {
		return f, f, usageError{cmd + ": --from " + err.Error()}
	}
	t, err := domain.ParseDate(to, time.UTC)
	if err != nil {
		return f, t, usageError{cmd + ": --to " + err.Error()}
	}
	if t.Before(f) {
		return f, t, usageError{cmd + ": --to must not be before --from"}
	}
	if days := int(t.Sub(f).Hours()/24) + 1; days > cliMaxDays {
		return f, t, usageError{fmt.Sprintf("%s: the span must be at most %d days, got %d", cmd, cliMaxDays, days)}
	}
	if strings.TrimSpace(reason) == "" || utf8.RuneCountInString(reason) > cliMaxReason {
		return f, t, usageError{fmt.Sprintf("%s: --reason is required (at most %d characters)", cmd, cliMaxReason)}
	}
	return f, t, nil
}

func printJSONLines[T any](out io.Writer, items []T) error {
	enc := json.NewEncoder(out)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// runUnavailability is `unavailability add|list|delete`.
func runUnavailability(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	const use = "unavailability needs: add --inspector ID --from YYYY-MM-DD --to YYYY-MM-DD --reason TEXT | list [--inspector ID] [--team ID] [--from D] [--to D] | delete --inspector ID --id ID"
	if len(args) == 0 {
		return usageError{use}
	}
	fs := flag.NewFlagSet("unavailability "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	insp := fs.Int64("inspector", 0, "inspector id")
	team := fs.Int64("team", 0, "team id (list)")
	id := fs.Int64("id", 0, "unavailability id (delete)")
	from := fs.String("from", "", "first day")
	to := fs.String("to", "", "last day")
	reason := fs.String("reason", "", "why")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"unavailability " + args[0] + ": " + err.Error()}
	}
	switch args[0] {
	case "add":
		if *insp <= 0 {
			return usageError{"unavailability add: --inspector ID is required"}
		}
		f, t, err := cliSpan("unavailability add", *from, *to, *reason)
		if err != nil {
			return err
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		u, err := st.CreateUnavailability(ctx, "cli:"+osUser(), *insp, f, t, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "unavailability %d: inspector %d away %s..%s (%s); repair %d of its published visits queued\n",
			u.ID, u.InspectorID, u.From, u.To, u.Reason, deref64(u.RepairID))
		return nil
	case "list":
		filter := store.UnavailabilityFilter{InspectorID: *insp, TeamID: *team}
		var err error
		if filter.From, filter.To, err = cliRange("unavailability list", *from, *to); err != nil {
			return err
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		for page := (store.Page{Limit: store.MaxLimit}); ; {
			p, err := st.ListUnavailability(ctx, filter, page)
			if err != nil {
				return err
			}
			if err := printJSONLines(out, p.Items); err != nil {
				return err
			}
			if p.Next == "" {
				return nil
			}
			page.After = p.Next
		}
	case "delete":
		if *insp <= 0 || *id <= 0 {
			return usageError{"unavailability delete: --inspector ID and --id ID are required"}
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		u, err := st.DeleteUnavailability(ctx, "cli:"+osUser(), *insp, *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "unavailability %d deleted: inspector %d %s..%s (%s)\n", u.ID, u.InspectorID, u.From, u.To, u.Reason)
		return nil
	}
	return usageError{use}
}

// cliRange reads optional --from/--to list filters.
func cliRange(cmd, from, to string) (time.Time, time.Time, error) {
	var f, t time.Time
	var err error
	if from != "" {
		if f, err = domain.ParseDate(from, time.UTC); err != nil {
			return f, t, usageError{cmd + ": --from " + err.Error()}
		}
	}
	if to != "" {
		if t, err = domain.ParseDate(to, time.UTC); err != nil {
			return f, t, usageError{cmd + ": --to " + err.Error()}
		}
	}
	return f, t, nil
}

// runClosure is `closure add|list|delete`.
func runClosure(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	const use = "closure needs: add --region ID|--team ID --from YYYY-MM-DD --to YYYY-MM-DD --reason TEXT | list [--region ID] [--team ID] [--from D] [--to D] | delete --id ID"
	if len(args) == 0 {
		return usageError{use}
	}
	fs := flag.NewFlagSet("closure "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	region := fs.Int64("region", 0, "region id")
	team := fs.Int64("team", 0, "team id")
	id := fs.Int64("id", 0, "closure id (delete)")
	from := fs.String("from", "", "first day")
	to := fs.String("to", "", "last day")
	reason := fs.String("reason", "", "why")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"closure " + args[0] + ": " + err.Error()}
	}
	switch args[0] {
	case "add":
		if (*region > 0) == (*team > 0) {
			return usageError{"closure add: give exactly one of --region ID and --team ID"}
		}
		f, t, err := cliSpan("closure add", *from, *to, *reason)
		if err != nil {
			return err
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		c, err := st.CreateClosure(ctx, "cli:"+osUser(), *region, *team, f, t, *reason)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("region %d", *region)
		if *team > 0 {
			what = fmt.Sprintf("team %d", *team)
		}
		fmt.Fprintf(out, "closure %d: %s closed %s..%s (%s); repair %d of its published visits queued\n",
			c.ID, what, c.From, c.To, c.Reason, deref64(c.RepairID))
		return nil
	case "list":
		filter := store.ClosureFilter{RegionID: *region, TeamID: *team}
		var err error
		if filter.From, filter.To, err = cliRange("closure list", *from, *to); err != nil {
			return err
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		for page := (store.Page{Limit: store.MaxLimit}); ; {
			p, err := st.ListClosures(ctx, filter, page)
			if err != nil {
				return err
			}
			if err := printJSONLines(out, p.Items); err != nil {
				return err
			}
			if p.Next == "" {
				return nil
			}
			page.After = p.Next
		}
	case "delete":
		if *id <= 0 {
			return usageError{"closure delete: --id ID is required"}
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		c, err := st.DeleteClosure(ctx, "cli:"+osUser(), *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "closure %d lifted: %s..%s (%s)\n", c.ID, c.From, c.To, c.Reason)
		return nil
	}
	return usageError{use}
}
