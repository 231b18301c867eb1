package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"inspectonce/csvout"
	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/uscc"
)

// demandFormData is the demand form as the planner filled it in; it is
// rendered back as it was when the form comes back with refusals or a count.
type demandFormData struct {
	Token            string
	DepartmentID     int64
	Title            string
	Target           string // domain.TargetList or domain.TargetSample
	Businesses       string
	RegionIDs        []int64
	Industry         string
	SampleScenarioID int64
	Risks            []string
	SizeKind         string // "count" or "ratio"
	Count            string
	RatioPct         string
	ItemIDs          []int64
	ItemQ            string
	From, To         string
	AnnounceDays     string
	Priority         string
	Source           string
	ScenarioID       int64
}

type regionOption struct {
	ID    int64
	Name  string
	Depth int
}

// Indent is the region's name indented by its depth in the tree.
func (r regionOption) Indent() string { return strings.Repeat("\u3000", r.Depth) + r.Name }

type demandFormView struct {
	Form        demandFormData
	Department  domain.Department
	Departments []domain.Department
	Items       []domain.Item
	HiddenItems int
	Regions     []regionOption
	Scenarios   []domain.Scenario
	Industries  []store.IndustryCount
	// Errors are refusals by form field, each naming the field's label.
	Errors     map[string][]string
	FormErrors []string
	Pop        *popView
	MaxTargets int
	Today      string
}

// Err is the refusals of one field.
func (v demandFormView) Err(field string) []string { return v.Errors[field] }

// ItemChecked, RegionSelected and RiskChecked say whether a choice is made.
func (v demandFormView) ItemChecked(id int64) bool    { return slices.Contains(v.Form.ItemIDs, id) }
func (v demandFormView) RegionSelected(id int64) bool { return slices.Contains(v.Form.RegionIDs, id) }
func (v demandFormView) RiskChecked(code string) bool { return slices.Contains(v.Form.Risks, code) }

// Risks are the risk codes a rule may filter on.
func (v demandFormView) RiskCodes() []string {
	return []string{domain.RiskRed, domain.RiskYellow, domain.RiskGreen}
}

// Sources are a demand's sources.
func (v demandFormView) Sources() []string {
	return []string{domain.SourceRoutine, domain.SourceComplaint, domain.SourceCampaign, domain.SourceScenario}
}

// popView is a sampling rule's population as the form shows it.
type popView struct {
	store.PopulationEstimate
	Text   string `json:"text"`
	Detail string `json:"detail"`
}

func newPopView(lang Lang, e store.PopulationEstimate) popView {
	v := popView{PopulationEstimate: e, Text: lang.T("dem.new.population_only", e.Frame),
		Detail: lang.T("dem.new.population_detail", e.Matching, e.LeaveAlone, e.Key)}
	if e.Expected != nil {
		v.Text = lang.T("dem.new.population", e.Frame, *e.Expected)
	}
	return v
}

// ExpectedN is the expected sample size, -1 when the rule gives no size.
func (v popView) ExpectedN() int {
	if v.Expected == nil {
		return -1
	}
	return *v.Expected
}

// demandForm is GET /demands/new: an empty form (a planner's department, or
// for an admin the department chosen with ?department_id=).
func (p *Pages) demandForm(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	dept, err := p.demandDepartment(c, v, c.QueryParam("department_id"))
	if err != nil {
		return err
	}
	today := p.now().In(p.loc)
	f := demandFormData{Token: newFormToken(), DepartmentID: dept.ID, Target: domain.TargetList, SizeKind: "count",
		Priority: "3", AnnounceDays: "0", Source: domain.SourceRoutine,
		From: today.AddDate(0, 0, 1).Format(time.DateOnly), To: today.AddDate(0, 0, 28).Format(time.DateOnly)}
	return p.renderDemandForm(c, http.StatusOK, v, dept, f, nil, nil, nil)
}

