package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"inspectonce/drawcheck"
)

// publicVerify reports whether args are `verify --public …`.
func publicVerify(args []string) bool {
	if len(args) == 0 || args[0] != "verify" {
		return false
	}
	for _, a := range args[1:] {
		if a == "--public" || a == "-public" || strings.HasPrefix(a, "--public=") || strings.HasPrefix(a, "-public=") {
			return true
		}
	}
	return false
}

// errPending is the exit for a verification with nothing wrong but
// something not checkable yet.
type errPending struct{ msg string }

func (e errPending) Error() string { return e.msg }

// runPublicDrawVerify is `inspectonce draw verify --public BASE_URL --plan ID
// [--json]`.
func runPublicDrawVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("draw verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	base := fs.String("public", "", "the service's address, e.g. https://inspect.example.gov.cn")
	id := fs.Int64("plan", 0, "the published plan whose draws to check")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"draw verify: " + err.Error()}
	}
	if *id <= 0 || fs.NArg() > 0 {
		return usageError{"draw verify --public BASE_URL needs --plan ID"}
	}
	c, err := drawcheck.NewClient(*base)
	if err != nil {
		return usageError{err.Error()}
	}
	r, err := c.Verify(ctx, *id)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			*drawcheck.Report
			OK       bool `json:"ok"`
			Complete bool `json:"complete"`
		}{r, r.OK(), r.Complete()}); err != nil {
			return err
		}
	} else {
		printPublicReport(out, r)
	}
	switch {
	case !r.OK():
		return fmt.Errorf("plan %d: %d mismatches", r.PlanID, len(r.Mismatches))
	case !r.Complete():
		return errPending{fmt.Sprintf("plan %d: nothing differs, but %d checks are pending", r.PlanID, len(r.Pending))}
	}
	return nil
}

func printPublicReport(out io.Writer, r *drawcheck.Report) {
	fmt.Fprintf(out, "plan %d of %s, year %d, randomness: %s\n", r.PlanID, r.Source, r.Year, r.Randomness)
	pct := func(a, b int) string {
		if b == 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f %%", 100*float64(a)/float64(b))
	}
	fmt.Fprintf(out, "target draws: %d, recomputed %d (%s), matched %d\n", r.TargetDraws, r.TargetRecomputed,
		pct(r.TargetRecomputed, r.TargetDraws), r.TargetMatched)
	fmt.Fprintf(out, "inspector draws published: %d, matched %d\n", r.InspectorDraws, r.InspectorMatched)
	fmt.Fprintf(out, "businesses drawn: %d, accounted for %d (%s); visited tasks checked against their draws: %d\n",
		r.Selected, r.AccountedFor, pct(r.AccountedFor, r.Selected), r.TasksChecked)
	for _, s := range r.Checks {
		fmt.Fprintf(out, "  ok       %s\n", s)
	}
	for _, s := range r.Pending {
		fmt.Fprintf(out, "  pending  %s\n", s)
	}
	for _, s := range r.Mismatches {
		fmt.Fprintf(out, "  MISMATCH %s\n", s)
	}
	switch {
	case !r.OK():
		fmt.Fprintf(out, "verdict: %d MISMATCHES\n", len(r.Mismatches))
	case !r.Complete():
		fmt.Fprintln(out, "verdict: nothing differs so far; some checks are pending (above)")
	default:
		fmt.Fprintln(out, "verdict: every draw recomputed and matched, every business drawn accounted for")
	}
}
