package xlsxout

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// The workbooks the service offers: a plan's visits, a team's roster of a
// day, demands and published results. Each takes what the caller may read,
// already scoped; these functions only lay it out.

// Names resolves the ids a list carries to the names a reader knows.
type Names struct {
	Teams       map[int64]string
	Departments map[int64]string
	Items       map[int64]string
	Inspectors  map[int64]string
}

// LoadNames reads the registries' names (every caller of a download is staff,
// who may read them all).
func LoadNames(ctx context.Context, st *store.Store) (Names, error) {
	n := Names{Teams: map[int64]string{}, Departments: map[int64]string{}, Items: map[int64]string{}, Inspectors: map[int64]string{}}
	if err := allPages(func(pg store.Page) (string, error) {
		out, err := st.ListTeams(ctx, store.TeamFilter{}, pg)
		for _, t := range out.Items {
			n.Teams[t.ID] = t.Name
		}
		return out.Next, err
	}); err != nil {
		return n, fmt.Errorf("team names: %w", err)
	}
	if err := allPages(func(pg store.Page) (string, error) {
		out, err := st.ListDepartments(ctx, pg)
		for _, d := range out.Items {
			n.Departments[d.ID] = d.Name
		}
		return out.Next, err
	}); err != nil {
		return n, fmt.Errorf("department names: %w", err)
	}
	if err := allPages(func(pg store.Page) (string, error) {
		out, err := st.ListItems(ctx, store.ItemFilter{}, pg)
		for _, it := range out.Items {
			n.Items[it.ID] = it.Name
		}
		return out.Next, err
	}); err != nil {
		return n, fmt.Errorf("item names: %w", err)
	}
	if err := allPages(func(pg store.Page) (string, error) {
		out, err := st.ListInspectors(ctx, store.InspectorFilter{}, pg)
		for _, in := range out.Items {
			n.Inspectors[in.ID] = in.Name
		}
		return out.Next, err
	}); err != nil {
		return n, fmt.Errorf("inspector names: %w", err)
	}
	return n, nil
}

// MaxRows bounds a download: Excel's own limit is 1,048,576 rows, and a list
// longer than this is better filtered first.
const MaxRows = 200_000

// ErrTooLong is wrapped by the All* readers when a list passes MaxRows.
var ErrTooLong = fmt.Errorf("more than %d rows: narrow the list first", MaxRows)

// allPages calls list page by page until it answers no next cursor.
func allPages(list func(store.Page) (string, error)) error {
	pg := store.Page{Limit: store.MaxLimit}
	for {
		next, err := list(pg)
		if err != nil || next == "" {
			return err
		}
		pg.After = next
	}
}

// All reads every page of a paged list, up to MaxRows items.
func All[T any](list func(store.Page) (store.Paged[T], error)) ([]T, error) {
	var out []T
	err := allPages(func(pg store.Page) (string, error) {
		p, err := list(pg)
		out = append(out, p.Items...)
		if err == nil && len(out) > MaxRows {
			return "", domain.Invalid("format", "%v", ErrTooLong)
		}
		return p.Next, err
	})
	return out, err
}

func names(ids []int64, m map[int64]string) string {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		if n, ok := m[id]; ok {
			parts = append(parts, n)
		} else {
			parts = append(parts, strconv.FormatInt(id, 10))
		}
	}
	return strings.Join(parts, "、")
}

// PlanVisitsSheet is the layout of a plan's visits.
var PlanVisitsSheet = Sheet{ZH: "走访", EN: "Visits", Columns: []Column{
	{ZH: "序号", EN: "Visit", Kind: Int},
	{ZH: "日期", EN: "Date", Kind: Date},
	{ZH: "执法队", EN: "Team", Width: 22},
	{ZH: "路线顺序", EN: "Route order", Kind: Int},
	{ZH: "统一社会信用代码", EN: "USCC", Width: 22},
	{ZH: "企业名称", EN: "Business", Width: 30},
	{ZH: "检查部门", EN: "Departments", Width: 24},
	{ZH: "检查事项", EN: "Items", Width: 40},
	{ZH: "执法人员", EN: "Inspectors", Width: 20},
	{ZH: "检查时长（分钟）", EN: "Minutes on site", Kind: Int},
	{ZH: "路程（分钟）", EN: "Travel minutes", Kind: Int},
}}

