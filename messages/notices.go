package messages

// Notice texts (package jobs). Titles first, then the sentence of a notice's
// body ("text"). Arguments are data (names, dates already rendered in the
// language, counts) and the role already rendered (notice.role.*).
func init() {
	Add(map[string][2]string{
		"notice.role.lead":   {"主办", "lead"},
		"notice.role.member": {"协办", "member"},
		"notice.role.added":  {"%s，新增", "%s, added"},

		"notice.assignment.title":       {"检查任务：%[2]s 检查%[1]s（%[3]s）", "Visit %[1]s on %[2]s (%[3]s)"},
		"notice.team_visit.title":       {"%[1]s：%[3]s 检查%[2]s", "Team %[1]s visits %[2]s on %[3]s"},
		"notice.visit_notice.title":     {"检查通知：%[1]s 到贵单位检查", "Inspection visit on %[1]s"},
		"notice.reminder.title":         {"明日检查：%[1]s（%[2]s）", "Tomorrow: visit %[1]s (%[2]s)"},
		"notice.reminder.business":      {"提醒：明日（%[1]s）到贵单位检查", "Reminder: inspection visit tomorrow, %[1]s"},
		"notice.roster.title":           {"%[1]s %[2]s 检查行程：%[3]d 家", "Roster of %[1]s for %[2]s: %[3]d visits"},
		"notice.roster.updated":         {"%[1]s %[2]s 检查行程已更新：%[3]d 家", "Updated roster of %[1]s for %[2]s: %[3]d visits"},
		"notice.visit_moved.title":      {"%[1]s的检查由 %[2]s 改至 %[3]s（%[4]s）", "Visit %[1]s moved from %[2]s to %[3]s (%[4]s)"},
		"notice.visit_moved.team":       {"%[1]s：%[2]s的检查由 %[3]s 改至 %[4]s", "Team %[1]s: visit %[2]s moved from %[3]s to %[4]s"},
		"notice.visit_moved.business":   {"检查日期变更：由 %[1]s 改至 %[2]s", "Inspection visit moved from %[1]s to %[2]s"},
		"notice.code_replaced.title":    {"%[2]s 对%[1]s的检查已更换行政行为码，原码作废（%[3]s）", "New visit code for %[1]s on %[2]s (%[3]s): the old one is revoked"},
		"notice.code_replaced.team":     {"%[1]s：%[3]s 对%[2]s的检查已更换行政行为码", "Team %[1]s: new visit code for %[2]s on %[3]s"},
		"notice.code_replaced.business": {"%[1]s 的检查已更换行政行为码，原码作废", "Inspection visit on %[1]s: its code changed, the old one is revoked"},
		"notice.visit_amended.title":    {"%[2]s 对%[1]s的检查增加 %[3]d 个事项（%[4]s）", "Visit %[1]s on %[2]s: %[3]d item(s) added (%[4]s)"},
		"notice.visit_amended.team":     {"%[1]s：%[3]s 对%[2]s的检查增加 %[4]d 个事项", "Team %[1]s: visit %[2]s on %[3]s, %[4]d item(s) added"},
		"notice.visit_amended.business": {"%[1]s 的检查增加 %[2]d 个事项", "Inspection visit on %[1]s: %[2]d item(s) added"},
		"notice.visit_restaffed.in":     {"您替换%[1]s参加 %[3]s 对%[2]s的检查（%[4]s）：%[5]s", "You replace %[1]s on the visit to %[2]s on %[3]s (%[4]s): %[5]s"},
		"notice.visit_restaffed.out":    {"您不再参加 %[2]s 对%[1]s的检查，由%[3]s替换（%[4]s）", "You are off the visit to %[1]s on %[2]s: %[3]s replaces you (%[4]s)"},
		"notice.visit_restaffed.team":   {"%[1]s：%[5]s 对%[4]s的检查由%[2]s替换%[3]s（%[6]s）", "Team %[1]s: %[2]s replaces %[3]s on the visit to %[4]s on %[5]s (%[6]s)"},

		// The sentence of a notice's body: its title, then the details.
		"notice.text":             {"%[1]s。%[2]s", "%[1]s. %[2]s"},
		"notice.detail.visit":     {"地址：%[1]s；检查组：%[2]s（电话 %[3]s）；执法人员：%[4]s；检查事项：%[5]s。", "Address: %[1]s; team %[2]s (phone %[3]s); inspectors: %[4]s; items: %[5]s."},
		"notice.detail.business":  {"检查组：%[1]s（电话 %[2]s）；检查事项：%[3]s。", "Team %[1]s (phone %[2]s); items: %[3]s."},
		"notice.detail.code":      {"可凭行政行为码页面核实检查：%[1]s", "Check the visit on its code page: %[1]s"},
		"notice.detail.reason":    {"原因：%[1]s。", "Reason: %[1]s."},
		"notice.detail.roster":    {"按路线顺序：%[1]s。", "In route order: %[1]s."},
		"notice.detail.roster_no": {"当日已无检查。", "No visits that day any more."},
		"notice.detail.added":     {"新增事项：%[1]s。", "Items added: %[1]s."},
		"notice.inspector":        {"%[1]s（%[2]s）", "%[1]s (%[2]s)"},
		"notice.stop":             {"%[1]d. %[2]s（%[3]s）", "%[1]d. %[2]s (%[3]s)"},
	})
}
