package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/store"
)

// The imports page (issue 18): a CSV file of businesses, inspectors, days
// away or closures, tried first as a dry run (the diff field by field and the
// refused lines) and then imported for real, with the job's progress shown
// while it loads. Both go through csvimport.For, as POST
// /api/v1/imports/{kind} does, so who may import what is decided once.

// importRoles may open the imports page: an admin any kind, a team leader its
// own members' days away (csvimport.Roles).
var importRoles = []domain.Role{domain.RoleAdmin, domain.RoleTeamLeader}

const (
	// importRefresh reloads a running job's page.
	importRefresh = 2
	// importTimeout bounds a page's import running on after its request.
	importTimeout = 2 * time.Hour
)

// importLines remembers how many data lines each file the page started had,
// so a running job's progress bar has a length. It is only a hint: a job
// started elsewhere (the API, another instance) shows an indeterminate bar.
var importLines sync.Map // job id → int

func (p *Pages) importRoutes(g *echo.Group) {
	limit := int64(512 << 20)
	if p.cfg != nil && p.cfg.HTTP.ImportLimitBytes > 0 {
		limit = p.cfg.HTTP.ImportLimitBytes
	}
	g.GET("/imports", p.page(p.importsPage))
	g.POST("/imports", p.page(p.importUpload), middleware.BodyLimit(strconv.FormatInt(limit, 10)+"B"))
	g.GET("/imports/:id", p.page(p.importJobPage))
}

// importForm is what the upload form holds, to show it again.
type importForm struct {
	Kind         string
	DryRun       bool
	EmptyClear   bool
	RiskOverride bool
	Reason       string
	FileName     string
}

type importsView struct {
	Kinds []string
	Form  importForm
	// Errors are the form's refusals by field ("" for the whole form).
	Errors map[string]string
	// Report is a dry run's outcome, nil before one.
	Report *csvimport.Report
	// Staged is the token of the dry run's file, for "import it now", kept
	// StageMinutes.
	Staged       string
	StageMinutes int
}

func (p *Pages) importKinds(v domain.Principal) []string {
	var out []string
	for _, k := range csvimport.Kinds {
		if slices.Contains(csvimport.Roles(k), v.Role) {
			out = append(out, k)
		}
	}
	return out
}

// importsPage is GET /imports: the upload form.
func (p *Pages) importsPage(c echo.Context) error {
	v, err := allow(c, importRoles...)
	if err != nil {
		return err
	}
	kinds := p.importKinds(v)
	form := importForm{Kind: kinds[0], DryRun: true}
	if k := c.QueryParam("kind"); slices.Contains(kinds, k) {
		form.Kind = k
	}
	return p.render(c, http.StatusOK, "imports", "imp.title", importsView{Kinds: kinds, Form: form})
}