func (p *Pages) renderDemandForm(c echo.Context, status int, v domain.Principal, dept domain.Department, f demandFormData,
	errs map[string][]string, formErrs []string, est *store.PopulationEstimate) error {
	ctx := c.Request().Context()
	view := demandFormView{Form: f, Department: dept, Errors: errs, FormErrors: formErrs,
		Today: p.now().In(p.loc).Format(time.DateOnly)}
	if est != nil {
		pv := newPopView(negotiate(c.Request()), *est)
		view.Pop = &pv
	}
	if p.cfg != nil {
		view.MaxTargets = p.cfg.Demands.MaxListTargets
	}
	var err error
	if v.Role == domain.RoleAdmin {
		if view.Departments, err = p.departments(ctx); err != nil {
			return err
		}
	}
	if dept.ID != 0 {
		items, err := p.store.ListItems(ctx, store.ItemFilter{DepartmentID: dept.ID}, store.Page{Limit: store.MaxLimit})
		if err != nil {
			return err
		}
		q := strings.ToLower(strings.TrimSpace(f.ItemQ))
		for _, it := range items.Items {
			if q == "" || view.ItemChecked(it.ID) || strings.Contains(strings.ToLower(it.Code+" "+it.Name+" "+it.LegalBasis), q) {
				view.Items = append(view.Items, it)
			} else {
				view.HiddenItems++
			}
		}
	}
	regions, err := p.store.ListRegions(ctx, store.RegionFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	view.Regions = regionTree(regions.Items)
	scenarios, err := p.store.ListScenarios(ctx, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	view.Scenarios = scenarios.Items
	if view.Industries, err = p.store.IndustryCodes(ctx); err != nil {
		return err
	}
	return p.render(c, status, "demand_new", "dem.new.title", view)
}

// regionTree orders regions depth first under their parents.
func regionTree(regions []domain.Region) []regionOption {
	children := map[int64][]domain.Region{}
	for _, r := range regions {
		var parent int64
		if r.ParentID != nil {
			parent = *r.ParentID
		}
		children[parent] = append(children[parent], r)
	}
	var out []regionOption
	var walk func(parent int64, depth int)
	walk = func(parent int64, depth int) {
		for _, r := range children[parent] {
			out = append(out, regionOption{ID: r.ID, Name: r.Name, Depth: depth})
			if depth < 8 {
				walk(r.ID, depth+1)
			}
		}
	}
	walk(0, 0)
	return out
}

// readDemandForm reads the posted form.
func readDemandForm(c echo.Context) (demandFormData, error) {
	form, err := c.FormParams()
	if err != nil {
		return demandFormData{}, fmt.Errorf("read form: %w", err)
	}
	if mf, err := c.MultipartForm(); err == nil && mf != nil {
		form = url.Values(mf.Value)
	}
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	id := func(k string) int64 {
		n, _ := strconv.ParseInt(get(k), 10, 64)
		return max(n, 0)
	}
	f := demandFormData{Token: get("token"), DepartmentID: id("department_id"), Title: form.Get("title"),
		Target: get("target"), Businesses: form.Get("businesses"), RegionIDs: sortedIDs(form["region_id"]),
		Industry: get("industry"), SampleScenarioID: id("sample_scenario_id"), SizeKind: get("size_kind"),
		Count: get("count"), RatioPct: get("ratio_pct"), ItemIDs: sortedIDs(form["item_id"]), ItemQ: get("item_q"),
		From: get("window_from"), To: get("window_to"), AnnounceDays: get("announce_days"), Priority: get("priority"),
		Source: get("source"), ScenarioID: id("scenario_id")}
	for _, r := range form["risk"] {
		if !slices.Contains(f.Risks, r) {
			f.Risks = append(f.Risks, r)
		}
	}
	if f.Target != domain.TargetSample {
		f.Target = domain.TargetList
	}
	if f.SizeKind != "ratio" {
		f.SizeKind = "count"
	}
	if !isHexToken(f.Token) {
		f.Token = newFormToken()
	}
	return f, nil
}

// industries splits the industry field (codes separated by commas, spaces
// or Chinese commas).
func (f demandFormData) industries() []string {
	return strings.FieldsFunc(f.Industry, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ';' || r == ' ' || r == '\t'
	})
}

// populationQuery is the form's sampling rule as the population endpoint's
// parameters.
func (f demandFormData) populationQuery() url.Values {
	q := url.Values{}
	for _, id := range f.RegionIDs {
		q.Add("region_id", strconv.FormatInt(id, 10))
	}
	for _, ic := range f.industries() {
		q.Add("industry", strings.ToUpper(ic))
	}
	if f.SampleScenarioID > 0 {
		q.Set("scenario_id", strconv.FormatInt(f.SampleScenarioID, 10))
	}
	for _, r := range f.Risks {
		q.Add("risk", r)
	}
	if f.SizeKind == "count" && f.Count != "" {
		q.Set("count", f.Count)
	}
	if f.SizeKind == "ratio" && f.RatioPct != "" {
		if pct, err := strconv.ParseFloat(f.RatioPct, 64); err == nil {
			q.Set("ratio", strconv.FormatFloat(pct/100, 'g', -1, 64))
		} else {
			q.Set("ratio", f.RatioPct)
		}
	}
	return q
}

// The JSON POST /api/v1/demands takes, as the form makes it.
type demandBody struct {
	DepartmentID *int64      `json:"department_id,omitempty"`
	Title        string      `json:"title"`
	ItemIDs      []int64     `json:"item_ids"`
	Businesses   []string    `json:"businesses,omitempty"`
	Sample       *sampleBody `json:"sample,omitempty"`
	Window       *windowBody `json:"window,omitempty"`
	Priority     *int        `json:"priority,omitempty"`
	Source       string      `json:"source"`
	ScenarioID   *int64      `json:"scenario_id,omitempty"`
	AnnounceDays *int        `json:"announce_days,omitempty"`
}

type sampleBody struct {
	RegionIDs     []int64  `json:"region_ids"`
	IndustryCodes []string `json:"industry_codes"`
	ScenarioID    *int64   `json:"scenario_id,omitempty"`
	RiskCodes     []string `json:"risk_codes"`
	Count         *int     `json:"count,omitempty"`
	Ratio         *float64 `json:"ratio,omitempty"`
}

type windowBody struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// formErrors collects refusals by form field, in the page's language.
type formErrors struct {
	lang   Lang
	fields map[string][]string
	form   []string
}

func (e *formErrors) add(field, key string, args ...any) {
	e.put(field, e.lang.T(key, args...))
}

// put records msg at field, after the field's label.
func (e *formErrors) put(field, msg string) {
	if e.fields == nil {
		e.fields = map[string][]string{}
	}
	e.fields[field] = append(e.fields[field], e.lang.T("dem.f."+field)+e.lang.T("dem.colon")+msg)
}

func (e *formErrors) any() bool { return len(e.fields) > 0 || len(e.form) > 0 }

// body turns the form into the API's JSON, refusing here only what the JSON
// cannot carry (a date or number that does not parse) and the list's bad
// lines, which the page names by line.
func (p *Pages) demandBody(c echo.Context, v domain.Principal, f demandFormData, errs *formErrors) (demandBody, error) {
	b := demandBody{Title: f.Title, ItemIDs: f.ItemIDs, Source: f.Source}
	if b.ItemIDs == nil {
		b.ItemIDs = []int64{}
	}
	if v.Role == domain.RoleAdmin && f.DepartmentID > 0 {
		id := f.DepartmentID
		b.DepartmentID = &id
	}
	if f.ScenarioID > 0 {
		id := f.ScenarioID
		b.ScenarioID = &id
	}
	atoi := func(field, s string) *int {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs.add(field, "dem.v.whole_number", s)
			return nil
		}
		return &n
	}
	b.Priority = atoi("priority", f.Priority)
	b.AnnounceDays = atoi("announce_days", f.AnnounceDays)
	dateOK := func(field, s string) bool {
		if s == "" {
			errs.add(field, "dem.v.date_required")
			return false
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			errs.add(field, "dem.v.date_format", s)
			return false
		}
		return true
	}
	if okF, okT := dateOK("window_from", f.From), dateOK("window_to", f.To); okF && okT {
		b.Window = &windowBody{From: f.From, To: f.To}
	}
	switch f.Target {
	case domain.TargetSample:
		s := &sampleBody{RegionIDs: f.RegionIDs, IndustryCodes: []string{}, RiskCodes: f.Risks}
		if s.RegionIDs == nil {
			s.RegionIDs = []int64{}
		}
		if s.RiskCodes == nil {
			s.RiskCodes = []string{}
		}
		for _, ic := range f.industries() {
			s.IndustryCodes = append(s.IndustryCodes, strings.ToUpper(ic))
		}
		if f.SampleScenarioID > 0 {
			id := f.SampleScenarioID
			s.ScenarioID = &id
		}
		if f.SizeKind == "ratio" {
			if f.RatioPct != "" {
				pct, err := strconv.ParseFloat(f.RatioPct, 64)
				if err != nil {
					errs.add("ratio_pct", "dem.v.number", f.RatioPct)
				} else {
					r := pct / 100
					s.Ratio = &r
				}
			}
		} else {
			s.Count = atoi("count", f.Count)
		}
		b.Sample = s
	default:
		codes, err := p.listTargets(c, f, errs)
		if err != nil {
			return b, err
		}
		b.Businesses = codes
	}
	return b, nil
}

