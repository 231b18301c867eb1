package messages

// Titles of the demands the service makes itself (package store: follow-ups;
// package jobs: routine demands).
func init() {
	Add(map[string][2]string{
		"demand.follow.redo":         {"补查（未能检查）", "Redo (not done)"},
		"demand.follow.reinspection": {"复查（整改期满）", "Re-inspection (rectification due)"},
		// kind, the original demand's title, the visit (risk.visit).
		"demand.follow.title":      {"%[1]s：%[2]s · %[3]s", "%[1]s: %[2]s · %[3]s"},
		"demand.follow.title_bare": {"%[1]s · %[2]s", "%[1]s · %[2]s"},
		// risk code's name, interval in days, scenario code.
		"demand.routine.title": {"例行检查（%[1]s，每%[2]d天）：%[3]s", "Routine visit (%[1]s, every %[2]d days): %[3]s"},
		"demand.routine.part":  {"%[1]s %[2]d/%[3]d", "%[1]s %[2]d/%[3]d"},
	})
}
