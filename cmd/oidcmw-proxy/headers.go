package main

import (
	"net/http"
	"strings"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/idjwt"
)

// The identity headers the proxy sets on requests to the upstream.
const (
	headerUser        = "X-Auth-Request-User"         // sub
	headerEmail       = "X-Auth-Request-Email"        // email, only when email_verified is true
	headerGroups      = "X-Auth-Request-Groups"       // the --groups-claim values, comma-joined
	headerAccessToken = "X-Auth-Request-Access-Token" // with --pass-access-token only
	headerJWT         = idjwt.Header                  // X-Auth-Request-Jwt, with --inject-jwt only
)

// normalName is a header name as a CGI-style server (WSGI, PHP, Rack)
// sees it: lower case, with "_" read as "-". net/http keeps
// X_Auth_Request_User as its own key (X_auth_request_user), next to
// X-Auth-Request-User, so names are compared in this form.
func normalName(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "_", "-")
}

// keptForwarded are the forwarded headers taken from a trusted proxy, in
// their canonical spelling only: a trusted proxy sends them that way, and
// an underscore variant comes from its client.
var keptForwarded = map[string]bool{
	"X-Forwarded-For": true, "X-Forwarded-Proto": true, "X-Forwarded-Host": true, "X-Real-Ip": true,
}

// keptOriginal are the headers in which a front end tells /oauth2/auth
// the original request (see originalRequest), taken from a trusted proxy
// with --forward-auth only, in their canonical spelling only.
var keptOriginal = map[string]bool{
	"X-Forwarded-Method": true, "X-Forwarded-Uri": true, "X-Original-Method": true, "X-Original-Uri": true,
}

// inbound filters the headers of every request before anything looks at
// it.
type inbound struct {
	passAuthorization bool // --pass-authorization
	forwardAuth       bool // --forward-auth: keep keptOriginal from trusted proxies
}

// dropped reports whether the header named k (any spelling) must not go
// further:
//   - every X-Auth-Request-* header, in every case and "_"/"-" spelling:
//     the proxy sets some of them, and an upstream moved from oauth2-proxy
//     may read the others (-Preferred-Username);
//   - Authorization, unless --pass-authorization;
//   - Forwarded, X-Real-IP, every X-Forwarded-* (X-Forwarded-User, -Email
//     and -Uri included), every X-Original-* (X-Original-URI, -URL,
//     -Method) and X-Rewrite-URL, unless the client is a trusted proxy and
//     the header is one of keptForwarded, or with --forward-auth one of
//     keptOriginal, spelled canonically. Some frameworks route on
//     X-Original-URL or X-Rewrite-URL instead of the request's path.
func (in inbound) dropped(k string, trustedClient bool) bool {
	n := normalName(k)
	switch {
	case strings.HasPrefix(n, "x-auth-request-"):
		return true
	case n == "authorization":
		return !in.passAuthorization
	case n == "forwarded" || n == "x-real-ip" || n == "x-rewrite-url" ||
		strings.HasPrefix(n, "x-forwarded-") || strings.HasPrefix(n, "x-original-"):
		return !trustedClient || !(keptForwarded[k] || in.forwardAuth && keptOriginal[k])
	}
	return false
}

// clean returns a copy of h without the dropped headers.
func (in inbound) clean(h http.Header, trustedClient bool) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if !in.dropped(k, trustedClient) {
			out[k] = vs
		}
	}
	return out
}

// ownCookie reports whether a cookie named name is the proxy's: the
// session cookie (cookieName), a login cookie (cookieName_login_...) or
// the rd cookie (cookieName_rd), with or without the __Host- or __Secure-
// prefix they get over https.
func ownCookie(name string) bool {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "__Host-"), "__Secure-")
	return name == cookieName || strings.HasPrefix(name, cookieName+"_")
}

// dropOwnCookies removes the proxy's cookies from the Cookie header: the
// session id is a bearer credential for the proxy, and the upstream has no
// use for it. Other cookies go through as sent.
func dropOwnCookies(h http.Header) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part != "" && !ownCookie(strings.TrimSpace(name)) {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// setIdentity sets the identity headers of u on h: the request to the
// upstream, or the answer of /oauth2/auth to the front end.
func setIdentity(h http.Header, u *user, passAccessToken bool) {
	h.Set(headerUser, u.subject)
	if u.emailVerified && u.email != "" {
		h.Set(headerEmail, u.email)
	}
	if groups := headerList(u.groups); groups != "" {
		h.Set(headerGroups, groups)
	}
	if passAccessToken && u.accessToken != "" {
		h.Set(headerAccessToken, u.accessToken)
	}
	if u.token != "" {
		h.Set(headerJWT, u.token)
	}
}

// headerList joins values with ",", leaving out those that would change
// the list (a comma) or are not valid in a header (control characters).
func headerList(values []string) string {
	var keep []string
	for _, v := range values {
		if v != "" && !strings.ContainsFunc(v, func(r rune) bool { return r == ',' || r < ' ' || r == 0x7f }) {
			keep = append(keep, v)
		}
	}
	return strings.Join(keep, ",")
}
