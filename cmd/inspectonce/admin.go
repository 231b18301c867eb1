package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

func runSeed(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envFile := fs.String("env-file", "", "also write the tokens, scopes and API address as shell variables to this file (mode 0600)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError{"seed takes: [--env-file FILE]"}
	}
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
	if err := tw.Flush(); err != nil {
		return err
	}
	if *envFile == "" {
		return nil
	}
	if err := writeSeedEnv(*envFile, cfg.HTTP.PublicBaseURL, cfg.TimeZone, res.Tokens); err != nil {
		return err
	}
	fmt.Fprintf(out, "tokens written to %s (source it: . %s)\n", *envFile, *envFile)
	return nil
}

// writeSeedEnv writes the seeded tokens as shell variables, so the README's
// examples paste and run after one `source`: every variable they use is set.
func writeSeedEnv(path, baseURL, zone string, tokens []seed.Token) error {
	var b strings.Builder
	b.WriteString("# written by `inspectonce seed --env-file`: the demo county's tokens and scopes\n")
	fmt.Fprintf(&b, "export BASE=%s\nexport API=%s/api/v1\n", shellQuote(baseURL), shellQuote(baseURL))
	// "Today" is the county's: on a server kept in UTC, `date +%F` would name
	// yesterday for the first hours of a Chinese morning.
	fmt.Fprintf(&b, "# so that `date` gives the county's dates, as the service counts them\nexport TZ=%s\n", shellQuote(zone))
	for _, t := range tokens {
		name, scopeVar := "", ""
		switch t.Role {
		case domain.RoleAdmin:
			name = "ADMIN"
		case domain.RolePlanner:
			name, scopeVar = "PLANNER", "DEPT"
		case domain.RoleTeamLeader:
			name, scopeVar = "LEADER", "TEAM"
		case domain.RoleInspector:
			name, scopeVar = "INSPECTOR", "INSPECTOR_ID"
		case domain.RoleBusiness:
			name, scopeVar = "BUSINESS", "USCC"
		case domain.RoleWitness:
			name = "WITNESS"
		default:
			continue
		}
		fmt.Fprintf(&b, "export %s=%s\n", name, shellQuote(t.Token))
		if scopeVar != "" {
			fmt.Fprintf(&b, "export %s=%s\n", scopeVar, shellQuote(t.Scope))
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("seed --env-file: %w", err)
	}
	// WriteFile keeps the mode of a file that already exists.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("seed --env-file: %w", err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
	const usage = "import needs: businesses|inspectors|unavailability|closures [--dry-run [--limit N] [--after-line N]] [--empty keep|clear] [--risk-override --reason TEXT] FILE.csv|FILE.xlsx"
	if len(args) == 0 || (args[0] != "businesses" && args[0] != "inspectors" && args[0] != store.ImportUnavailability && args[0] != store.ImportClosures) {
		return usageError{usage}
	}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dry := fs.Bool("dry-run", false, "write nothing; print what the import would do")
	empty := fs.String("empty", store.EmptyKeep, "what an empty cell means: keep or clear")
	override := fs.Bool("risk-override", false, "allow lowering risk codes set by visit results")
	reason := fs.String("reason", "", "why the override is justified (required with --risk-override)")
	limit := fs.Int("limit", csvimport.DefaultReportLimit, "dry run: lines to report")
	after := fs.Int("after-line", 0, "dry run: report only lines after this one")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"import: " + err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{usage}
	}
	if *limit < 1 || *limit > csvimport.MaxReportLimit || *after < 0 {
		return usageError{fmt.Sprintf("import: --limit must be between 1 and %d and --after-line 0 or more", csvimport.MaxReportLimit)}
	}
	opt := csvimport.Options{BatchSize: cfg.Import.BatchSize, ReportLimit: *limit, ReportAfterLine: *after,
		Import: store.ImportOptions{EmptyCells: *empty, RiskOverride: *override, Reason: *reason},
		Progress: func(read, loaded, rejected int) {
			fmt.Fprintf(os.Stderr, "\rread %d, loaded %d, rejected %d", read, loaded, rejected)
		}}
	if err := opt.Import.Validate(); err != nil {
		return usageError{"import: " + err.Error()}
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	// CSV or an .xlsx workbook: the importer reads the file's first bytes;
	// the name only helps say what is wrong with a file that is neither.
	f := bufio.NewReaderSize(file, 64<<10)
	head, _ := f.Peek(4)
	switch ext := strings.ToLower(filepath.Ext(fs.Arg(0))); {
	case ext == ".xls":
		return usageError{"import: " + fs.Arg(0) + " is an Excel 97-2003 workbook, which is not read: save it as .xlsx or as CSV UTF-8"}
	case ext == ".xlsx" && !csvimport.LooksLikeXLSX(head):
		return usageError{"import: " + fs.Arg(0) + " is named .xlsx but is not an .xlsx workbook"}
	}
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	actor := "cli:" + osUser()
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	// The command line acts as an admin: anyone's days away, any closure.
	dryFn, importFn := csvimport.DryRunBusinesses, csvimport.Businesses
	switch args[0] {
	case "inspectors":
		dryFn, importFn = csvimport.DryRunInspectors, csvimport.Inspectors
	case store.ImportUnavailability:
		dryFn = func(ctx context.Context, st *store.Store, actor string, r io.Reader, opt csvimport.Options) (csvimport.Report, error) {
			return csvimport.DryRunUnavailability(ctx, st, actor, csvimport.Scope{}, r, opt)
		}
		importFn = func(ctx context.Context, st *store.Store, actor string, r io.Reader, opt csvimport.Options) (store.ImportJob, error) {
			return csvimport.Unavailability(ctx, st, actor, csvimport.Scope{}, r, opt)
		}
	case store.ImportClosures:
		dryFn, importFn = csvimport.DryRunClosures, csvimport.Closures
	}
	if *dry {
		opt.Progress = nil
		rep, err := dryFn(ctx, st, actor, f, opt)
		if err != nil {
			return err
		}
		return enc.Encode(rep)
	}
	job, err := importFn(ctx, st, actor, f, opt)
	fmt.Fprintln(os.Stderr)
	if job.ID != 0 {
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
	lag, err := st.AuditLag(ctx)
	if err != nil {
		return err
	}
	n, brk, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sequencer lag: %d records not yet chained, oldest %s (chained now)\n", lag.Pending, lag.Oldest.Round(time.Millisecond))
	if brk != nil {
		fmt.Fprintf(out, "audit log BROKEN at record %d: %s (%d records read)\n", brk.Seq, brk.Reason, n)
		return fmt.Errorf("audit log broken at record %d", brk.Seq)
	}
	fmt.Fprintf(out, "audit log intact: %d records\n", n)
	return nil
}