// listTargets reads the list target: the pasted codes (one per line or
// separated by commas) and an uploaded CSV or .xlsx file (its first column),
// each bad, repeated or unregistered code named with its line (a
// spreadsheet's row as Excel numbers it).
func (p *Pages) listTargets(c echo.Context, f demandFormData, errs *formErrors) ([]string, error) {
	type entry struct {
		code string
		at   string // where it was read: "line 3" or "file line 3"
	}
	var entries []entry
	for i, line := range strings.Split(f.Businesses, "\n") {
		for _, code := range splitCodes(line) {
			entries = append(entries, entry{code, errs.lang.T("dem.list.line", i+1)})
		}
	}
	if fh, err := c.FormFile("businesses_file"); err == nil && fh.Size > 0 {
		if fh.Size > maxUploadBytes {
			errs.add("businesses_file", "dem.v.file_too_large", maxUploadBytes>>10)
		} else {
			file, err := fh.Open()
			if err != nil {
				return nil, fmt.Errorf("open upload: %w", err)
			}
			raw, err := io.ReadAll(io.LimitReader(file, maxUploadBytes+1))
			_ = file.Close()
			if err != nil {
				return nil, fmt.Errorf("read upload: %w", err)
			}
			var rows []csvCode
			var perr error
			where := "dem.list.file_line"
			if bytes.HasPrefix(raw, zipMagic) {
				rows, perr = xlsxCodes(raw)
				where = "dem.list.sheet_row"
			} else {
				rows, perr = csvCodes(raw)
			}
			switch {
			case errors.Is(perr, errSpreadsheet):
				errs.add("businesses_file", "dem.v.file_xls")
			case errors.Is(perr, errWorkbook):
				errs.add("businesses_file", "dem.v.file_workbook")
			case perr != nil:
				line := 0
				var pe *csv.ParseError
				if errors.As(perr, &pe) {
					line = pe.Line
				}
				errs.add("businesses_file", "dem.v.file_csv", line)
			}
			for _, r := range rows {
				entries = append(entries, entry{r.code, errs.lang.T(where, r.line)})
			}
		}
	}
	seen := map[string]string{}
	var codes []string
	bad := false
	for _, e := range entries {
		code := strings.ToUpper(e.code)
		if why := usccProblem(errs.lang, code); why != "" {
			errs.put("businesses", e.at+" "+e.code+errs.lang.T("dem.colon")+why)
			bad = true
			continue
		}
		if first, ok := seen[code]; ok {
			errs.put("businesses", e.at+" "+code+errs.lang.T("dem.colon")+errs.lang.T("dem.v.repeats", first))
			bad = true
			continue
		}
		seen[code] = e.at
		codes = append(codes, code)
	}
	if p.cfg != nil && len(codes) > p.cfg.Demands.MaxListTargets {
		errs.add("businesses", "dem.v.too_many", p.cfg.Demands.MaxListTargets, len(codes))
		return nil, nil
	}
	if len(codes) > 0 {
		miss, err := p.store.MissingBusinesses(c.Request().Context(), codes)
		if err != nil {
			return nil, err
		}
		for _, m := range miss {
			errs.put("businesses", seen[m]+" "+m+errs.lang.T("dem.colon")+errs.lang.T("dem.v.not_registered"))
			bad = true
		}
	}
	if bad {
		return nil, nil
	}
	return codes, nil
}

