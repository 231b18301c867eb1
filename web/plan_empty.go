package web

// The dashboard of a plan with no visits says why before anyone tries to
// publish it (store.EmptyPlan). Each reason's text takes the same arguments
// by index, so one template line serves all four: [1] open demands in the
// horizon, [2] open outside it, [3] already served, [4] unplaced.
func init() {
	addMessages(map[string][2]string{
		"plan.empty.all_unplaced": {"本计划没有安排上门检查：解析出的 %[4]d 项任务全部未能安排，原因见“未能安排”。",
			"This plan has no visits: all %[4]d tasks it resolved are unplaced; see “Not placed” for why."},
		"plan.empty.nothing_open": {"本计划没有安排上门检查：检查期内没有待安排的检查需求（检查期外还有 %[2]d 项）。",
			"This plan has no visits: no open demand has a window in its horizon (%[2]d open demands lie outside it)."},
		"plan.empty.all_served": {"本计划没有安排上门检查：检查期内的 %[1]d 项检查需求都已由已发布的计划安排：",
			"This plan has no visits: all %[1]d open demands in its horizon are already served by published plans:"},
		"plan.empty.no_tasks": {"本计划没有安排上门检查：检查期内有 %[1]d 项检查需求，其中 %[3]d 项已由已发布的计划安排；其余没有产生检查任务（对象不在本计划的区域内，或抽查范围内没有市场主体）。",
			"This plan has no visits: %[1]d open demands in its horizon, %[3]d of them already served by published plans; the rest gave no task (their businesses lie outside the plan's regions, or their sample matched no business)."},
		"plan.empty.served":  {"需求 %d：计划", "Demand %d: plan"},
		"plan.empty.publish": {"这样的草案不会被发布；确需发布空计划，请在命令行使用 --force，或在接口中使用 ?force=true。", "Such a draft is not published; to publish it anyway use --force on the command line or ?force=true in the API."},
	})
}
