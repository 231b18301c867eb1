// Package jsonin checks the strings of a JSON request body before it is
// decoded: encoding/json silently turns invalid UTF-8 (and lone surrogate
// escapes) into U+FFFD and decodes \u0000 into a NUL byte, which PostgreSQL
// refuses in text. Check finds them and names the JSON path of the value, so
// that every route refuses them the same way, with a 4xx naming the field.
package jsonin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"inspectonce/domain"
)

// frame is one open object or array on the way to the current value.
type frame struct {
	array bool
	key   string // the object's current key
	index int    // the array's next index
	// wantKey: the object's next string token is a key, not a value.
	wantKey bool
}

// Check walks raw and refuses a string (key or value) that holds a NUL
// character or that is not valid UTF-8, naming its path (`title`,
// `sample.region`, `businesses[3]`). It returns nil for well-formed text and
// leaves syntax errors to the decoder that follows, which reports them with
// their offset.
func Check(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var stack []frame
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return nil // a syntax error: the decoder reports it
		}
		end := dec.InputOffset()
		seg := raw[prev:end]
		prev = end
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{wantKey: true})
			case '[':
				stack = append(stack, frame{array: true})
			case '}', ']':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				advance(stack) // the closed container was one value of its parent
			}
			continue
		case string:
			if len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey {
				if reason := bad(seg, t); reason != "" {
					return domain.Invalid(path(stack[:len(stack)-1]), "has a key that %s", reason)
				}
				stack[len(stack)-1].key = t
				stack[len(stack)-1].wantKey = false
				continue
			}
			if reason := bad(seg, t); reason != "" {
				return domain.Invalid(path(stack), "%s", reason)
			}
		}
		advance(stack)
	}
}

// advance moves the innermost container past one value.
func advance(stack []frame) {
	if len(stack) == 0 {
		return
	}
	f := &stack[len(stack)-1]
	if f.array {
		f.index++
	} else {
		f.wantKey = true
	}
}

// bad says what is wrong with string token s whose raw text (with what came
// before it since the previous token) is seg, or "".
func bad(seg []byte, s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return "must not contain a NUL character (\\u0000)"
	}
	if !utf8.Valid(seg) {
		return "is not valid UTF-8"
	}
	// The decoder replaces a lone surrogate escape (\ud800) with U+FFFD: more
	// U+FFFD in the value than the raw text spells out means one was replaced.
	if n := strings.Count(s, "\uFFFD"); n > 0 && n > bytes.Count(seg, []byte("\uFFFD"))+countFold(seg, `\ufffd`) {
		return "is not valid Unicode (a lone surrogate escape)"
	}
	return ""
}

func countFold(b []byte, sub string) int {
	return bytes.Count(bytes.ToLower(b), []byte(sub))
}

// path names the value the innermost frame is at: keys joined by dots, array
// indexes in brackets.
func path(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.array {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// TextReason says why s cannot be stored as text: a NUL character, or
// invalid UTF-8; "" when it can. Query, path and form values go through it.
func TextReason(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL character"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}
