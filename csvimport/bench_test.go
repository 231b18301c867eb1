package csvimport_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"inspectonce/csvimport"
	"inspectonce/store/storetest"
	"inspectonce/uscc"
)

const benchRows = 100_000

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

// BenchmarkImportBusinesses100k loads 100,000 new businesses into a fresh
// database. The issue asks for under 10 s: read sec/op.
func BenchmarkImportBusinesses100k(b *testing.B) {
	data := benchCSV(b, benchRows, 0)
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		st, _ := storetest.New(b)
		county(b, st)
		b.StartTimer()
		job, err := csvimport.Businesses(ctx, st, actor, bytes.NewReader(data), csvimport.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if job.RowsLoaded != benchRows || job.RowsRejected != 0 {
			b.Fatalf("loaded %d, refused %d (first errors %+v)", job.RowsLoaded, job.RowsRejected, job.Errors[:min(3, len(job.Errors))])
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReimportBusinesses100k loads the same 100,000 businesses again with
// every risk code changed: the worst case of a re-import, since every row is
// rewritten and gains a history entry.
func BenchmarkReimportBusinesses100k(b *testing.B) {
	first, second := benchCSV(b, benchRows, 0), benchCSV(b, benchRows, 1)
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		st, _ := storetest.New(b)
		county(b, st)
		if _, err := csvimport.Businesses(ctx, st, actor, bytes.NewReader(first), csvimport.Options{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		job, err := csvimport.Businesses(ctx, st, actor, bytes.NewReader(second), csvimport.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if job.RowsLoaded != benchRows {
			b.Fatalf("loaded %d", job.RowsLoaded)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
