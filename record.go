package oidcmw

import (
	"encoding/binary"
	"errors"
	"time"
)

// Records are stored in a small length-prefixed binary form: decoding one on
// every guarded request must cost next to nothing, and a record read back
// from a shared store is treated as untrusted input (bounds are checked).

const (
	sessionRecordV1 = 's'
	pendingRecordV1 = 'p'
)

var errBadRecord = errors.New("oidcmw: malformed store record")

// sessionRecord is a signed-in session.
type sessionRecord struct {
	id      Identity
	expires int64 // unix seconds; the session ends then
}

// pendingRecord is a login between the redirect to the provider and the
// callback.
type pendingRecord struct {
	state    string
	binding  string // the login cookie value of the browser that started it
	nonce    string
	verifier string
	returnTo string
	maxAge   int64 // seconds, 0 = not asked
	expires  int64 // unix nanoseconds
}

func (s *sessionRecord) marshal() []byte {
	id := &s.id
	n := 64 + len(id.Subject) + len(id.Issuer) + len(id.IDToken) + len(id.AccessToken) +
		len(id.RefreshToken) + len(id.TokenType) + len(id.Scope) + len(id.RawClaims)
	b := make([]byte, 0, n)
	b = append(b, sessionRecordV1)
	b = binary.AppendVarint(b, s.expires)
	b = binary.AppendVarint(b, unixOrZero(id.Expiry))
	for _, f := range [...]string{id.Subject, id.Issuer, id.IDToken, id.AccessToken,
		id.RefreshToken, id.TokenType, id.Scope, string(id.RawClaims)} {
		b = appendString(b, f)
	}
	return b
}

func (s *sessionRecord) unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != sessionRecordV1 {
		return errBadRecord
	}
	d := decoder{b: b[1:]}
	s.expires = d.varint()
	exp := d.varint()
	id := &s.id
	id.Subject = d.string()
	id.Issuer = d.string()
	id.IDToken = d.string()
	id.AccessToken = d.string()
	id.RefreshToken = d.string()
	id.TokenType = d.string()
	id.Scope = d.string()
	id.RawClaims = d.bytes()
	if exp != 0 {
		id.Expiry = time.Unix(exp, 0)
	}
	return d.finish()
}

func (p *pendingRecord) marshal() []byte {
	b := make([]byte, 0, 32+len(p.state)+len(p.binding)+len(p.nonce)+len(p.verifier)+len(p.returnTo))
	b = append(b, pendingRecordV1)
	b = binary.AppendVarint(b, p.expires)
	b = binary.AppendVarint(b, p.maxAge)
	for _, f := range [...]string{p.state, p.binding, p.nonce, p.verifier, p.returnTo} {
		b = appendString(b, f)
	}
	return b
}

func (p *pendingRecord) unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != pendingRecordV1 {
		return errBadRecord
	}
	d := decoder{b: b[1:]}
	p.expires = d.varint()
	p.maxAge = d.varint()
	p.state = d.string()
	p.binding = d.string()
	p.nonce = d.string()
	p.verifier = d.string()
	p.returnTo = d.string()
	return d.finish()
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads what appendString and AppendVarint wrote; the first error
// sticks and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.err = errBadRecord
		return nil
	}
	v := d.b[n : n+int(l) : n+int(l)]
	d.b = d.b[n+int(l):]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errBadRecord
	}
	return d.err
}