func splitCodes(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool {
		return r == ',' || r == '，' || r == ';' || r == '；' || r == '、' || r == ' ' || r == '\t' || r == '\r' || r == '\u3000'
	})
}

// errSpreadsheet is an old binary .xls workbook, which only Excel reads
// well; errWorkbook an .xlsx file that cannot be read.
var (
	errSpreadsheet = errors.New("an .xls spreadsheet, not CSV or .xlsx")
	errWorkbook    = errors.New("not a readable .xlsx workbook")
)

// zipMagic starts every .xlsx file (a ZIP archive).
var zipMagic = []byte("PK\x03\x04")

type csvCode struct {
	code string
	line int
}

// csvCodes reads the first column of a CSV file of USCCs (a UTF-8 BOM and a
// header row are allowed), with each code's line.
func csvCodes(raw []byte) ([]csvCode, error) {
	if bytes.HasPrefix(raw, zipMagic) || bytes.HasPrefix(raw, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
		return nil, errSpreadsheet
	}
	raw = bytes.TrimPrefix(raw, []byte(csvout.BOM))
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	var out []csvCode
	for n := 0; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		line, _ := r.FieldPos(0)
		cell := ""
		if len(rec) > 0 {
			cell = strings.TrimSpace(rec[0])
		}
		if cell == "" {
			continue
		}
		// A header row: a first cell that is a name, not a code.
		if n == 0 && uscc.Check(strings.ToUpper(cell)) != nil && !looksLikeCode(cell) {
			continue
		}
		out = append(out, csvCode{code: cell, line: line})
	}
}

