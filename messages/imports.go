package messages

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Import row errors (packages csvimport and store): why a line of a
// registry file was refused. The API's reason is the English text, which
// stays as it was; the imports page and the API's message show it in the
// reader's language. Each reason is made from a catalog key (its code) and
// parameters, and a reason read back from the database is parsed back into
// them: the English texts double as the patterns, so a reason always reads
// in either language without a column of its own.
//
// English texts here are fmt formats whose verbs say how a parameter is read
// back: %d a whole number, %g a number, %s text, and %v a nested reason
// (itself one of these texts, rendered in the reader's language).

// ImportText is the English reason of code with args, as the API reports it.
func ImportText(code string, args ...any) string { return EN.T(code, args...) }

// importArgs say which parameters (1-based) of a code are themselves words
// to translate: a risk code's name, a column's canonical name or a list of
// them (shown as the columns' labels for the import's kind), or the names a
// header may take (a Chinese reader is shown the Chinese ones).
var importArgs = map[string]map[int]string{
	"imp.reject.risk_kept":    {1: "risk"},
	"imp.reject.cannot_clear": {1: "column"},
	"imp.reject.code_gone":    {1: "column"},
	// Columns as the file should name them: "uscc or 统一社会信用代码".
	"imp.reject.header_missing": {1: "names"},
	"imp.reject.header_twice":   {5: "column"},
	// Canonical column names, comma-separated.
	"imp.reject.header_unknown":      {2: "columns"},
	"imp.reject.header_unknown_xlsx": {2: "columns"},
}

// ImportReason is a reason parsed back into its code and parameters.
type ImportReason struct {
	Code string
	Args []any
}

type importPattern struct {
	code    string
	re      *regexp.Regexp
	verbs   []byte // per capture group: the verb letter
	index   []int  // per capture group: the 0-based argument it fills
	nargs   int
	literal int // characters of fixed text: the more, the more specific
}

var (
	importOnce     sync.Once
	importPatterns []importPattern
)

// compileImportPatterns turns the English texts of the import codes into
// patterns, the most specific first.
func compileImportPatterns() {
	for _, k := range Keys() {
		if !strings.HasPrefix(k, "imp.reject.") {
			continue
		}
		t, _ := Texts(k)
		p := importPattern{code: k}
		var b strings.Builder
		b.WriteString("^")
		last, next := 0, 0
		for _, m := range verb.FindAllStringSubmatchIndex(t[1], -1) {
			lit := t[1][last:m[0]]
			b.WriteString(regexp.QuoteMeta(lit))
			p.literal += len(lit)
			last = m[1]
			v := t[1][m[12]:m[13]]
			if v == "%" {
				b.WriteString("%")
				continue
			}
			i := next
			if m[4] >= 0 {
				n, _ := strconv.Atoi(t[1][m[4]:m[5]])
				i = n - 1
			}
			next = i + 1
			switch v {
			case "d":
				b.WriteString(`(-?\d+)`)
			case "g", "f":
				b.WriteString(`(-?[0-9.eE+]+)`)
			case "v":
				b.WriteString(`(.+?)`)
			default:
				b.WriteString(`(.*?)`)
			}
			p.verbs = append(p.verbs, v[0])
			p.index = append(p.index, i)
			p.nargs = max(p.nargs, i+1)
		}
		lit := t[1][last:]
		b.WriteString(regexp.QuoteMeta(lit) + "$")
		p.literal += len(lit)
		p.re = regexp.MustCompile(`(?s)` + b.String())
		importPatterns = append(importPatterns, p)
	}
	slices.SortFunc(importPatterns, func(a, b importPattern) int {
		return cmp.Or(cmp.Compare(b.literal, a.literal), cmp.Compare(a.code, b.code))
	})
}

// ParseImportReason reads an English import reason back into its code and
// parameters; false when no code's text matches it (a reason from
// elsewhere, such as a database error).
func ParseImportReason(reason string) (ImportReason, bool) {
	importOnce.Do(compileImportPatterns)
	for _, p := range importPatterns {
		m := p.re.FindStringSubmatch(reason)
		if m == nil {
			continue
		}
		args := make([]any, p.nargs)
		ok := true
		for g, v := range p.verbs {
			s := m[g+1]
			switch v {
			case 'd':
				n, err := strconv.Atoi(s)
				ok = ok && err == nil
				args[p.index[g]] = n
			case 'g', 'f':
				f, err := strconv.ParseFloat(s, 64)
				ok = ok && err == nil
				args[p.index[g]] = f
			case 'v':
				_, nested := ParseImportReason(s)
				ok = ok && nested
				args[p.index[g]] = s
			default:
				args[p.index[g]] = s
			}
		}
		if ok {
			return ImportReason{Code: p.code, Args: args}, true
		}
	}
	return ImportReason{}, false
}

