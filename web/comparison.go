package web

// Texts of the comparison job (issue 20 point 4): a coordinated draft's
// independent counterpart is built after the draft is stored, and the plan
// page says so until it is ready.
func init() {
	addMessages(map[string][2]string{
		"cmpjob.comparing": {"正在与独立抽样对比…（对比完成后本页自动显示）", "comparing… (the comparison shows here when it is ready)"},
		"cmpjob.failed":    {"与独立抽样的对比未能完成：%s", "The comparison with independent sampling could not be built: %s"},
		"cmpjob.skipped":   {"本计划在对比完成前已发布或作废，未保存对比。", "This plan was published or discarded before its comparison was built, so it keeps none."},
	})
}