// xlsxCodes reads the first column of the first sheet of an .xlsx workbook
// of USCCs, as csvCodes reads a CSV file: a header row is allowed, empty
// rows are skipped, and each code carries its row number as Excel shows it.
// The upload is already bounded (maxUploadBytes); the unzipped parts are
// bounded too, so that a small archive cannot expand without limit.
func xlsxCodes(raw []byte) ([]csvCode, error) {
	f, err := excelize.OpenReader(bytes.NewReader(raw), excelize.Options{
		UnzipSizeLimit: 16 * maxUploadBytes, UnzipXMLSizeLimit: 16 * maxUploadBytes})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errWorkbook, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, errWorkbook
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errWorkbook, err)
	}
	var out []csvCode
	first := true
	for i, rec := range rows {
		cell := ""
		if len(rec) > 0 {
			cell = strings.TrimSpace(rec[0])
		}
		if cell == "" {
			continue
		}
		if first && uscc.Check(strings.ToUpper(cell)) != nil && !looksLikeCode(cell) {
			first = false
			continue // a header row
		}
		first = false
		out = append(out, csvCode{code: cell, line: i + 1})
	}
	return out, nil
}

// looksLikeCode says whether s is made of a code's characters (so a bad
// code in the first row is reported, not taken for a header).
func looksLikeCode(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return len(s) >= 8
}

const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccProblem says in lang what is wrong with code, "" when nothing is.
func usccProblem(lang Lang, code string) string {
	if uscc.Check(code) == nil {
		return ""
	}
	if n := len([]rune(code)); n != 18 {
		return lang.T("dem.v.uscc_length", n)
	}
	for i, r := range code {
		if !strings.ContainsRune(usccAlphabet, r) {
			return lang.T("dem.v.uscc_char", i+1, string(r))
		}
		if i >= 2 && i <= 7 && (r < '0' || r > '9') {
			return lang.T("dem.v.uscc_division")
		}
	}
	want, err := uscc.Complete(code[:17])
	if err != nil {
		return lang.T("dem.v.uscc_invalid")
	}
	return lang.T("dem.v.uscc_check", string(code[17]), string(want[17]))
}

