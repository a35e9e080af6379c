package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rdCookieTTL is how long a checked rd waits for its login: oidcmw's
// default Options.LoginTimeout, after which the login has failed anyway.
const rdCookieTTL = 10 * time.Minute

// rdCookie carries an absolute rd, checked at /oauth2/start, across the
// login to /oauth2/continue: oidcmw returns only to same-origin paths, so
// the login's return_to is /oauth2/continue and the target waits here.
//
// The cookie is the proxy's own (ownCookie: never sent to the upstream):
// HttpOnly, SameSite=Lax, Path=/oauth2/, Secure and named
// __Secure-oidcmw_rd when OIDC_REDIRECT_URL is https, and expires with
// the login (rdCookieTTL). Its value is the target, its expiry and an
// HMAC-SHA256 of both under a key derived from SESSION_SECRET, so a
// browser cannot make one up; /oauth2/continue checks the target against
// the rd policy again all the same. The target is not secret: it is the
// browser's own URL.
type rdCookie struct {
	name   string
	secure bool
	key    []byte
	now    func() time.Time
}

// newRDCookie derives the cookie's key from secret (SESSION_SECRET, or the
// proxy's random one).
func newRDCookie(secret []byte, https bool) rdCookie {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("oidcmw-proxy rd cookie v1"))
	c := rdCookie{name: cookieName + "_rd", secure: https, key: mac.Sum(nil), now: time.Now}
	if https {
		c.name = "__Secure-" + c.name
	}
	return c
}

// mac is the cookie's HMAC over its name and payload, base64url.
func (c rdCookie) mac(payload string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(c.name + "|" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c rdCookie) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: c.name, Value: value, Path: ownPrefix, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode}
}

// set stores target (a URL that passed rd.Policy.Check).
func (c rdCookie) set(w http.ResponseWriter, target string) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(target)) + "." +
		strconv.FormatInt(c.now().Add(rdCookieTTL).Unix(), 10)
	http.SetCookie(w, c.cookie(payload+"."+c.mac(payload), int(rdCookieTTL/time.Second)))
}

// clear deletes the cookie.
func (c rdCookie) clear(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie("", -1))
}

// get returns the target of the first cookie of r that carries a valid
// MAC and has not expired. A cookie planted by a sibling domain (another
// path, the same name) fails the MAC and is skipped.
func (c rdCookie) get(r *http.Request) (string, bool) {
	for _, ck := range r.CookiesNamed(c.name) {
		i := strings.LastIndexByte(ck.Value, '.')
		if i < 0 {
			continue
		}
		payload, mac := ck.Value[:i], ck.Value[i+1:]
		if !hmac.Equal([]byte(mac), []byte(c.mac(payload))) {
			continue
		}
		enc, exp, ok := strings.Cut(payload, ".")
		if !ok {
			continue
		}
		expiry, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || c.now().Unix() >= expiry {
			continue
		}
		target, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil {
			continue
		}
		return string(target), true
	}
	return "", false
}
