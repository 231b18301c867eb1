package jsonout

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestString checks String against encoding/json on the strings that are
// escaped one way or another.
func TestString(t *testing.T) {
	for _, s := range []string{"", "plain", "嵊泗贻贝渔村餐厅", `a"b\c`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x01\x1f\x7f",
		"\u2028 \u2029", "bad \xff utf8 \xe4\xb8", "\xed\xa0\x80 surrogate", "emoji 🦪 ok"} {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, encoding/json %s", s, got, want)
		}
	}
}

// TestFloat64 checks Float64 against encoding/json around its exponent
// cutoffs and on coordinates, and that it refuses what encoding/json does.
func TestFloat64(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 30.73545, 122.444972, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e21,
		-2.5e-9, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.123} {
		want, _ := json.Marshal(f)
		got, err := Float64(nil, f)
		if err != nil || string(got) != string(want) {
			t.Errorf("Float64(%v) = %s, %v; encoding/json %s", f, got, err, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := json.Marshal(f); err == nil {
			t.Fatalf("encoding/json took %v", f)
		}
		if got, err := Float64([]byte("x"), f); err == nil || string(got) != "x" {
			t.Errorf("Float64(%v) = %s, %v; want the error and nothing appended", f, got, err)
		}
	}
}

// TestTime checks Time against time.Time's MarshalJSON, in and out of the
// range RFC 3339 holds.
func TestTime(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	for _, tm := range []time.Time{{}, time.Date(2026, 12, 8, 7, 0, 40, 452633000, sh), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.FixedZone("odd", -(3*3600+30*60)))} {
		want, _ := json.Marshal(tm)
		got, err := Time(nil, tm)
		if err != nil || string(got) != string(want) {
			t.Errorf("Time(%v) = %s, %v; encoding/json %s", tm, got, err, want)
		}
	}
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 25*3600))} {
		if _, err := json.Marshal(tm); err == nil {
			t.Fatalf("encoding/json took %v", tm)
		}
		if got, err := Time([]byte("x"), tm); err == nil || string(got) != "x" {
			t.Errorf("Time(%v) = %s, %v; want the error and nothing appended", tm, got, err)
		}
	}
}

// FuzzString compares String with encoding/json on any string.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "<a&b>", "\xff", "\u2028", "中文\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("String(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzFloat64 compares Float64 with encoding/json on any float64.
func FuzzFloat64(f *testing.F) {
	for _, x := range []float64{0, 1e-7, 1e21, 30.7} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		want, werr := json.Marshal(x)
		got, err := Float64(nil, x)
		if (werr != nil) != (err != nil) || (err == nil && string(got) != string(want)) {
			t.Fatalf("Float64(%v) = %s, %v; encoding/json %s, %v", x, got, err, want, werr)
		}
	})
}