// PlanVisits writes a plan's visits, one row a visit (lead inspector first).
func PlanVisits(w *Writer, visits []store.PlanVisit, n Names) error {
	if err := w.Sheet(PlanVisitsSheet); err != nil {
		return err
	}
	for _, v := range visits {
		var items []int64
		for _, t := range v.Tasks {
			if t.ItemID != 0 {
				items = append(items, t.ItemID)
			}
		}
		var people []int64
		for _, a := range v.Inspectors {
			if a.Role == "lead" {
				people = append([]int64{a.InspectorID}, people...)
			} else {
				people = append(people, a.InspectorID)
			}
		}
		team := n.Teams[v.TeamID]
		if team == "" {
			team = strconv.FormatInt(v.TeamID, 10)
		}
		if err := w.Row(v.Seq, v.Date, team, v.RouteOrder, v.USCC, v.BusinessName,
			names(v.DepartmentIDs, n.Departments), names(items, n.Items), names(people, n.Inspectors),
			v.DurationMinutes, v.TravelMinutes); err != nil {
			return err
		}
	}
	return nil
}

// RosterSheet is the layout of a team's roster of a day.
var RosterSheet = Sheet{ZH: "排班表", EN: "Roster", Columns: []Column{
	{ZH: "顺序", EN: "Stop", Kind: Int},
	{ZH: "日期", EN: "Date", Kind: Date},
	{ZH: "原定日期", EN: "Planned date", Kind: Date},
	{ZH: "统一社会信用代码", EN: "USCC", Width: 22},
	{ZH: "企业名称", EN: "Business", Width: 30},
	{ZH: "地址", EN: "Address", Width: 30},
	{ZH: "联系人", EN: "Contact"},
	{ZH: "联系电话", EN: "Phone", Width: 16},
	{ZH: "检查事项", EN: "Items", Width: 44},
	{ZH: "执法人员", EN: "Inspectors", Width: 20},
	{ZH: "检查时长（分钟）", EN: "Minutes on site", Kind: Int},
	{ZH: "路程（分钟）", EN: "Travel minutes", Kind: Int},
	{ZH: "行政行为码", EN: "Visit code", Width: 14},
}}

// Roster writes a roster, one row a stop in route order. Contact details
// the reader may not see are blank, as they are null in JSON.
func Roster(w *Writer, r store.Roster) error {
	if err := w.Sheet(RosterSheet); err != nil {
		return err
	}
	for i, v := range r.Visits {
		items := make([]string, len(v.Items))
		for j, it := range v.Items {
			items[j] = it.DepartmentName + "：" + it.Name
		}
		people := make([]string, len(v.Inspectors))
		for j, in := range v.Inspectors {
			people[j] = in.Name
		}
		var name, phone any
		if !v.Business.ContactWithheld {
			name, phone = v.Business.ContactName, v.Business.ContactPhone
		}
		if err := w.Row(i+1, r.Date, v.OriginalDate, v.Business.USCC, v.Business.Name, v.Business.Address, name, phone,
			strings.Join(items, "\n"), strings.Join(people, "、"), v.DurationMinutes, v.TravelMinutes, v.Code); err != nil {
			return err
		}
	}
	return nil
}

// DemandsSheet is the layout of a list of demands.
var DemandsSheet = Sheet{ZH: "检查需求", EN: "Demands", Columns: []Column{
	{ZH: "编号", EN: "Demand", Kind: Int},
	{ZH: "部门", EN: "Department", Width: 18},
	{ZH: "标题", EN: "Title", Width: 30},
	{ZH: "状态", EN: "Status"},
	{ZH: "来源", EN: "Source"},
	{ZH: "优先级", EN: "Priority", Kind: Int},
	{ZH: "开始日期", EN: "From", Kind: Date},
	{ZH: "结束日期", EN: "To", Kind: Date},
	{ZH: "提前告知（天）", EN: "Announce days", Kind: Int},
	{ZH: "目标", EN: "Target", Width: 30},
	{ZH: "检查事项", EN: "Items", Width: 36},
	{ZH: "提交人", EN: "Submitted by", Width: 18},
	{ZH: "提交时间", EN: "Submitted at", Kind: DateTime},
	{ZH: "取消原因", EN: "Cancel reason", Width: 24},
}}

var demandWords = map[string][2]string{
	domain.DemandOpen: {"有效", "open"}, domain.DemandCancelled: {"已取消", "cancelled"},
	domain.SourceRoutine: {"日常", "routine"}, domain.SourceComplaint: {"投诉举报", "complaint"},
	domain.SourceCampaign: {"专项行动", "campaign"}, domain.SourceScenario: {"场景", "scenario"},
}