// importUpload is POST /imports (multipart): a dry run answers with its
// report on the form's page; a real import starts a job and answers 303 to
// the job's page, which follows its progress.
func (p *Pages) importUpload(c echo.Context) error {
	v, err := allow(c, importRoles...)
	if err != nil {
		return err
	}
	view := importsView{Kinds: p.importKinds(v), Errors: map[string]string{}}
	form := importForm{Kind: c.FormValue("kind"), DryRun: c.FormValue("dry_run") != "",
		EmptyClear: c.FormValue("empty") == store.EmptyClear, RiskOverride: c.FormValue("risk_override") != "",
		Reason: c.FormValue("reason")}
	lang := negotiate(c.Request())
	refuse := func(field, key string, args ...any) error {
		view.Errors[field] = lang.T(key, args...)
		return p.render(c, http.StatusBadRequest, "imports", "imp.title", view)
	}
	// "Import it now" after a dry run sends the staged file's token, not the
	// file: the import runs on that file with the options it was tried with.
	var sf stagedFile
	if tok := c.FormValue("staged"); tok != "" && !form.DryRun {
		var ok bool
		if sf, ok = takeStaged(tok, v.Actor(), form.Kind, p.now()); !ok {
			view.Form = form
			return refuse("file", "imp.err.staged_gone")
		}
		form = sf.form
		form.DryRun = false
	}
	view.Form = form
	run, err := csvimport.For(form.Kind, v)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return refuse("kind", "imp.err.kind")
	case err != nil:
		return err
	}
	switch {
	case form.EmptyClear && form.Kind != store.ImportBusinesses && form.Kind != store.ImportInspectors:
		return refuse("empty", "imp.err.empty_kind")
	case form.RiskOverride && form.Kind != store.ImportBusinesses:
		return refuse("risk_override", "imp.err.override_kind")
	case form.RiskOverride && strings.TrimSpace(form.Reason) == "":
		return refuse("reason", "imp.err.reason")
	case utf8.RuneCountInString(form.Reason) > store.MaxOverrideReason:
		return refuse("reason", "imp.err.reason_long", store.MaxOverrideReason)
	}
	if !form.RiskOverride {
		form.Reason, view.Form.Reason = "", ""
	}
	opt := csvimport.Options{Import: store.ImportOptions{RiskOverride: form.RiskOverride, Reason: form.Reason}}
	if form.EmptyClear {
		opt.Import.EmptyCells = store.EmptyClear
	}
	if p.cfg != nil {
		opt.BatchSize = p.cfg.Import.BatchSize
	}

	// The job runs on after this request (the page follows it), and a dry
	// run's file is kept for "import it now": both read a copy of the file,
	// since the upload's own is removed when the request ends.
	path, lines := sf.path, sf.lines
	if path == "" {
		fh, err := c.FormFile("file")
		if err != nil || fh.Size == 0 {
			return refuse("file", "imp.err.file")
		}
		view.Form.FileName = fh.Filename
		f, err := fh.Open()
		if err != nil {
			return fmt.Errorf("open the uploaded file: %w", err)
		}
		path, lines, err = spoolUpload(f)
		f.Close()
		if err != nil {
			return err
		}
	}

	var ve *domain.ValidationError
	if form.DryRun {
		f, err := os.Open(path)
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("open the spooled upload: %w", err)
		}
		rep, err := run.DryRun(c.Request().Context(), p.store, v.Actor(), f, opt)
		f.Close()
		if err != nil {
			os.Remove(path)
			if errors.As(err, &ve) {
				// The file as a whole (a missing column) or an option.
				return refuse(importField(ve), "imp.err.refused", lang.impRefusal(form.Kind, ve))
			}
			return fmt.Errorf("%s dry run: %w", form.Kind, err)
		}
		view.Report = &rep
		view.Staged = stage(stagedFile{path: path, lines: lines, actor: v.Actor(), form: view.Form}, p.now())
		view.StageMinutes = int(stageTTL / time.Minute)
		return p.render(c, http.StatusOK, "imports", "imp.title", view)
	}

	id, err := p.startImport(c.Request().Context(), run, v.Actor(), path, opt)
	if errors.As(err, &ve) {
		return refuse(importField(ve), "imp.err.refused", lang.impRefusal(form.Kind, ve))
	}
	if err != nil {
		return err
	}
	importLines.Store(id, lines)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/imports/%d", id))
}

// stagedFile is a dry run's file kept so that the same file can be imported
// without a second upload, for its actor only and for a while (stageTTL).
// Staged files live in this process: behind several instances the token
// may be unknown, and the page asks for the file again.
type stagedFile struct {
	path    string
	lines   int
	actor   string
	form    importForm
	expires time.Time
}

// stageTTL is how long a dry run's file is kept.
const stageTTL = 30 * time.Minute

var (
	stagedMu sync.Mutex
	staged   = map[string]stagedFile{}
)

// stage keeps f and returns its token; files past their time are removed.
func stage(f stagedFile, now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		os.Remove(f.path)
		return "" // no token: the page asks for the file again
	}
	tok := hex.EncodeToString(b[:])
	f.expires = now.Add(stageTTL)
	stagedMu.Lock()
	defer stagedMu.Unlock()
	for k, old := range staged {
		if now.After(old.expires) {
			os.Remove(old.path)
			delete(staged, k)
		}
	}
	staged[tok] = f
	return tok
}

// takeStaged hands over the file of tok, once, to the actor that staged it
// for the same kind.
func takeStaged(tok, actor, kind string, now time.Time) (stagedFile, bool) {
	stagedMu.Lock()
	defer stagedMu.Unlock()
	f, ok := staged[tok]
	if !ok || f.actor != actor || f.form.Kind != kind {
		return stagedFile{}, false
	}
	delete(staged, tok)
	if now.After(f.expires) {
		os.Remove(f.path)
		return stagedFile{}, false
	}
	return f, true
}

