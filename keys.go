package oidcmw

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// Store keys, the cookie values they come from, the decoding of what is
// stored under them, and store failures. A session is stored under a hash
// of its cookie value, so a copy of the store holds no usable cookie.

const sessionKeyPrefix = "oidcmw:s:"

func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	var enc [43]byte // base64 of a SHA-256, unpadded
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	var b strings.Builder
	b.Grow(len(sessionKeyPrefix) + len(enc))
	b.WriteString(sessionKeyPrefix)
	b.Write(enc[:])
	return b.String()
}

func pendingKey(state string) string   { return "oidcmw:p:" + state }
func bindingKey(binding string) string { return "oidcmw:b:" + hashKey(binding) } // never the cookie value itself
func leaseKey(session string) string   { return "oidcmw:lease:" + session }
func jtiKey(iss, jti string) string    { return "oidcmw:jti:" + hashKey(iss, jti) }

// indexKeys are the back-channel logout index keys of a session: by
// provider session id (when there is one) and by subject.
func indexKeys(issuer, sid, sub string) []string {
	keys := make([]string, 0, 2)
	if sid != "" {
		keys = append(keys, "oidcmw:sid:"+hashKey(issuer, sid))
	}
	return append(keys, "oidcmw:sub:"+hashKey(issuer, sub))
}

func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// pendingGrace is how long a pending login record outlives LoginTimeout,
// so that a late callback is told "expired" rather than "unknown state".
const pendingGrace = time.Minute

// cookieValue returns the value of the named cookie without the
// allocations of http.Request.Cookie; "" when there is none.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && n == name {
				return v
			}
		}
	}
	return ""
}

// validToken reports whether s looks like a value of crypto/rand.Text: 26
// characters of the base32 alphabet. Anything else is not looked up.
func validToken(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func storeError(err error) error { return &storeFailure{err} }

type storeFailure struct{ err error }

func (e *storeFailure) Error() string        { return "oidcmw: session store unavailable: " + e.err.Error() }
func (e *storeFailure) Is(target error) bool { return target == ErrStoreUnavailable }
func (e *storeFailure) Unwrap() error        { return e.err }

// decode opens a stored value (when records are sealed) and parses it.
func (ss *sessions) decode(b []byte, key string, rec record) error {
	plain, err := ss.seal.open(b, key)
	if err != nil {
		return err
	}
	return rec.unmarshal(plain)
}

// record is what sessionRecord and pendingRecord have in common.
type record interface{ unmarshal([]byte) error }
