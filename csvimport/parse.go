package csvimport

import (
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/uscc"
)

// Columns of a businesses file. The order is the index into businessColumns.
const (
	bUSCC = iota
	bName
	bAddress
	bRegion
	bIndustry
	bLat
	bLng
	bRisk
	bRiskReason
	bList
	bContactName
	bContactPhone
)

var businessColumns = []column{
	bUSCC:         {key: "uscc", names: []string{"uscc", "统一社会信用代码"}, id: true},
	bName:         {key: "name", names: []string{"name", "名称", "企业名称"}, required: true},
	bAddress:      {key: "address", names: []string{"address", "地址"}},
	bRegion:       {key: "region", names: []string{"region", "region_code", "区域", "区域编码"}, required: true},
	bIndustry:     {key: "industry_code", names: []string{"industry_code", "industry", "行业代码"}, required: true},
	bLat:          {key: "lat", names: []string{"lat", "latitude", "纬度"}, required: true},
	bLng:          {key: "lng", names: []string{"lng", "lon", "longitude", "经度"}, required: true},
	bRisk:         {key: "risk_code", names: []string{"risk_code", "风险码"}},
	bRiskReason:   {key: "risk_reason", names: []string{"risk_reason", "赋码原因"}},
	bList:         {key: "list_kind", names: []string{"list_kind", "名单"}},
	bContactName:  {key: "contact_name", names: []string{"contact_name", "联系人"}},
	bContactPhone: {key: "contact_phone", names: []string{"contact_phone", "联系电话"}},
}

var riskCodes = map[string]string{
	"red": domain.RiskRed, "yellow": domain.RiskYellow, "green": domain.RiskGreen,
	"红": domain.RiskRed, "黄": domain.RiskYellow, "绿": domain.RiskGreen,
	"红码": domain.RiskRed, "黄码": domain.RiskYellow, "绿码": domain.RiskGreen,
	"红色": domain.RiskRed, "黄色": domain.RiskYellow, "绿色": domain.RiskGreen,
}

var listKinds = map[string]string{
	"random": domain.ListRandom, "key": domain.ListKey, "leave_alone": domain.ListLeaveAlone,
	"随机": domain.ListRandom, "重点": domain.ListKey, "无事不扰": domain.ListLeaveAlone,
}

// goodFunc receives a row that passed every check; badFunc every other row
// with at least one error. Either may stop the parse by returning an error.
type (
	goodFunc[T any] func(line int, v T) error
	badFunc         func(line int, errs []RowError) error
)

// parser streams the data rows of one file through conv, which checks a row
// and converts it to T. It touches no database: codes are resolved through
// maps loaded beforehand, so the same code serves the loader and the fuzzer.
type parser[T any] struct {
	s    *sheet
	conv func(*row) T
}

// newBusinessParser reads the header of a businesses file; region codes are
// resolved through regions. A USCC already accepted on an earlier line
// refuses the later row. With clear, an empty cell clears an optional column.
func newBusinessParser(r io.Reader, regions map[string]int64, clear bool) (*parser[store.BusinessPatch], error) {
	s, err := openSheet(r, businessColumns)
	if err != nil {
		return nil, err
	}
	s.clear = clear
	seen := make(map[string]int)
	return &parser[store.BusinessPatch]{s: s, conv: func(rw *row) store.BusinessPatch {
		b, ok := businessRow(rw, regions)
		if ok {
			if prev, dup := seen[b.USCC]; dup {
				rw.bad(bUSCC, "imp.reject.duplicate", b.USCC, prev)
			} else {
				seen[strings.Clone(b.USCC)] = rw.line // a clone does not pin the whole record
			}
		}
		return b
	}}, nil
}

// head is column c as the file spells it.
func (p *parser[T]) head(c int) string { return p.s.heads[c] }