func (w *Writer) word(m map[string][2]string, code string) string {
	if p, ok := m[code]; ok {
		return w.text(p[0], p[1])
	}
	return code
}

// target says what a demand asks for, in the workbook's language.
func (w *Writer) target(d domain.Demand) string {
	if d.TargetKind == domain.TargetList {
		return w.text(fmt.Sprintf("名单：%d 家", len(d.Businesses)), fmt.Sprintf("list: %d businesses", len(d.Businesses)))
	}
	if s := d.Sample; s != nil {
		switch {
		case s.Count != nil:
			return w.text(fmt.Sprintf("抽查：%d 家", *s.Count), fmt.Sprintf("sample: %d businesses", *s.Count))
		case s.Ratio != nil:
			pct := strconv.FormatFloat(*s.Ratio*100, 'f', -1, 64)
			return w.text("抽查："+pct+"%", "sample: "+pct+"%")
		}
	}
	return d.TargetKind
}

// Demands writes demands, one row each; instants in loc.
func Demands(w *Writer, ds []domain.Demand, n Names, loc *time.Location) error {
	if err := w.Sheet(DemandsSheet); err != nil {
		return err
	}
	for _, d := range ds {
		if err := w.Row(d.ID, names([]int64{d.DepartmentID}, n.Departments), d.Title, w.word(demandWords, d.Status),
			w.word(demandWords, d.Source), d.Priority, d.WindowFrom, d.WindowTo, d.AnnounceDays, w.target(d),
			names(d.ItemIDs, n.Items), d.CreatedBy, d.CreatedAt.In(loc), d.CancelReason); err != nil {
			return err
		}
	}
	return nil
}

// ResultsSheet is the layout of published results, one row an item.
var ResultsSheet = Sheet{ZH: "检查结果", EN: "Results", Columns: []Column{
	{ZH: "检查日期", EN: "Visit date", Kind: Date},
	{ZH: "统一社会信用代码", EN: "USCC", Width: 22},
	{ZH: "企业名称", EN: "Business", Width: 30},
	{ZH: "计划", EN: "Plan", Kind: Int},
	{ZH: "走访序号", EN: "Visit", Kind: Int},
	{ZH: "部门", EN: "Department", Width: 18},
	{ZH: "检查事项", EN: "Item", Width: 30},
	{ZH: "法律依据", EN: "Legal basis", Width: 30},
	{ZH: "检查结果", EN: "Outcome"},
	{ZH: "违反条款", EN: "Rule cited", Width: 24},
	{ZH: "整改期限", EN: "Rectify by", Kind: Date},
	{ZH: "移送部门", EN: "Transferred to", Width: 16},
	{ZH: "未检查原因", EN: "Not done because"},
	{ZH: "执法人员", EN: "Inspectors", Width: 20},
	{ZH: "公开时间", EN: "Published at", Kind: DateTime},
	{ZH: "公开期限", EN: "Publish by", Kind: Date},
}}

var resultWords = map[string][2]string{
	"compliant": {"合规", "compliant"}, "minor": {"轻微问题", "minor"}, "violation": {"违法", "violation"},
	"transferred": {"移送", "transferred"}, "not_done": {"未检查", "not done"},
	"closed": {"停业", "closed"}, "absent": {"无人", "absent"}, "refused": {"拒绝检查", "refused"},
}

// Results writes published results, one row an item result; department,
// when not "", keeps that department's items (by code). Instants in loc.
func Results(w *Writer, rs []store.PublishedResult, department string, loc *time.Location) error {
	if err := w.Sheet(ResultsSheet); err != nil {
		return err
	}
	for _, r := range rs {
		for _, it := range r.Items {
			if department != "" && it.DepartmentCode != department {
				continue
			}
			if err := w.Row(r.VisitDate, r.USCC, r.BusinessName, r.PlanID, r.VisitSeq, it.DepartmentName, it.ItemName,
				it.LegalBasis, w.word(resultWords, it.Outcome), it.RuleCited, it.RectifyBy, it.TransferredTo,
				w.word(resultWords, it.NotDoneReason), strings.Join(r.Inspectors, "、"), r.PublishedAt.In(loc), r.PublishDue); err != nil {
				return err
			}
		}
	}
	return nil
}
