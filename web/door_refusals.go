package web

import (
	"regexp"

	"inspectonce/domain"
)

// Refusals on the phone page, in the page's language, at the field: the
// store names the JSON field and says why in English for the API; the page
// names the form's label and says why in the inspector's language.

// doorFieldError is one refused field as the phone page shows it.
type doorFieldError struct {
	domain.FieldError
	// Label is the form's label of the field; Message why, both in the
	// page's language.
	Label   string `json:"label"`
	Message string `json:"message"`
}

// doorLabels are the catalog keys of the phone page's fields.
var doorLabels = map[string]string{
	"outcome": "door.outcome", "rule_cited": "door.rule_cited", "rectify_by": "door.rectify_by",
	"transferred_to": "door.transferred_to", "not_done_reason": "door.not_done_reason", "note": "door.note",
	"at": "door.refusal.field_at", "lat": "door.refusal.field_place", "lng": "door.refusal.field_place",
	"accuracy_m": "door.refusal.field_place", "client_id": "door.refusal.field_submission", "body": "door.refusal.field_submission",
}

// doorReasons turn the store's reasons into catalog keys; the first that
// matches wins, and a reason none matches reads as door.refusal.other.
var doorReasons = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^is required for outcome`), "door.refusal.required"},
	{regexp.MustCompile(`^is only for outcome`), "door.refusal.only_for"},
	{regexp.MustCompile(`^must be at most \d+ characters`), "door.refusal.too_long"},
	{regexp.MustCompile(`^must be after the visit's date`), "door.refusal.rectify_after"},
	{regexp.MustCompile(`^must be at most \d+ days after the visit`), "door.refusal.rectify_too_late"},
	{regexp.MustCompile(`^is the task's own department`), "door.refusal.own_department"},
	{regexp.MustCompile(`^no such department`), "door.refusal.no_department"},
	{regexp.MustCompile(`^must be one of`), "door.refusal.choose"},
	{regexp.MustCompile(`(?i)date|YYYY-MM-DD`), "door.refusal.date"},
	{regexp.MustCompile(`^is in the future`), "door.refusal.future"},
}

// localFieldErrors are fields as the phone page shows them in lang.
func localFieldErrors(lang Lang, fields []domain.FieldError) []doorFieldError {
	out := make([]doorFieldError, len(fields))
	for i, f := range fields {
		label := f.Field
		if k, ok := doorLabels[f.Field]; ok {
			label = lang.T(k)
		} else {
			label = lang.T("door.refusal.field_submission")
		}
		key := "door.refusal.other"
		for _, r := range doorReasons {
			if r.re.MatchString(f.Reason) {
				key = r.key
				break
			}
		}
		out[i] = doorFieldError{FieldError: f, Label: label, Message: lang.T(key)}
	}
	return out
}

func init() {
	addMessages(map[string][2]string{
		"door.refusal.required":         {"按所选检查结果必须填写", "is required for the outcome chosen"},
		"door.refusal.only_for":         {"所选检查结果不需要填写，请清空", "does not go with the outcome chosen: leave it empty"},
		"door.refusal.too_long":         {"内容过长，请精简", "is too long"},
		"door.refusal.rectify_after":    {"须晚于检查日期", "must be after the visit's date"},
		"door.refusal.rectify_too_late": {"超出允许的整改期限", "is further out than the rectification period allows"},
		"door.refusal.own_department":   {"移送须选择本事项所属部门以外的部门", "must be another department than the item's own"},
		"door.refusal.no_department":    {"没有这个部门", "is not a known department"},
		"door.refusal.choose":           {"请从列表中选择", "choose one from the list"},
		"door.refusal.date":             {"日期格式应为 年-月-日", "must be a date (year-month-day)"},
		"door.refusal.future":           {"时间晚于服务器当前时间，请检查手机时间", "is later than the server's clock: check the phone's time"},
		"door.refusal.other":            {"填写有误，请检查", "is not accepted: please check it"},
		"door.refusal.field_at":         {"签到时间", "Check-in time"},
		"door.refusal.field_place":      {"签到位置", "Check-in place"},
		"door.refusal.field_submission": {"提交内容", "Submission"},
		"door.awaiting":                 {"待确认：", "Still to confirm: "},
		"door.all_confirmed":            {"两人均已确认", "Both have confirmed"},
	})
}
