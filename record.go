package oidcmw

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Records are stored in a small length-prefixed binary form: decoding one on
// every guarded request must cost next to nothing, and a record read back
// from a shared store is treated as untrusted input (bounds are checked).
//
// Decoding copies the stored bytes once into a string that the decoded
// strings share; the byte fields (claims, UserInfo, DPoP key) are copies of
// their own. Nothing of a decoded record points into what the store
// returned.

const (
	sessionRecordV1 = 's'
	pendingRecordV1 = 'p'
)

var errBadRecord = errors.New("oidcmw: malformed store record")

// sessionRecord is a signed-in session.
type sessionRecord struct {
	id       Identity
	sid      string // the provider's session id (ID token sid), may be empty
	created  int64  // unix seconds: the absolute timeout counts from here
	lastSeen int64  // unix seconds: the idle timeout counts from here
}

// pendingRecord is a login between the redirect to the provider and the
// callback.
type pendingRecord struct {
	state        string
	binding      string // the login cookie value of the browser that started it
	nonce        string
	codeVerifier string
	returnTo     string
	acr          string // space-separated acr_values asked, may be empty
	dpop         []byte // the login's DPoP key (DER), when Options.DPoP
	issuer       string // Options.Issuer of the middleware that started it (mix-up defence)
	maxAge       int64  // seconds, 0 = not asked
	expires      int64  // unix nanoseconds
}

func (s *sessionRecord) marshal() []byte {
	id := &s.id
	n := 96 + len(id.Subject) + len(id.Issuer) + len(id.IDToken) + len(id.AccessToken) +
		len(id.RefreshToken) + len(id.TokenType) + len(id.Scope) + len(id.RawClaims) +
		len(id.UserInfo) + len(id.ACR) + len(s.sid) + len(id.dpop)
	b := make([]byte, 0, n)
	b = append(b, sessionRecordV1)
	for _, v := range [...]int64{s.created, s.lastSeen, unixOrZero(id.Expiry), unixOrZero(id.AuthTime)} {
		b = binary.AppendVarint(b, v)
	}
	claims := id.RawClaims
	if derived, ok := jwsPayload(id.IDToken); ok && bytes.Equal(derived, claims) {
		claims = nil // read back from the ID token: not stored twice
	}
	for _, f := range [...]string{id.Subject, id.Issuer, id.IDToken, id.AccessToken,
		id.RefreshToken, id.TokenType, id.Scope, id.ACR, s.sid, string(claims), string(id.UserInfo),
		string(id.dpop)} {
		b = appendString(b, f)
	}
	return b
}

func (s *sessionRecord) unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != sessionRecordV1 {
		return errBadRecord
	}
	d := newDecoder(b[1:])
	s.created = d.varint()
	s.lastSeen = d.varint()
	id := &s.id
	id.Expiry = timeOrZero(d.varint())
	id.AuthTime = timeOrZero(d.varint())
	id.Subject = d.string()
	id.Issuer = d.string()
	id.IDToken = d.string()
	id.AccessToken = d.string()
	id.RefreshToken = d.string()
	id.TokenType = d.string()
	id.Scope = d.string()
	id.ACR = d.string()
	s.sid = d.string()
	id.RawClaims = d.bytes()
	id.UserInfo = d.bytes()
	id.dpop = d.bytes()
	if err := d.finish(); err != nil {
		return err
	}
	if id.RawClaims == nil && id.IDToken != "" {
		claims, ok := jwsPayload(id.IDToken)
		if !ok {
			return errBadRecord
		}
		id.RawClaims = claims
	}
	return nil
}

// jwsPayload is the payload of a compact JWS (the verified ID token of a
// session): the claims, which a record therefore does not store again.
// An encrypted ID token (JWE) has none to give.
func jwsPayload(token string) ([]byte, bool) {
	head, rest, ok := strings.Cut(token, ".")
	if !ok || head == "" {
		return nil, false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	return b, err == nil && len(b) > 0
}

func (p *pendingRecord) marshal() []byte {
	b := make([]byte, 0, 32+len(p.state)+len(p.binding)+len(p.nonce)+len(p.codeVerifier)+len(p.returnTo)+len(p.acr))
	b = append(b, pendingRecordV1)
	b = binary.AppendVarint(b, p.expires)
	b = binary.AppendVarint(b, p.maxAge)
	for _, f := range [...]string{p.state, p.binding, p.nonce, p.codeVerifier, p.returnTo, p.acr, string(p.dpop), p.issuer} {
		b = appendString(b, f)
	}
	return b
}

func (p *pendingRecord) unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != pendingRecordV1 {
		return errBadRecord
	}
	d := newDecoder(b[1:])
	p.expires = d.varint()
	p.maxAge = d.varint()
	p.state = d.string()
	p.binding = d.string()
	p.nonce = d.string()
	p.codeVerifier = d.string()
	p.returnTo = d.string()
	p.acr = d.string()
	p.dpop = d.bytes()
	p.issuer = d.string()
	return d.finish()
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(unix int64) time.Time {
	if unix == 0 {
		return time.Time{}
	}
	return time.Unix(unix, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads what appendString and AppendVarint wrote; the first error
// sticks and later reads return zero values. s is one copy of b, which the
// strings it returns share.
type decoder struct {
	b   []byte
	s   string
	off int
	err error
}

func newDecoder(b []byte) decoder { return decoder{b: b, s: string(b)} }

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.off += n
	return v
}

// span reads a length-prefixed field and returns where it is.
func (d *decoder) span() (start, end int) {
	if d.err != nil {
		return 0, 0
	}
	l, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 || l > uint64(len(d.b)-d.off-n) {
		d.err = errBadRecord
		return 0, 0
	}
	start = d.off + n
	end = start + int(l)
	d.off = end
	return start, end
}

func (d *decoder) string() string {
	start, end := d.span()
	return d.s[start:end]
}

// bytes is a copy of the field, nil when it is empty.
func (d *decoder) bytes() []byte {
	start, end := d.span()
	if start == end {
		return nil
	}
	return []byte(d.s[start:end])
}

func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.err = errBadRecord
	}
	return d.err
}
