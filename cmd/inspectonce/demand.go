package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"inspectonce/configs"
	"inspectonce/store"
)

// runDemand is `inspectonce demand place ID [--json]`: place an urgent
// demand (a complaint, or priority 1) into the calendar at once — a plan
// restricted to it from today to its window's end, published at once (see
// planning.Service.PlaceNow). It prints the plan like `plan` does, then the
// visits it made (date, team, business) and what it could not place.
func runDemand(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	const use = "demand needs: place ID [--json]"
	if len(args) == 0 || args[0] != "place" {
		return usageError{use}
	}
	fs := flag.NewFlagSet("demand place", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print one JSON object")
	var idS string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return usageError{"demand place: " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		if idS != "" {
			return usageError{fmt.Sprintf("demand place: unexpected argument %q", fs.Arg(0))}
		}
		idS, rest = fs.Arg(0), fs.Args()[1:]
	}
	id, err := strconv.ParseInt(idS, 10, 64)
	if err != nil || id <= 0 {
		return usageError{use}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	pl, err := svc.PlaceNow(ctx, "cli:"+osUser(), id, 0)
	if err != nil {
		return err
	}
	p := pl.Plan
	o := planOutput{PlanID: p.ID, Status: p.Status, From: p.From, To: p.To, Mode: p.Mode, Year: p.Year, Shift: p.Shift,
		SeedHash: p.SeedHash, Seed: p.Seed, Empty: p.Empty}
	if p.Stats != nil {
		fillStats(&o, *p.Stats)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			planOutput
			UrgentDemandID int64             `json:"urgent_demand_id"`
			Visits         []store.PlanVisit `json:"visits"`
			UnplacedTasks  []store.PlanTask  `json:"unplaced_tasks"`
		}{o, id, pl.Visits, pl.Unplaced})
	}
	fmt.Fprintf(out, "demand %d placed now by plan %d (published; dispatch follows through the relay)\n", id, p.ID)
	if err := printPlan(out, o, false); err != nil {
		return err
	}
	for _, v := range pl.Visits {
		fmt.Fprintf(out, "visit %d: %s team %d %s %s (%d inspectors)\n", v.Seq, v.Date, v.TeamID, v.USCC, v.BusinessName, len(v.Inspectors))
	}
	for _, t := range pl.Unplaced {
		fmt.Fprintf(out, "unplaced: %s item %d: %s\n", t.USCC, t.ItemID, t.UnplacedReason)
	}
	return nil
}