// submitDemandForm is POST /demands/new. With action=count it shows the
// form again with the sample's population (the count without script);
// otherwise it submits the demand through the API's checks, with the form's
// one-time token as the Idempotency-Key, and goes to /demands.
func (p *Pages) submitDemandForm(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	if p.intake == nil {
		return fmt.Errorf("demand intake not connected: %w", domain.ErrNotFound)
	}
	ctx := c.Request().Context()
	f, err := readDemandForm(c)
	if err != nil {
		return err
	}
	if v.Role == domain.RolePlanner {
		f.DepartmentID = v.DepartmentID
	}
	dept, err := p.demandDepartment(c, v, strconv.FormatInt(f.DepartmentID, 10))
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	lang := negotiate(c.Request())
	errs := &formErrors{lang: lang}

	var est *store.PopulationEstimate
	if f.Target == domain.TargetSample {
		e, err := p.intake.DemandPopulation(ctx, v, f.populationQuery())
		switch ve := asValidation(err); {
		case err == nil:
			est = &e
		case ve != nil && c.FormValue("action") == "count":
			for _, fe := range ve.Fields {
				errs.put(populationField(fe.Field), fieldMessage(lang, fe))
			}
		case ve != nil:
			// The submission's own checks name these fields below.
		default:
			return err
		}
	}
	if c.FormValue("action") == "count" {
		return p.renderDemandForm(c, http.StatusOK, v, dept, f, errs.fields, nil, est)
	}

	body, err := p.demandBody(c, v, f, errs)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode demand: %w", err)
	}
	if errs.any() {
		// Refused here already: the API's checks say what else is wrong,
		// and nothing is stored.
		if err := p.intake.CheckDemandJSON(ctx, v, raw); err != nil {
			if apiErr := p.apiRefusals(lang, err, errs); apiErr != nil {
				return apiErr
			}
		}
		return p.renderDemandForm(c, http.StatusUnprocessableEntity, v, dept, f, errs.fields, errs.form, est)
	}
	d, replayed, err := p.intake.SubmitDemandJSON(ctx, v, f.Token, raw)
	if err != nil {
		if apiErr := p.apiRefusals(lang, err, errs); apiErr != nil {
			return apiErr
		}
		return p.renderDemandForm(c, http.StatusUnprocessableEntity, v, dept, f, errs.fields, errs.form, est)
	}
	q := url.Values{"created": {strconv.FormatInt(d.ID, 10)}}
	if replayed {
		q.Set("replayed", "1")
	}
	if v.Role == domain.RoleAdmin {
		q.Set("department_id", strconv.FormatInt(d.DepartmentID, 10))
	}
	return c.Redirect(http.StatusSeeOther, "/demands?"+q.Encode())
}

// apiRefusals puts the API's field errors at the form's fields; an error
// that is no refusal of the request is returned.
func (p *Pages) apiRefusals(lang Lang, err error, errs *formErrors) error {
	ve := asValidation(err)
	if ve == nil {
		return err
	}
	for _, fe := range ve.Fields {
		field := formField(fe.Field)
		// What the page refused itself the API sees as missing.
		if (field == "window_from" || field == "window_to" || field == "window") &&
			(len(errs.fields["window_from"]) > 0 || len(errs.fields["window_to"]) > 0) {
			continue
		}
		if field == "businesses" && fe.Format == "give the target: a list of businesses, or a sample rule" &&
			(len(errs.fields["businesses"]) > 0 || len(errs.fields["businesses_file"]) > 0) {
			continue
		}
		if field == "count" && len(errs.fields["count"]) > 0 || field == "ratio_pct" && len(errs.fields["ratio_pct"]) > 0 {
			continue
		}
		if field == "" {
			if fe.Field == "Idempotency-Key" {
				errs.form = append(errs.form, lang.T("dem.v.token_used"))
			} else {
				errs.form = append(errs.form, fieldMessage(lang, fe))
			}
			continue
		}
		errs.put(field, fieldMessage(lang, fe))
	}
	return nil
}

// formField maps a field of POST /api/v1/demands to the form's field ("" for
// a refusal of the form as a whole).
func formField(api string) string {
	base, _, _ := strings.Cut(api, "[")
	switch base {
	case "title", "source", "priority", "announce_days", "scenario_id", "businesses", "window":
		return base
	case "department_id":
		return "department_id"
	case "window.from":
		return "window_from"
	case "window.to":
		return "window_to"
	case "item_ids":
		return "item_ids"
	case "sample":
		return "sample"
	case "sample.count":
		return "count"
	case "sample.ratio":
		return "ratio_pct"
	case "sample.region_ids":
		return "region_id"
	case "sample.industry_codes":
		return "industry"
	case "sample.scenario_id":
		return "sample_scenario_id"
	case "sample.risk_codes":
		return "risk"
	}
	return ""
}