// importField is the form field a refusal of the options names, "" for the
// file as a whole.
func importField(ve *domain.ValidationError) string {
	for _, fe := range ve.Fields {
		switch fe.Field {
		case "empty", "risk_override", "reason":
			return fe.Field
		}
	}
	return "file"
}

// spoolUpload copies an upload to a file of its own and counts its data lines
// (lines after the header; a quoted cell with a line break counts twice, so
// this is an estimate).
func spoolUpload(f multipart.File) (string, int, error) {
	tmp, err := os.CreateTemp("", "inspectonce-import-*.csv")
	if err != nil {
		return "", 0, fmt.Errorf("spool the upload: %w", err)
	}
	lines := 0
	counter := &lineCounter{n: &lines}
	if _, err := io.Copy(io.MultiWriter(tmp, counter), bufio.NewReader(f)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", 0, fmt.Errorf("spool the upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", 0, fmt.Errorf("spool the upload: %w", err)
	}
	if counter.last != '\n' && counter.seen {
		lines++ // a last line without its newline
	}
	return tmp.Name(), max(lines-1, 0), nil
}

type lineCounter struct {
	n    *int
	last byte
	seen bool
}

func (l *lineCounter) Write(b []byte) (int, error) {
	if len(b) > 0 {
		*l.n += bytes.Count(b, []byte{'\n'})
		l.last, l.seen = b[len(b)-1], true
	}
	return len(b), nil
}