// ImportCode is the code of an English import reason, "" when it has none.
func ImportCode(reason string) string {
	r, _ := ParseImportReason(reason)
	return r.Code
}

// Import is an English import reason as a reader of l reads it, for an
// import of kind (store.ImportBusinesses, ...): the reason itself in
// English, its code's text in Chinese, and a general refusal when the
// reason has no code (never an English sentence on a Chinese page).
func (l Lang) Import(kind, reason string) string {
	if l == EN {
		return reason
	}
	r, ok := ParseImportReason(reason)
	if !ok {
		return l.T("imp.reject.other")
	}
	args := slices.Clone(r.Args)
	for i, a := range args {
		s, isText := a.(string)
		if !isText {
			continue
		}
		switch importArgs[r.Code][i+1] {
		case "risk":
			if Has("risk.code." + s) {
				args[i] = l.T("risk.code." + s)
			}
		case "column":
			args[i] = l.ImportColumn(kind, s)
		case "columns":
			var cols []string
			for _, c := range strings.Split(s, ",") {
				cols = append(cols, l.ImportColumn(kind, c))
			}
			args[i] = strings.Join(cols, "，")
		case "names":
			// A Chinese reader is shown the Chinese names, when there are any.
			var zh []string
			for _, n := range strings.Split(s, " or ") {
				if strings.ContainsFunc(n, func(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }) {
					zh = append(zh, n)
				}
			}
			if len(zh) > 0 {
				args[i] = strings.Join(zh, " 或 ")
			}
		default:
			if t, _ := Texts(r.Code); strings.Contains(verbAt(t[1], i), "v") {
				args[i] = l.Import(kind, s)
			}
		}
	}
	return l.T(r.Code, args...)
}

// verbAt is the verb of the format's argument i (0-based), "" when unused.
func verbAt(format string, i int) string {
	next := 0
	for _, m := range verb.FindAllStringSubmatch(format, -1) {
		if m[6] == "%" {
			continue
		}
		j := next
		if m[2] != "" {
			n, _ := strconv.Atoi(m[2])
			j = n - 1
		}
		next = j + 1
		if j == i {
			return m[6]
		}
	}
	return ""
}

// ImportColumn is the label in l of the column an import of kind names
// key (its canonical name), or key itself when the catalog has none: the
// header a file uses is shown as the file spells it.
func (l Lang) ImportColumn(kind, key string) string {
	k := "imp.col." + kind + "." + key
	if !Has(k) {
		return key
	}
	return l.T(k)
}

