// Package visitcode makes and checks visit codes (行政行为码): short, signed,
// unguessable strings that name one visit of one plan and a generation, so a
// business scanning the code at the door can tell a real visit from a forged
// one. It is pure: the key comes from the caller.
package visitcode

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// KeySize is the length of a signing key in bytes.
const KeySize = 32

// MACSize is the length of the truncated HMAC-SHA256 tag in bytes (96 bits):
// a forger has to guess it, online, one scan at a time.
const MACSize = 12

// MaxLen bounds the text of a code; anything longer is refused before it is
// decoded.
const MaxLen = 56

// version is the first byte of every code, so the format can change later
// without old codes reading as new ones.
const version = 1

// domainTag separates this use of the key from any other.
const domainTag = "inspectonce/visit-code/v1\x00"

// enc is RFC 4648 base32 without padding: upper-case letters and digits only,
// so the code fits a QR code's alphanumeric mode and survives being read out.
var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Errors of Parse and Sign.
var (
	// ErrMalformed says the text is not a visit code at all.
	ErrMalformed = errors.New("not a visit code")
	// ErrSignature says the code is well formed but was not signed with the key.
	ErrSignature = errors.New("visit code signature does not match")
	// ErrKey says the key is not KeySize bytes.
	ErrKey = errors.New("visit code key must be 32 bytes")
)

// Code is what a visit code names.
type Code struct {
	PlanID   int64
	VisitSeq int
	// Generation counts the codes of the visit made before this one; each
	// revocation moves the visit on to the next generation.
	Generation int
}

func (c Code) valid() error {
	switch {
	case c.PlanID <= 0:
		return fmt.Errorf("plan id %d: must be positive: %w", c.PlanID, ErrMalformed)
	case c.VisitSeq <= 0 || c.VisitSeq > math.MaxInt32:
		return fmt.Errorf("visit seq %d: must be in 1..%d: %w", c.VisitSeq, math.MaxInt32, ErrMalformed)
	case c.Generation < 0 || c.Generation > math.MaxInt32:
		return fmt.Errorf("generation %d: must be in 0..%d: %w", c.Generation, math.MaxInt32, ErrMalformed)
	}
	return nil
}

func payload(c Code) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(c.PlanID))
	b = binary.AppendUvarint(b, uint64(c.VisitSeq))
	b = binary.AppendUvarint(b, uint64(c.Generation))
	return b
}

func tag(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(domainTag))
	m.Write(body)
	return m.Sum(nil)[:MACSize]
}

// Sign returns the text of code c signed with key.
func Sign(key []byte, c Code) (string, error) {
	if len(key) != KeySize {
		return "", ErrKey
	}
	if err := c.valid(); err != nil {
		return "", err
	}
	body := payload(c)
	return enc.EncodeToString(append(body, tag(key, body)...)), nil
}

// Decode reads the fields of a code without checking its signature. Callers
// that act on a code use Parse; Decode is for logging what a bad code claimed.
func Decode(text string) (Code, error) {
	c, _, _, err := decode(text)
	return c, err
}

func decode(text string) (Code, []byte, []byte, error) {
	var c Code
	if len(text) == 0 || len(text) > MaxLen {
		return c, nil, nil, fmt.Errorf("length %d: %w", len(text), ErrMalformed)
	}
	raw, err := enc.DecodeString(text)
	if err != nil || len(raw) < 1+3+MACSize {
		return c, nil, nil, ErrMalformed
	}
	body, mac := raw[:len(raw)-MACSize], raw[len(raw)-MACSize:]
	if body[0] != version {
		return c, nil, nil, fmt.Errorf("version %d: %w", body[0], ErrMalformed)
	}
	rest := body[1:]
	var f [3]uint64
	for i := range f {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return c, nil, nil, ErrMalformed
		}
		f[i], rest = v, rest[n:]
	}
	if len(rest) != 0 || f[0] > math.MaxInt64 || f[1] > math.MaxInt32 || f[2] > math.MaxInt32 {
		return c, nil, nil, ErrMalformed
	}
	c = Code{PlanID: int64(f[0]), VisitSeq: int(f[1]), Generation: int(f[2])}
	if err := c.valid(); err != nil {
		return Code{}, nil, nil, err
	}
	// One code, one text: an over-long varint, trailing bits or a lower-case
	// copy is not a second spelling of the same code.
	if string(payload(c)) != string(body) || enc.EncodeToString(raw) != text {
		return Code{}, nil, nil, fmt.Errorf("not in canonical form: %w", ErrMalformed)
	}
	return c, body, mac, nil
}

// Parse checks that text is a code signed with key and returns what it names.
// It answers ErrMalformed for text that is not a code and ErrSignature for a
// code whose tag does not match; the tag is compared in constant time.
func Parse(key []byte, text string) (Code, error) {
	if len(key) != KeySize {
		return Code{}, ErrKey
	}
	c, body, mac, err := decode(text)
	if err != nil {
		return Code{}, err
	}
	if !hmac.Equal(mac, tag(key, body)) {
		return Code{}, ErrSignature
	}
	return c, nil
}
