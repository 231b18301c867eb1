package planner

// SampleSize is the n a sampling rule draws from a frame of population
// businesses, as Resolve computes it: count when > 0, else ratio × population
// rounded, at least 1, never more than the population. The frame does not
// hold the key list (重点): those businesses are taken apart and inspected on
// top of n (docs/draws.md §3.2), so a rule inspects key + SampleSize(frame).
func SampleSize(count int, ratio float64, population int) int {
	return resSampleSize(&SampleRule{Count: count, Ratio: ratio}, max(population, 0))
}
