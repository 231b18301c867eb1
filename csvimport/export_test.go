package csvimport

import (
	"bytes"
	"fmt"
	"testing"

	"inspectonce/store"
	"inspectonce/uscc"
)

// BenchCSV lets the integration benchmarks share the generator.
var BenchCSV = benchCSV

// benchCSV returns n valid business rows in Chinese headers, the same for the
// same n and shift; shift rotates the risk codes so a re-import changes them all.
func benchCSV(tb testing.TB, n, shift int) []byte {
	tb.Helper()
	risks := []string{"红", "黄", "绿"}
	lists := []string{"随机", "重点", "无事不扰"}
	industries := []string{"H621", "H611", "F521", "C13", "L72"}
	var buf bytes.Buffer
	buf.WriteString("统一社会信用代码,企业名称,地址,区域编码,行业代码,纬度,经度,风险码,名单,联系人,联系电话\n")
	for i := range n {
		code, err := uscc.Complete(fmt.Sprintf("91330922%09d", i))
		if err != nil {
			tb.Fatal(err)
		}
		region := "330922"
		if i%2 == 1 {
			region = "330922001"
		}
		fmt.Fprintf(&buf, "%s,嵊泗测试企业%06d,\"菜园镇沿港路%d号, %d室\",%s,%s,%.6f,%.6f,%s,%s,联系人%d,1380000%04d\n",
			code, i, i%500, i%97, region, industries[i%len(industries)],
			30.6+float64(i%1000)/10000, 122.3+float64(i%997)/10000,
			risks[(i+shift)%3], lists[i%3], i%1000, i%10000)
	}
	return buf.Bytes()
}

// BenchmarkParseBusinesses100k is the parser alone on the file that
// BenchmarkImportBusinesses100k loads: what the database does not cost.
func BenchmarkParseBusinesses100k(b *testing.B) {
	data := benchCSV(b, 100_000, 0)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p, err := newBusinessParser(bytes.NewReader(data), testRegions, false)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		err = p.run(func(int, store.BusinessPatch) error { n++; return nil },
			func(line int, errs []RowError) error { return fmt.Errorf("line %d: %+v", line, errs) })
		if err != nil || n != 100_000 {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
}
