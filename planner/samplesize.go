package planner

// SampleSize is the n a sampling rule draws from a frame of population
// businesses, as Resolve computes it: count when > 0, else ratio × population
// rounded, at least 1, never more than the population. Key-list members the
// frame holds are drawn with certainty and count toward n; when they are
// more than n all of them are drawn, so the sample is max(SampleSize, key).
func SampleSize(count int, ratio float64, population int) int {
	return resSampleSize(&SampleRule{Count: count, Ratio: ratio}, max(population, 0))
}