// run hands every data row, in file order, to good or to bad. It fails only
// when the file cannot be read further or a callback fails.
func (p *parser[T]) run(good goodFunc[T], bad badFunc) error {
	rw := &row{s: p.s}
	for {
		line, rec, rowErr, err := p.s.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if rowErr != nil {
			if err := bad(line, []RowError{*rowErr}); err != nil {
				return err
			}
			continue
		}
		rw.rec, rw.line, rw.errs = rec, line, rw.errs[:0]
		v := p.conv(rw)
		if len(rw.errs) > 0 {
			err = bad(line, append([]RowError(nil), rw.errs...))
		} else {
			err = good(line, v)
		}
		if err != nil {
			return err
		}
	}
}

// businessRow reads the fields a row sets. Whether a required field is
// missing depends on whether the business is registered, which the store
// decides.
func businessRow(rw *row, regions map[string]int64) (store.BusinessPatch, bool) {
	b := store.BusinessPatch{
		Line:         rw.line,
		Name:         rw.text(bName, 300),
		Address:      rw.text(bAddress, 500),
		ContactName:  rw.text(bContactName, 100),
		ContactPhone: rw.text(bContactPhone, 50),
	}
	if v := rw.text(bRiskReason, 500); v != nil {
		b.RiskReason = *v
	}
	b.USCC = strings.ToUpper(rw.cell(bUSCC))
	if b.USCC == "" {
		rw.bad(bUSCC, "imp.reject.required")
	} else if err := uscc.Check(b.USCC); err != nil {
		rw.badText(bUSCC, err.Error()) // package uscc's words: messages reads them as imp.reject.uscc_*
	}
	if code, ok := rw.given(bRegion); ok {
		if id, known := regions[code]; known {
			b.RegionID, b.RegionCode = &id, code
		} else {
			rw.bad(bRegion, "imp.reject.unknown_region", quote(code))
		}
	}
	if v, ok := rw.given(bIndustry); ok {
		v = strings.ToUpper(v)
		if validIndustry(v) {
			b.IndustryCode = &v
		} else {
			rw.bad(bIndustry, "imp.reject.industry", quote(v))
		}
	}
	b.Lat = rw.coordinate(bLat, 90)
	b.Lng = rw.coordinate(bLng, 180)
	// Codes and lists have no empty value: an empty cell keeps them even
	// with empty=clear (green and random for a new business).
	if v := rw.cell(bRisk); v != "" {
		if code := riskCodes[strings.ToLower(v)]; code != "" {
			b.RiskCode = &code
		} else {
			rw.bad(bRisk, "imp.reject.risk_code", quote(v))
		}
	}
	if v := rw.cell(bList); v != "" {
		if kind := listKinds[strings.ToLower(v)]; kind != "" {
			b.ListKind = &kind
		} else {
			rw.bad(bList, "imp.reject.list_kind", quote(v))
		}
	}
	return b, len(rw.errs) == 0
}

// coordinate parses a latitude or longitude in decimal degrees within ±limit;
// nil when the row does not set it.
func (rw *row) coordinate(c int, limit float64) *float64 {
	v, ok := rw.given(c)
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil:
		rw.bad(c, "imp.reject.not_number", quote(v))
	case math.IsNaN(f) || math.IsInf(f, 0):
		rw.bad(c, "imp.reject.not_finite", quote(v))
	case f < -limit || f > limit:
		rw.bad(c, "imp.reject.out_of_range", v, limit, limit)
	default:
		return &f
	}
	return nil
}