func asValidation(err error) *domain.ValidationError {
	var ve *domain.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		return ve
	}
	return nil
}

func isConflict(err error) bool  { return errors.Is(err, domain.ErrConflict) }
func isForbidden(err error) bool { return errors.Is(err, domain.ErrForbidden) }

// apiReasons are the formats of the API's refusals (domain.FieldError.Format)
// a demand can meet, with the catalog key that says them in the page's
// language. A reason not listed shows in English on the English page and as
// a general "not valid" on the Chinese one, so no English reaches it.
var apiReasons = map[string]string{
	"is required": "dem.v.required",
	"must not be blank: leave it empty or give a value":                                                                "dem.v.blank",
	"must be at most %d characters, got %d":                                                                            "dem.v.too_long",
	"must not contain the control character U+%04X (character %d)":                                                     "dem.v.control",
	"must not contain the bidirectional control U+%04X (character %d): it makes text read otherwise than it is stored": "dem.v.bidi",
	"must be one of %s, got %q":                                                                                        "dem.v.one_of",
	"must be between 1 (highest) and 5, got %d":                                                                        "dem.v.priority",
	"must be between 0 (unannounced) and 60, got %d":                                                                   "dem.v.announce",
	"name at least one inspection item":                                                                                "dem.v.no_items",
	"must have at most %d entries, got %d":                                                                             "dem.v.too_many_entries",
	"entry %d must be a positive id":                                                                                   "dem.v.bad_id",
	"entry %d repeats id %d":                                                                                           "dem.v.repeats_id",
	"%s %d does not exist":                                                                                             "dem.v.missing",
	"item %d does not exist":                                                                                           "dem.v.item_missing",
	"item %d belongs to another department; a demand names only its own department's items":                            "dem.v.item_other_dept",
	"a scenario demand names its scenario":                                                                             "dem.v.scenario_needed",
	"scenario %d does not exist":                                                                                       "dem.v.scenario_missing",
	"item %d is not part of scenario %s":                                                                               "dem.v.item_not_in_scenario",
	"give either businesses or sample, not both":                                                                       "dem.v.both_targets",
	"a complaint names the businesses complained about; it is not drawn":                                               "dem.v.complaint_sample",
	"give the target: a list of businesses, or a sample rule":                                                          "dem.v.no_target",
	"is required: {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}":                                                  "dem.v.window_required",
	"ends (%s) before the window starts (%s)":                                                                          "dem.v.window_order",
	"is in the past (today is %s)":                                                                                     "dem.v.window_past",
	"is longer than %d days":                                                                                           "dem.v.window_long",
	"holds no working day from %s to %s (weekends, holidays)":                                                          "dem.v.window_no_workday",
	"at most %d businesses per demand, got %d":                                                                         "dem.v.too_many",
	"repeats %s":                    "dem.v.repeats_code",
	"not registered: %s":            "dem.v.not_registered_list",
	"give count or ratio":           "dem.v.size_needed",
	"give count or ratio, not both": "dem.v.size_both",
	"must be at least 1":            "dem.v.at_least_one",
	"must be greater than 0 and at most 1 (0.05 = 5 %%)":           "dem.v.ratio",
	"must be red, yellow or green, got %q":                         "dem.v.risk",
	"must be an industry code such as H621, got %q":                "dem.v.industry",
	"must be a positive id, got %q":                                "dem.v.positive_id",
	"entry %d must be a positive id, got %q":                       "dem.v.positive_id_entry",
	"must be a whole number, got %q":                               "dem.v.whole_number",
	"must be a number such as 0.05, got %q":                        "dem.v.number",
	"a planner submits demands for their own department (%s) only": "dem.v.own_department",
}

// fieldMessage says an API refusal in lang, without the field's label.
func fieldMessage(lang Lang, fe domain.FieldError) string {
	if key, ok := apiReasons[fe.Format]; ok {
		return lang.T(key, fe.Args...)
	}
	if lang == LangEN {
		return fe.Reason
	}
	return lang.T("dem.v.invalid")
}
