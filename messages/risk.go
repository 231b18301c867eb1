package messages

// Risk texts (package risk): the codes' names and the reasons a code changed.
func init() {
	Add(map[string][2]string{
		"risk.code.red":    {"红码", "red"},
		"risk.code.yellow": {"黄码", "yellow"},
		"risk.code.green":  {"绿码", "green"},

		// A visit as reasons name it: plan id, visit seq, date.
		"risk.visit": {"计划%[1]d第%[2]d号检查（%[3]s）", "plan %[1]d visit %[2]d (%[3]s)"},
		// Reasons: the visit (risk.visit), the item, the rule cited; the codes' names.
		"risk.reason.violation":      {"%[1]s发现违法行为：%[2]s", "violation at %[1]s: %[2]s"},
		"risk.reason.violation_rule": {"%[1]s发现违法行为：%[2]s（%[3]s）", "violation at %[1]s: %[2]s (%[3]s)"},
		"risk.reason.minor":          {"%[1]s发现轻微问题：%[2]s", "minor finding at %[1]s: %[2]s"},
		"risk.reason.minor_rule":     {"%[1]s发现轻微问题：%[2]s（%[3]s）", "minor finding at %[1]s: %[2]s (%[3]s)"},
		"risk.reason.import":         {"批量导入（第%[1]d批）设定", "import %[1]d"},
		"risk.reason.step_down":      {"连续%[1]d次检查未发现问题，最近一次为%[2]s：%[3]s → %[4]s", "%[1]d clean visits in a row, the latest %[2]s: %[3]s → %[4]s"},
	})
}