func init() {
	Add(map[string][2]string{
		// A reason with no code of its own (a database refusal).
		"imp.reject.other": {"此行未能导入，请检查该行内容后重试", "the row could not be imported"},

		// Any register.
		"imp.reject.required":  {"必填", "required"},
		"imp.reject.duplicate": {"重复：%[1]s 已在第 %[2]d 行出现", "duplicate: %s is already on line %d"},
		"imp.reject.not_utf8":  {"不是 UTF-8 文本：请将文件另存为“CSV UTF-8”", `not UTF-8 text: save the file as "CSV UTF-8"`},
		"imp.reject.nul":       {"含有空字符（NUL）", "contains a NUL character"},
		"imp.reject.too_long":  {"超过 %[1]d 个字", "longer than %d characters"},
		"imp.reject.formula": {"%[1]s 会被电子表格当作公式执行（CWE-1236）：文字单元格不能以 =、@、制表符、回车开头，也不能以后面不跟数字的 + 或 - 开头",
			"%s would be read as a formula by spreadsheets (CWE-1236): a text cell may not start with =, @, " +
				"a tab, a carriage return, or + or - not followed by a digit"},
		"imp.reject.cannot_clear": {"不能清空（已选“空白单元格清空原值”）：每条记录都须有%[1]s；如要保留原值，请在文件中去掉这一列",
			"cannot be cleared (empty=clear): every %s needs one; leave the column out to keep the stored value"},
		"imp.reject.width":          {"有 %[1]d 个字段，表头有 %[2]d 个", "has %d fields, the header has %d"},
		"imp.reject.csv":            {"CSV 格式有误（第 %[1]d 行第 %[2]d 列）：%[3]s", "not valid CSV (line %d, column %d): %v"},
		"imp.reject.csv_bare_quote": {"未加引号的字段中出现了引号", `bare " in non-quoted-field`},
		"imp.reject.csv_quote":      {"加引号的字段中引号多余或缺失", `extraneous or missing " in quoted-field`},
		"imp.reject.csv_fields":     {"字段数不对", "wrong number of fields"},
		"imp.reject.xlsx_formula": {"单元格 %[1]s 是公式（=%[2]s）：导入只接受数值；请复制该列并“粘贴为数值”",
			"cell %s holds a formula (=%s): an import takes values; copy the column and paste it as values"},
		"imp.reject.xlsx_no_header": {"单元格 %[1]s 有内容，但所在列没有表头（表头共 %[2]d 列）",
			"cell %s has a value but its column has no header (the header has %d columns)"},

		// USCCs (package uscc's refusals, word for word).
		"imp.reject.uscc_length":   {"统一社会信用代码应为 18 位，实际 %[1]d 位", "invalid unified social credit code: must be 18 characters, got %d"},
		"imp.reject.uscc_char":     {"统一社会信用代码第 %[1]d 位字符 %[2]s 不允许：只能是数字或规定的大写字母", "invalid unified social credit code: character %d (%s) is not a digit or an allowed upper-case letter"},
		"imp.reject.uscc_division": {"统一社会信用代码第 3 至 8 位为行政区划码，须为数字", "invalid unified social credit code: characters 3 to 8 are the administrative division code and must be digits"},
		"imp.reject.uscc_check":    {"统一社会信用代码校验位为 %[1]s，应为 %[2]s", "invalid unified social credit code: check character is %s, expected %s"},

		// Businesses.
		"imp.reject.unknown_region": {"没有区域编码 %[1]s", "unknown region code %s"},
		"imp.reject.industry":       {"%[1]s 不是行业代码（GB/T 4754：可带一个门类字母，后接 2 至 4 位数字，例如 H621）", "%s is not an industry code (GB/T 4754: an optional section letter and 2 to 4 digits, e.g. H621)"},
		"imp.reject.risk_code":      {"%[1]s 不是风险码：请填写 红、黄 或 绿", "%s is not a risk code: use red, yellow or green (红, 黄, 绿)"},
		"imp.reject.list_kind":      {"%[1]s 不是名单类别：请填写 随机、重点 或 无事不扰", "%s is not a list: use random, key or leave_alone (随机, 重点, 无事不扰)"},
		"imp.reject.not_number":     {"%[1]s 不是以度为单位的十进制数", "%s is not a number in decimal degrees"},
		"imp.reject.not_finite":     {"%[1]s 不是有限的数", "%s is not a finite number"},
		"imp.reject.out_of_range":   {"%[1]s 超出范围：须在 -%[2]g 到 %[3]g 之间", "%s is out of range: must lie between -%g and %g"},
		"imp.reject.new_business":   {"新登记的市场主体必须填写：%[1]s 尚未登记", "required for a new business: %s is not registered yet"},
		"imp.reject.risk_kept": {"保留%[1]s：该风险码由检查结果 %[2]d 设定（%[3]s）；只有勾选“允许降低由检查结果设定的风险码”并填写理由，导入才能降低它。该行其余列已导入",
			"kept %s: visit result %d set it (%s); an import lowers a code set by a result only with " +
				"risk_override=true and a reason. The row's other columns were applied"},

		// Inspectors.
		"imp.reject.cert_code":        {"%[1]s 不是执法证号：只能由字母、数字、“_”、“.”、“-”组成，最多 64 位，以字母或数字开头", "%s is not a certificate number: letters, digits, '_', '.', '-', at most 64, starting with a letter or digit"},
		"imp.reject.unknown_team":     {"没有队伍编码 %[1]s", "unknown team code %s"},
		"imp.reject.domain":           {"%[1]s 不是资格领域：只能由小写字母、数字和“_”组成，以字母开头", "%s is not a qualification domain: lower-case letters, digits and '_', starting with a letter"},
		"imp.reject.boolean":          {"%[1]s 不是“是”或“否”：请填写 是/否、1/0 或 true/false", "%s is not yes or no: use true/false, 是/否 or 1/0"},
		"imp.reject.conflict_uscc":    {"%[1]s：%[2]s", "%s: %v"},
		"imp.reject.conflict_unknown": {"以下市场主体尚未登记：%[1]s", "not registered as a business: %s"},
		"imp.reject.new_inspector":    {"新登记的执法人员必须填写：%[1]s 尚未登记", "required for a new inspector: %s is not registered yet"},

		// The file as a whole (its header, its workbook).
		"imp.reject.file_empty":      {"文件是空的：第一行须为列名", "the file is empty: the first line must name the columns"},
		"imp.reject.sheet_empty":     {"第一个工作表是空的：第一行须为列名", "the first sheet is empty: its first row must name the columns"},
		"imp.reject.header_unusable": {"表头无法使用：%[1]s", "the header is not usable: %v"},
		"imp.reject.header_utf8":     {"表头不是 UTF-8 文本：请将文件另存为“CSV UTF-8”", `the header is not UTF-8 text: save the file as "CSV UTF-8"`},
		"imp.reject.header_twice":    {"第 %[1]d 列（%[2]s）和第 %[3]d 列（%[4]s）都是%[5]s", "columns %d (%q) and %d (%q) both give %s"},
		"imp.reject.header_unknown": {"第一行 %[1]s 中没有可识别的列：文件须为逗号分隔的 UTF-8 文本，第一行为列名（例如 %[2]s）",
			"no known column in the first line %s: the file must be comma-separated UTF-8 whose first line names the columns (e.g. %s)"},
		"imp.reject.header_unknown_xlsx": {"第一个工作表的第一行 %[1]s 中没有可识别的列：第一行须为列名（例如 %[2]s）",
			"no known column in the first row of the first sheet %s: its first row must name the columns (e.g. %s)"},
		"imp.reject.header_missing":        {"缺少必需的列：列名应为 %[1]s", "missing required column: name it %s"},
		"imp.reject.closure_columns":       {"缺少列：须有区域列（区域）或队伍列（队伍）", "missing column: name a region column (region or 区域) or a team column (team or 队伍)"},
		"imp.reject.xlsx_size":             {".xlsx 文件最大 %[1]d MiB：较大的名录请另存为“CSV UTF-8”", "an .xlsx file may be at most %d MiB: save a larger register as CSV UTF-8"},
		"imp.reject.xlsx_unreadable":       {"不是可读取的 .xlsx 工作簿（%[1]s）", "not a readable .xlsx workbook: %s"},
		"imp.reject.xlsx_no_sheet":         {"工作簿中没有工作表", "the workbook has no sheet"},
		"imp.reject.xlsx_sheet_unreadable": {"无法读取第一个工作表 %[1]s（%[2]s）", "the first sheet %q cannot be read: %s"},

		// Days away and closures.
		"imp.reject.to_before_from":        {"不能早于%[1]s（%[2]s）", "must not be before %s (%s)"},
		"imp.reject.span_long":             {"时间段最长 %[1]d 天，现为 %[2]d 天", "the span must be at most %d days, got %d"},
		"imp.reject.span_reason":           {"必填：请说明原因（休假、培训、台风……）", "required: say why (leave, training, typhoon, ...)"},
		"imp.reject.date_required":         {"必填：日期，格式为 年-月-日", "required: a date YYYY-MM-DD"},
		"imp.reject.date":                  {"%[1]s 不是日期：请按 年-月-日（或 年/月/日）填写，年份在 %[2]d 至 %[3]d 之间", "%s is not a date: use YYYY-MM-DD (or YYYY/M/D) between %d and %d"},
		"imp.reject.inspector_required":    {"必填：执法人员的执法证号", "required: the inspector's code (执法证号)"},
		"imp.reject.unknown_inspector":     {"没有执法证号为 %[1]s 的执法人员", "unknown inspector code %s"},
		"imp.reject.duplicate_away":        {"重复：相同的请假已在第 %[1]d 行出现", "duplicate: the same days away are already on line %d"},
		"imp.reject.inspector_gone":        {"没有执法证号为 %[1]s 的执法人员（刚被删除）", "unknown inspector %q (deleted meanwhile)"},
		"imp.reject.region_and_team":       {"区域和队伍只能填一个", "give a region or a team, not both"},
		"imp.reject.closure_target":        {"必填：停工的区域或队伍", "required: the region or the team closed"},
		"imp.reject.duplicate_closure":     {"重复：相同的停工已在第 %[1]d 行出现", "duplicate: the same closure is already on line %d"},
		"imp.reject.region_or_team":        {"区域和队伍须且只能填一个", "give exactly one of region and team"},
		"imp.reject.code_gone":             {"没有%[1]s编码 %[2]s（刚被删除）", "unknown %s code %q (deleted meanwhile)"},
		"imp.col.unavailability.inspector": {"执法证号", "Inspector"},
		"imp.col.unavailability.from":      {"开始日期", "From"},
		"imp.col.unavailability.to":        {"结束日期", "To"},
		"imp.col.unavailability.reason":    {"原因", "Reason"},
		"imp.col.closures.region":          {"区域", "Region"},
		"imp.col.closures.team":            {"队伍", "Team"},
		"imp.col.closures.from":            {"开始日期", "From"},
		"imp.col.closures.to":              {"结束日期", "To"},
		"imp.col.closures.reason":          {"原因", "Reason"},
	})
}