// startImport runs the import of the file at path in the background and
// returns its job's id once the job exists; an error before that (a refused
// option, the database) is returned instead. The file is removed when the
// import ends.
func (p *Pages) startImport(ctx context.Context, run csvimport.Runner, actor, path string, opt csvimport.Options) (int64, error) {
	started := make(chan int64, 1)
	failed := make(chan error, 1)
	opt.Started = func(id int64) { started <- id }
	// The job outlives the request, but not its values (the request id in
	// the logs): a context of its own, bounded.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), importTimeout)
	go func() {
		defer cancel()
		defer os.Remove(path)
		f, err := os.Open(path)
		if err != nil {
			failed <- fmt.Errorf("open the spooled upload: %w", err)
			return
		}
		defer f.Close()
		job, err := run.Import(bg, p.store, actor, f, opt)
		if job.ID == 0 && err != nil {
			failed <- err
			return
		}
		if err != nil {
			// The job records why it failed; the page shows it.
			p.log.WarnContext(bg, "import failed", "kind", run.Kind, "job", job.ID, "err", err)
		}
	}()
	select {
	case id := <-started:
		return id, nil
	case err := <-failed:
		return 0, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

type importJobView struct {
	Job store.ImportJob
	// Total is the file's data lines when known (the page started the job),
	// else 0.
	Total   int
	Running bool
}

// importJobPage is GET /imports/{id}: the job's progress while it runs
// (the page reloads itself) and its refused lines afterwards. As GET
// /api/v1/imports/{id}: an admin sees every job, a team leader the jobs it
// started.
func (p *Pages) importJobPage(c echo.Context) error {
	v, err := allow(c, importRoles...)
	if err != nil {
		return err
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	job, err := p.store.GetImportJob(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if v.Role != domain.RoleAdmin && job.StartedBy != v.Actor() {
		return fmt.Errorf("import %d: %w", id, domain.ErrNotFound)
	}
	view := importJobView{Job: job, Running: job.Status == store.ImportRunning}
	if n, ok := importLines.Load(id); ok {
		view.Total = max(n.(int), job.RowsRead)
	}
	if view.Running {
		autoRefresh(c, importRefresh)
	} else {
		importLines.Delete(id)
		view.Total = job.RowsRead
	}
	return p.render(c, http.StatusOK, "import_job", "imp.job.title", view)
}

func init() {
	addMessages(map[string][2]string{
		"nav.imports":                {"导入", "Imports"},
		"imp.title":                  {"名录导入", "Registry imports"},
		"imp.intro":                  {"上传 CSV 文件（UTF-8，可带 BOM；表头可用中文或英文）。建议先试运行：只显示将新增、修改（逐字段）和被拒绝的行，不写入任何数据。", "Upload a CSV file (UTF-8, with or without a BOM; headers in Chinese or English). Try a dry run first: it shows the rows that would be new, changed (field by field) or refused, and writes nothing."},
		"imp.kind":                   {"导入内容", "What to import"},
		"imp.kind.businesses":        {"市场主体", "Businesses"},
		"imp.kind.inspectors":        {"执法人员", "Inspectors"},
		"imp.kind.unavailability":    {"人员请假", "Inspectors' leave"},
		"imp.kind.closures":          {"停工", "Closures"},
		"imp.file":                   {"CSV 文件", "CSV file"},
		"imp.file_was":               {"（上次选择：%s）", "(last chosen: %s)"},
		"imp.file_help":              {"每行按其主键（统一社会信用代码或执法证号）更新；文件未包含的列保持不变。", "Each row is applied by its key (USCC or certificate number); columns the file lacks are kept."},
		"imp.options":                {"选项", "Options"},
		"imp.empty_clear":            {"空白单元格清空原值（仅市场主体和执法人员）", "Empty cells clear the stored value (businesses and inspectors only)"},
		"imp.risk_override":          {"允许降低由检查结果设定的风险码（仅市场主体，须说明理由）", "Allow lowering risk codes set by visit results (businesses only; give a reason)"},
		"imp.reason":                 {"理由", "Reason"},
		"imp.dry_run":                {"试运行（不写入）", "Dry run (write nothing)"},
		"imp.dry_run_help":           {"取消勾选即正式导入；导入在后台进行，页面显示进度。", "Untick to import for real; the import runs in the background and its page shows the progress."},
		"imp.submit":                 {"上传", "Upload"},
		"imp.err.kind":               {"请选择您有权导入的内容。", "Choose something you may import."},
		"imp.err.file":               {"请选择一个非空的 CSV 文件。", "Choose a CSV file that is not empty."},
		"imp.err.refused":            {"文件或选项被拒绝：%s", "The file or an option was refused: %s"},
		"imp.err.empty_kind":         {"只有市场主体和执法人员的导入可以清空原值。", "Only businesses and inspectors imports may clear stored values."},
		"imp.err.override_kind":      {"只有市场主体的导入可以降低风险码。", "Only a businesses import may lower risk codes."},
		"imp.err.reason":             {"允许降低风险码时必须填写理由。", "Give a reason for lowering risk codes."},
		"imp.err.reason_long":        {"理由不能超过 %d 个字。", "The reason may not be longer than %d characters."},
		"imp.report.title":           {"试运行结果", "Dry run"},
		"imp.report.nothing_written": {"这是试运行：没有写入任何数据。", "This was a dry run: nothing was written."},
		"imp.report.diff":            {"将新增或修改的行", "Rows that would be new or changed"},
		"imp.report.more":            {"仅列出前 %d 行；正式导入会处理全部行。", "Only the first %d lines are listed; a real import handles them all."},
		"imp.report.then":            {"也可以修改文件后再试运行，或取消勾选“试运行”后重新上传文件正式导入。", "Or change the file and try again, or untick “Dry run” and upload a file to import it for real."},
		"imp.rows_read":              {"读取行数", "Rows read"},
		"imp.rows_new":               {"新增", "New"},
		"imp.rows_changed":           {"修改", "Changed"},
		"imp.rows_unchanged":         {"无变化", "Unchanged"},
		"imp.rows_rejected":          {"拒绝", "Refused"},
		"imp.line":                   {"行号", "Line"},
		"imp.key":                    {"主键", "Key"},
		"imp.status":                 {"状态", "Status"},
		"imp.field":                  {"列", "Column"},
		"imp.old":                    {"原值", "Old"},
		"imp.new":                    {"新值", "New"},
		"imp.reason_col":             {"原因", "Why"},
		"imp.row.new":                {"新增", "new"},
		"imp.row.changed":            {"修改", "changed"},
		"imp.row.unchanged":          {"无变化", "unchanged"},
		"imp.row_applied":            {"（该行其余列已导入）", "(the row's other columns were applied)"},
		"imp.errors":                 {"被拒绝的行", "Refused lines"},
		"imp.job.title":              {"导入任务", "Import job"},
		"imp.job.heading":            {"导入任务 #%d", "Import job #%d"},
		"imp.job.running":            {"正在导入，本页会自动刷新。", "Importing; this page refreshes itself."},
		"imp.job.status.running":     {"进行中", "running"},
		"imp.job.status.done":        {"已完成", "done"},
		"imp.job.status.failed":      {"失败", "failed"},
		"imp.job.by":                 {"操作人", "Started by"},
		"imp.job.started":            {"开始时间", "Started"},
		"imp.job.finished":           {"结束时间", "Finished"},
		"imp.job.progress":           {"进度", "Progress"},
		"imp.job.counts":             {"已读取 %d 行，已导入 %d 行，拒绝 %d 行", "%d rows read, %d loaded, %d refused"},
		"imp.job.failure":            {"导入中止：", "The import stopped:"},
		"imp.job.no_errors":          {"没有被拒绝的行。", "No line was refused."},
		"imp.err.staged_gone":        {"试运行的文件已过期，请重新选择文件上传。", "The dry run's file has expired; choose the file again."},
		"imp.confirm":                {"按此结果正式导入", "Import this file now"},
		"imp.confirm_help":           {"将用同一文件和同样的选项正式导入（%d 分钟内有效）。", "Imports the same file with the same options (for the next %d minutes)."},
		"imp.again":                  {"再导入一个文件", "Import another file"},
	})
}

// ImpColumn is the name of column field of an import of kind in l, as the
// file's Chinese or English header would say it; the field itself when the
// catalog has no "imp.col.<kind>.<field>".
func (l Lang) ImpColumn(kind, field string) string {
	key := "imp.col." + kind + "." + field
	if !messages.Has(key) {
		return field
	}
	return l.T(key)
}

// impRefusal is a refusal of a whole file (its header, its workbook) or of
// an option in l: in English as the API words it, in Chinese each field by
// its label with its reason read through the catalog.
func (l Lang) impRefusal(kind string, ve *domain.ValidationError) string {
	if l == LangEN {
		return ve.Error()
	}
	parts := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		label := l.ImpColumn(kind, f.Field)
		if messages.Has("imp.field." + f.Field) {
			label = l.T("imp.field." + f.Field)
		}
		why := l.T("imp.err.file_other")
		if messages.ImportCode(f.Reason) != "" {
			why = l.ImpReason(kind, f.Reason)
		}
		parts[i] = label + l.T("imp.colon") + why
	}
	return strings.Join(parts, l.T("imp.semicolon"))
}

// ImpReason is a refused row's reason (English, as stored and as the API
// gives it) in l, through its catalog code (messages.Lang.Import).
func (l Lang) ImpReason(kind, reason string) string { return l.Msg().Import(kind, reason) }

func init() {
	addMessages(map[string][2]string{
		"imp.field.header":                 {"表头", "Header"},
		"imp.field.file":                   {"文件", "File"},
		"imp.field.empty":                  {"选项", "Option"},
		"imp.field.risk_override":          {"选项", "Option"},
		"imp.field.reason":                 {"理由", "Reason"},
		"imp.colon":                        {"：", ": "},
		"imp.semicolon":                    {"；", "; "},
		"imp.col.businesses.uscc":          {"统一社会信用代码", "USCC"},
		"imp.col.businesses.name":          {"企业名称", "Name"},
		"imp.col.businesses.address":       {"地址", "Address"},
		"imp.col.businesses.region":        {"区域编码", "Region"},
		"imp.col.businesses.industry_code": {"行业代码", "Industry code"},
		"imp.col.businesses.lat":           {"纬度", "Latitude"},
		"imp.col.businesses.lng":           {"经度", "Longitude"},
		"imp.col.businesses.risk_code":     {"风险码", "Risk code"},
		"imp.col.businesses.risk_reason":   {"赋码原因", "Risk reason"},
		"imp.col.businesses.list_kind":     {"名单", "List"},
		"imp.col.businesses.contact_name":  {"联系人", "Contact"},
		"imp.col.businesses.contact_phone": {"联系电话", "Contact phone"},
		"imp.col.inspectors.code":          {"执法证号", "Certificate no."},
		"imp.col.inspectors.name":          {"姓名", "Name"},
		"imp.col.inspectors.team":          {"队伍编码", "Team"},
		"imp.col.inspectors.domains":       {"资格领域", "Domains"},
		"imp.col.inspectors.phone":         {"电话", "Phone"},
		"imp.col.inspectors.is_leader":     {"队长", "Leader"},
		"imp.col.inspectors.conflicts":     {"回避", "Conflicts"},
	})
}
