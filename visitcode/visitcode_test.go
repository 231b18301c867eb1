package visitcode

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"strings"
	"testing"

	qr "github.com/piglig/go-qr"
)

var (
	key      = bytes.Repeat([]byte{0x5a}, KeySize)
	otherKey = bytes.Repeat([]byte{0xa5}, KeySize)
)

func TestSignParseRoundTrip(t *testing.T) {
	for _, c := range []Code{
		{PlanID: 1, VisitSeq: 1, Generation: 0},
		{PlanID: 42, VisitSeq: 317, Generation: 2},
		{PlanID: math.MaxInt64, VisitSeq: math.MaxInt32, Generation: math.MaxInt32},
	} {
		text, err := Sign(key, c)
		if err != nil {
			t.Fatalf("Sign(%+v): %v", c, err)
		}
		if len(text) > MaxLen || strings.ContainsAny(text, "=/+") || strings.ToUpper(text) != text {
			t.Errorf("Sign(%+v) = %q: not short upper-case URL-safe base32", c, text)
		}
		got, err := Parse(key, text)
		if err != nil || got != c {
			t.Errorf("Parse(Sign(%+v)) = %+v, %v", c, got, err)
		}
		if _, err := Parse(otherKey, text); !errors.Is(err, ErrSignature) {
			t.Errorf("Parse with another key = %v, want ErrSignature", err)
		}
	}
}

func TestCodesDiffer(t *testing.T) {
	seen := map[string]Code{}
	for p := int64(1); p <= 3; p++ {
		for s := 1; s <= 50; s++ {
			for g := 0; g <= 2; g++ {
				c := Code{PlanID: p, VisitSeq: s, Generation: g}
				text, err := Sign(key, c)
				if err != nil {
					t.Fatal(err)
				}
				if prev, dup := seen[text]; dup {
					t.Fatalf("%+v and %+v share code %q", prev, c, text)
				}
				seen[text] = c
			}
		}
	}
}

func TestSignRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  []byte
		c    Code
		want error
	}{
		{"short key", key[:16], Code{PlanID: 1, VisitSeq: 1}, ErrKey},
		{"nil key", nil, Code{PlanID: 1, VisitSeq: 1}, ErrKey},
		{"zero plan", key, Code{PlanID: 0, VisitSeq: 1}, ErrMalformed},
		{"negative plan", key, Code{PlanID: -3, VisitSeq: 1}, ErrMalformed},
		{"zero seq", key, Code{PlanID: 1, VisitSeq: 0}, ErrMalformed},
		{"seq too big", key, Code{PlanID: 1, VisitSeq: math.MaxInt32 + 1}, ErrMalformed},
		{"negative generation", key, Code{PlanID: 1, VisitSeq: 1, Generation: -1}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Sign(tc.key, tc.c); !errors.Is(err, tc.want) || got != "" {
				t.Errorf("Sign = %q, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := Sign(key, Code{PlanID: 7, VisitSeq: 12, Generation: 1})
	if err != nil {
		t.Fatal(err)
	}
	flip := []byte(good)
	if flip[3] == 'A' {
		flip[3] = 'B'
	} else {
		flip[3] = 'A'
	}
	lastFlip := []byte(good)
	if lastFlip[len(lastFlip)-2] == 'A' {
		lastFlip[len(lastFlip)-2] = 'B'
	} else {
		lastFlip[len(lastFlip)-2] = 'A'
	}
	// A code signed for plan 7 visit 12 whose body claims visit 13.
	forged := enc.EncodeToString(append(payload(Code{PlanID: 7, VisitSeq: 13, Generation: 1}), mustRaw(t, good)[len(mustRaw(t, good))-MACSize:]...))
	badVersion := mustRaw(t, good)
	badVersion[0] = 2
	overlong := append([]byte{version, 0x87, 0x80, 0x00}, 12, 1)
	overlong = append(overlong, tag(key, overlong)...)
	trailing := append(payload(Code{PlanID: 7, VisitSeq: 12, Generation: 1}), 0)
	trailing = append(trailing, tag(key, trailing)...)
	for _, tc := range []struct {
		name, text string
		want       error
	}{
		{"empty", "", ErrMalformed},
		{"too long", strings.Repeat("A", MaxLen+1), ErrMalformed},
		{"not base32", "hello-world!", ErrMalformed},
		{"lower case", strings.ToLower(good), ErrMalformed},
		{"padded", good + "====", ErrMalformed},
		{"too short", good[:8], ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"body flipped", string(flip), ErrSignature},
		{"tag flipped", string(lastFlip), ErrSignature},
		{"forged body", forged, ErrSignature},
		{"other version", enc.EncodeToString(badVersion), ErrMalformed},
		{"over-long varint", enc.EncodeToString(overlong), ErrMalformed},
		{"trailing byte", enc.EncodeToString(trailing), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(key, tc.text)
			if !errors.Is(err, tc.want) || got != (Code{}) {
				t.Errorf("Parse(%q) = %+v, %v; want %v", tc.text, got, err, tc.want)
			}
		})
	}
	if _, err := Parse(key[:5], good); !errors.Is(err, ErrKey) {
		t.Errorf("Parse with short key = %v, want ErrKey", err)
	}
}

func mustRaw(t *testing.T, text string) []byte {
	t.Helper()
	b, err := enc.DecodeString(text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeReadsUnsignedFields(t *testing.T) {
	c := Code{PlanID: 9, VisitSeq: 4, Generation: 3}
	text, err := Sign(otherKey, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decode(text); err != nil || got != c {
		t.Errorf("Decode = %+v, %v; want %+v", got, err, c)
	}
}

func TestQRPNGDecodesToText(t *testing.T) {
	code, err := Sign(key, Code{PlanID: 12, VisitSeq: 345, Generation: 0})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://inspect.example.gov.cn/v/" + code
	b, err := QRPNG(url)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	got, err := qr.Decode(img)
	if err != nil || got != url {
		t.Errorf("QR decodes to %q, %v; want %q", got, err, url)
	}
	svg, err := QRSVG(url)
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("QRSVG = %.60q, %v", svg, err)
	}
}

// FuzzParse checks that no input panics Parse, that whatever Parse accepts
// is exactly what Sign makes for the code it names, and that a code signed
// with another key is never accepted.
func FuzzParse(f *testing.F) {
	for _, c := range []Code{{PlanID: 1, VisitSeq: 1}, {PlanID: 99, VisitSeq: 1234, Generation: 5}} {
		s, _ := Sign(key, c)
		f.Add(s)
		s2, _ := Sign(otherKey, c)
		f.Add(s2)
	}
	for _, s := range []string{"", "A", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "aebagbaf", "====", "\x00\xff", strings.Repeat("7", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(key, text)
		if err != nil {
			if c != (Code{}) {
				t.Fatalf("Parse(%q) failed with %v but returned %+v", text, err, c)
			}
			return
		}
		again, err := Sign(key, c)
		if err != nil || again != text {
			t.Fatalf("Parse(%q) = %+v, but Sign gives %q, %v", text, c, again, err)
		}
		if _, err := Parse(otherKey, text); err == nil {
			t.Fatalf("code %q accepted under two keys", text)
		}
	})
}
