package csvimport_test
import ("bytes";"context";"testing";"time";"inspectonce/csvimport";"inspectonce/store/storetest")
func TestZZTiming(t *testing.T){
	data := benchCSV(t, benchRows, 0)
	for _, bs := range []int{1000, 5000, 20000} {
	st, _ := storetest.New(t)
	county(t, st)
	start := time.Now(); last := start
	_, err := csvimport.Businesses(context.Background(), st, actor, bytes.NewReader(data), csvimport.Options{BatchSize: bs, Progress: func(r, l, x int){ if l % 20000 == 0 {t.Logf("%d %v", l, time.Since(last)); last = time.Now()} }})
	t.Logf("batch %d total %v err %v", bs, time.Since(start), err)
	}
}
