package oidcmw

import (
	"net/http"
)

// The browser holds two kinds of cookies, each an opaque 130-bit random
// value and never a token: the session cookie, and the login cookie that
// binds pending logins to the browser that started them (RFC 9700 §2.1:
// state bound to the user agent).
//
// One login cookie serves any number of tabs: a login reuses the cookie the
// browser has. Its name carries the first characters of its value, so that
// when two tabs start the first logins of a browser at the same moment
// (a restored session), the two new cookies get different names and both
// survive, instead of the later one overwriting the earlier and failing the
// other tab's callback.

const bindingNameLen = 8

// loginCookieName is the name of the login cookie holding binding.
func (ss *sessions) loginCookieName(binding string) string {
	return ss.loginName + "_" + binding[:bindingNameLen]
}

// browserBinding returns a login cookie value the browser holds, or "".
func (ss *sessions) browserBinding(r *http.Request) string {
	for _, c := range r.Cookies() {
		if validToken(c.Value) && c.Name == ss.loginCookieName(c.Value) {
			return c.Value
		}
	}
	return ""
}

// sessionCookie is the session cookie holding value; "" with MaxAge -1
// clears it.
func (ss *sessions) sessionCookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:     ss.sessionName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(ss.absolute.Seconds()),
		HttpOnly: true,
		Secure:   ss.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// loginCookie is SameSite=Lax, except with form_post: the provider's
// cross-site POST to the callback must carry it, which browsers allow only
// for SameSite=None; Secure (browsers keep Secure cookies on http://localhost
// and 127.0.0.1 too).
func (ss *sessions) loginCookie(value string) *http.Cookie {
	c := &http.Cookie{
		Name:     ss.loginCookieName(value),
		Value:    value,
		Path:     "/",
		MaxAge:   int(ss.loginTimeout.Seconds()),
		HttpOnly: true,
		Secure:   ss.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if ss.formPost {
		c.SameSite, c.Secure = http.SameSiteNoneMode, true
	}
	return c
}
