// Package messages is InspectOnce's one message catalog: every text a person
// reads — pages, notices, risk reasons, demand titles — in Simplified Chinese
// and English, looked up by key.
//
// Texts are fmt formats. golang.org/x/text/message was weighed and not used:
// its printer localizes numbers (plan 1234 becomes "1,234" in English),
// which would change the ids and counts notices and titles carry.
package messages

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Lang is a language of the catalog.
type Lang string

// The languages.
const (
	ZH Lang = "zh"
	EN Lang = "en"
)

// Default is the language of text whose reader chose none.
const Default = ZH

// Parse reads a language as configs and requests spell it ("zh", "zh-CN",
// "zh-Hans", "en", "en-US", "en-GB").
func Parse(s string) (Lang, bool) {
	switch s {
	case "zh", "zh-CN", "zh-Hans", "zh-cn":
		return ZH, true
	case "en", "en-US", "en-GB", "en-us", "en-gb":
		return EN, true
	}
	return "", false
}

// OrDefault is l, or Default when l is not a language of the catalog (the
// zero value of a config left unset).
func (l Lang) OrDefault() Lang {
	if l == EN || l == ZH {
		return l
	}
	return Default
}

type text struct{ zh, en string }

var (
	mu      sync.RWMutex
	catalog = map[string]text{}
)

// Add registers texts, {zh, en} by key; each package adds its own in init.
// A key registered twice with different texts is a programming error and
// panics at start-up.
func Add(m map[string][2]string) {
	mu.Lock()
	defer mu.Unlock()
	for k, v := range m {
		if old, ok := catalog[k]; ok && (old.zh != v[0] || old.en != v[1]) {
			panic("messages: " + k + " registered twice with different texts")
		}
		catalog[k] = text{zh: v[0], en: v[1]}
	}
}

// T is the text of key in l, formatted with args (fmt verbs). An unknown key
// is shown as itself, so a missing text is visible, not blank.
func (l Lang) T(key string, args ...any) string {
	mu.RLock()
	m, ok := catalog[key]
	mu.RUnlock()
	s := key
	if ok {
		s = m.zh
		if l == EN {
			s = m.en
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Has reports whether key is in the catalog.
func Has(key string) bool {
	mu.RLock()
	defer mu.RUnlock()
	_, ok := catalog[key]
	return ok
}

// Keys lists the catalog's keys, sorted.
func Keys() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(catalog))
	for k := range catalog {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Texts is key's {zh, en} texts.
func Texts(key string) ([2]string, bool) {
	mu.RLock()
	defer mu.RUnlock()
	m, ok := catalog[key]
	return [2]string{m.zh, m.en}, ok
}

// verb matches one fmt verb, with its optional explicit argument index.
var verb = regexp.MustCompile(`%(\[(\d+)\])?[-+# 0]*(\d+|\*)?(\.(\d+|\*))?([a-zA-Z%])`)

// Placeholders are the arguments a format uses, as "index:verb" (explicit
// or implied indexes alike, 1-based), sorted; "%%" is not one.
func Placeholders(format string) []string {
	var out []string
	next := 1
	for _, m := range verb.FindAllStringSubmatch(format, -1) {
		if m[6] == "%" {
			continue
		}
		i := next
		if m[2] != "" {
			i, _ = strconv.Atoi(m[2])
		}
		next = i + 1
		v := m[6]
		if v == "v" || v == "s" || v == "q" {
			v = "s" // any text: the language may pick how to show it
		}
		p := strconv.Itoa(i) + ":" + v
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Check lists what is wrong with the catalog as registered so far: a key
// without a text in either language, and a key whose two texts do not use
// the same placeholders.
func Check() []error {
	var errs []error
	for _, k := range Keys() {
		t, _ := Texts(k)
		if t[0] == "" || t[1] == "" {
			errs = append(errs, fmt.Errorf("%s: zh %q, en %q: both languages must have a text", k, t[0], t[1]))
			continue
		}
		if zh, en := Placeholders(t[0]), Placeholders(t[1]); !slices.Equal(zh, en) {
			errs = append(errs, fmt.Errorf("%s: placeholders differ: zh %v, en %v", k, zh, en))
		}
	}
	return errs
}

// Date is a civil date as a sentence shows it: 2026年12月10日 in Chinese,
// 2026-12-10 in English. A string that is not YYYY-MM-DD is shown as given.
func (l Lang) Date(d any) string {
	var t time.Time
	switch x := d.(type) {
	case time.Time:
		t = x
	case string:
		p, err := time.Parse(time.DateOnly, x)
		if err != nil {
			return x
		}
		t = p
	default:
		return fmt.Sprint(d)
	}
	if l == EN {
		return t.Format(time.DateOnly)
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// List joins texts as a sentence lists them (、 in Chinese, ", " in
// English); none is "无" / "none".
func (l Lang) List(items []string) string {
	if len(items) == 0 {
		return l.T("list.none")
	}
	sep := "、"
	if l == EN {
		sep = ", "
	}
	out := items[0]
	for _, s := range items[1:] {
		out += sep + s
	}
	return out
}

func init() {
	Add(map[string][2]string{
		"list.none": {"无", "none"},
	})
}
