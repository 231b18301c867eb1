package store

import "inspectonce/domain"

// ContactListSQL is the business list's statement for viewer, with its
// arguments numbered $1...: for EXPLAIN in tests of its plan.
func ContactListSQL(viewer domain.Principal) (string, []any) {
	join, args := contactLateral(viewer)
	return dollarParams(`SELECT ` + scopedBusinessColumns + ` FROM businesses b ` + join + ` ORDER BY b.uscc LIMIT 51`), args
}
