package messages

import (
	"encoding/csv"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"inspectonce/uscc"
)

// sampleArgs are arguments for an import code's English text, one per verb,
// and the arguments it reads back as (%q's quoted).
func sampleArgs(format string) (args, want []any) {
	defer func() {
		if want == nil {
			want = args
		}
	}()
	for i := 0; ; i++ {
		switch verbAt(format, i) {
		case "":
			return args, want
		case "q":
			if want == nil {
				want = append([]any{}, args...)
			}
			args = append(args, fmt.Sprintf("x%d", i))
			want = append(want, fmt.Sprintf("%q", fmt.Sprintf("x%d", i)))
			continue
		case "d":
			args = append(args, 7+i)
		case "g":
			args = append(args, 1.5)
		case "v":
			args = append(args, ImportText("imp.reject.uscc_length", 5))
		default:
			args = append(args, fmt.Sprintf("%q", fmt.Sprintf("x%d", i)))
		}
		if want != nil {
			want = append(want, args[len(args)-1])
		}
	}
}

// TestImportReasonsRoundTrip: every import code's English text, made with
// any arguments, reads back as that code with those arguments (no other
// code's text swallows it), and its Chinese has no English word left.
func TestImportReasonsRoundTrip(t *testing.T) {
	english := regexp.MustCompile(`[A-Za-z]{3,}`)
	allowed := map[string]bool{"CSV": true, "UTF": true, "NUL": true, "CWE": true, "true": true, "false": true, "xlsx": true, "MiB": true}
	n := 0
	for _, k := range Keys() {
		if !strings.HasPrefix(k, "imp.reject.") {
			continue
		}
		n++
		t.Run(k, func(t *testing.T) {
			txt, _ := Texts(k)
			args, want := sampleArgs(txt[1])
			reason := ImportText(k, args...)
			got, ok := ParseImportReason(reason)
			if !ok || got.Code != k {
				t.Fatalf("%q reads back as %q (%v)", reason, got.Code, ok)
			}
			if len(args) > 0 && !reflect.DeepEqual(got.Args, want) {
				t.Errorf("%q: args %#v, want %#v", reason, got.Args, want)
			}
			if EN.Import("businesses", reason) != reason {
				t.Errorf("English changed the reason")
			}
			zh := ZH.Import("businesses", reason)
			for _, w := range english.FindAllString(zh, -1) {
				if !allowed[w] {
					t.Errorf("Chinese %q keeps the English word %q", zh, w)
				}
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d import codes", n)
	}
}

// TestImportReasonsInChinese: the reasons as the importers write them,
// package uscc's and encoding/csv's words included, read in Chinese; a
// reason without a code is a general refusal, never the English.
func TestImportReasonsInChinese(t *testing.T) {
	badCheck := "91330922000000002X"
	cases := []struct{ kind, reason, code, zh string }{
		{"businesses", `unknown region code "330999"`, "imp.reject.unknown_region", `没有区域编码 "330999"`},
		{"businesses", "duplicate: 91330922000000002L is already on line 3", "imp.reject.duplicate", "重复：91330922000000002L 已在第 3 行出现"},
		{"businesses", uscc.Check("9133").Error(), "imp.reject.uscc_length", "统一社会信用代码应为 18 位，实际 4 位"},
		{"businesses", uscc.Check(badCheck).Error(), "imp.reject.uscc_check", "统一社会信用代码校验位为 'X'，应为 'L'"},
		{"businesses", uscc.Check("91AAAAAA000000002X").Error(), "imp.reject.uscc_division", "统一社会信用代码第 3 至 8 位为行政区划码，须为数字"},
		{"businesses", uscc.Check("9133092200000000IX").Error(), "imp.reject.uscc_char", "统一社会信用代码第 17 位字符 'I' 不允许：只能是数字或规定的大写字母"},
		{"businesses", `"12": ` + uscc.Check("12").Error(), "imp.reject.conflict_uscc", `"12"：统一社会信用代码应为 18 位，实际 2 位`},
		{"businesses", ImportText("imp.reject.csv", 4, 7, csv.ErrBareQuote), "imp.reject.csv", "CSV 格式有误（第 4 行第 7 列）：未加引号的字段中出现了引号"},
		{"businesses", ImportText("imp.reject.cannot_clear", "lat"), "imp.reject.cannot_clear",
			"不能清空（已选“空白单元格清空原值”）：每条记录都须有lat；如要保留原值，请在文件中去掉这一列"},
		{"businesses", ImportText("imp.reject.risk_kept", "red", 12, "计划3第4号检查发现违法行为"), "imp.reject.risk_kept",
			"保留红码：该风险码由检查结果 12 设定（计划3第4号检查发现违法行为）；只有勾选“允许降低由检查结果设定的风险码”并填写理由，导入才能降低它。该行其余列已导入"},
		{"closures", ImportText("imp.reject.code_gone", "region", "R9"), "imp.reject.code_gone", `没有区域编码 "R9"（刚被删除）`},
		{"businesses", `"91.5" is out of range: must lie between -90 and 90`, "", `"91.5" 超出范围：须在 -90 到 90 之间`},
		{"businesses", "unavailability: duplicate key value violates unique constraint: conflict", "", "此行未能导入，请检查该行内容后重试"},
	}
	for _, c := range cases {
		code := ImportCode(c.reason)
		if c.code != "" && code != c.code {
			t.Errorf("%q: code %q, want %q", c.reason, code, c.code)
		}
		if got := ZH.Import(c.kind, c.reason); got != c.zh {
			t.Errorf("%q in Chinese:\n got %q\nwant %q", c.reason, got, c.zh)
		}
	}
}

// FuzzImportReason: whatever a stored reason says, reading it never panics,
// a code read from it is a catalog key, and it reads in Chinese as some text.
func FuzzImportReason(f *testing.F) {
	f.Add(`unknown region code "330999"`)
	f.Add(`"12": invalid unified social credit code: must be 18 characters, got 2`)
	f.Add("not valid CSV (line 4, column 7): bare \" in non-quoted-field")
	f.Add("kept red: visit result 12 set it (x); an import lowers a code set by a result only with risk_override=true and a reason. The row's other columns were applied")
	f.Fuzz(func(t *testing.T, reason string) {
		r, ok := ParseImportReason(reason)
		if ok && !Has(r.Code) {
			t.Fatalf("%q: code %q is not in the catalog", reason, r.Code)
		}
		if ZH.Import("businesses", reason) == "" {
			t.Fatalf("%q reads as nothing in Chinese", reason)
		}
	})
}