// validIndustry mirrors the businesses.industry_code check: ^[A-Z]?[0-9]{2,4}$.
func validIndustry(v string) bool {
	if v != "" && v[0] >= 'A' && v[0] <= 'Z' {
		v = v[1:]
	}
	if len(v) < 2 || len(v) > 4 {
		return false
	}
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// Columns of an inspectors file.
const (
	iCode = iota
	iName
	iTeam
	iDomains
	iPhone
	iLeader
	iConflicts
)

var inspectorColumns = []column{
	iCode:      {key: "code", names: []string{"code", "执法证号"}, id: true},
	iName:      {key: "name", names: []string{"name", "姓名"}, required: true},
	iTeam:      {key: "team", names: []string{"team", "team_code", "队伍", "队伍编码"}, required: true},
	iDomains:   {key: "domains", names: []string{"domains", "资格领域"}},
	iPhone:     {key: "phone", names: []string{"phone", "电话"}},
	iLeader:    {key: "is_leader", names: []string{"is_leader", "队长"}},
	iConflicts: {key: "conflicts", names: []string{"conflicts", "回避"}},
}

var booleans = map[string]bool{
	"true": true, "false": false, "1": true, "0": false, "yes": true, "no": false,
	"是": true, "否": false, "": false,
}

// newInspectorParser reads the header of an inspectors file; team codes are
// resolved through teams. Whether each conflict names a registered business
// is left to the loader, which asks the database once per batch. Conflicts is
// nil when the row does not set them, so that stored ones are kept.
func newInspectorParser(r io.Reader, teams map[string]int64, clear bool) (*parser[store.InspectorPatch], error) {
	s, err := openSheet(r, inspectorColumns)
	if err != nil {
		return nil, err
	}
	s.clear = clear
	seen := make(map[string]int)
	return &parser[store.InspectorPatch]{s: s, conv: func(rw *row) store.InspectorPatch {
		in, ok := inspectorRow(rw, teams)
		if ok {
			if prev, dup := seen[in.Code]; dup {
				rw.bad(iCode, "imp.reject.duplicate", in.Code, prev)
			} else {
				seen[strings.Clone(in.Code)] = rw.line
			}
		}
		return in
	}}, nil
}

func inspectorRow(rw *row, teams map[string]int64) (store.InspectorPatch, bool) {
	in := store.InspectorPatch{
		Line:  rw.line,
		Name:  rw.text(iName, 100),
		Phone: rw.text(iPhone, 50),
	}
	in.Code = rw.cell(iCode)
	if in.Code == "" {
		rw.bad(iCode, "imp.reject.required")
	} else if !validCode(in.Code) {
		rw.bad(iCode, "imp.reject.cert_code", quote(in.Code))
	}
	if code, ok := rw.given(iTeam); ok {
		if id, known := teams[code]; known {
			in.TeamID, in.TeamCode = &id, code
		} else {
			rw.bad(iTeam, "imp.reject.unknown_team", quote(code))
		}
	}
	if v, ok := rw.given(iDomains); ok {
		domains := []string{}
		for _, d := range splitList(v) {
			d = strings.ToLower(d)
			if !validDomain(d) {
				rw.bad(iDomains, "imp.reject.domain", quote(d))
				break
			}
			if !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
		}
		in.Domains = &domains
	}
	if v, ok := rw.given(iLeader); ok {
		leader, known := booleans[strings.ToLower(v)]
		if !known {
			rw.bad(iLeader, "imp.reject.boolean", quote(v))
		}
		in.IsLeader = &leader
	}
	if v, ok := rw.given(iConflicts); ok {
		conflicts := []string{}
		for _, c := range splitList(v) {
			c = strings.ToUpper(c)
			if err := uscc.Check(c); err != nil {
				rw.bad(iConflicts, "imp.reject.conflict_uscc", quote(c), err)
				break
			}
			if !slices.Contains(conflicts, c) {
				conflicts = append(conflicts, c)
			}
		}
		in.Conflicts = &conflicts
	}
	return in, len(rw.errs) == 0
}

// validCode mirrors the inspectors.code check: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$.
func validCode(v string) bool {
	if len(v) == 0 || len(v) > 64 {
		return false
	}
	for i := range len(v) {
		c := v[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// validDomain mirrors the items.domain check, ^[a-z][a-z0-9_]{0,63}$, so an
// inspector's domains can match the items they qualify for.
func validDomain(v string) bool {
	if len(v) == 0 || len(v) > 64 || v[0] < 'a' || v[0] > 'z' {
		return false
	}
	for i := range len(v) {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
