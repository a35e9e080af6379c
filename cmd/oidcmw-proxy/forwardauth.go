package main

import (
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcmw/oidcmw"
)

// forwardAuth answers /oauth2/auth with --forward-auth: a front end (nginx
// auth_request, Traefik ForwardAuth, Caddy forward_auth, Envoy ext_authz)
// asks it, for each request it receives, whether to let the request
// through to the app.
//
//  1. Only a --trusted-proxy may ask: anyone else gets 403. The answer
//     depends on headers that only the front end may set.
//  2. The original request is in the front end's headers (see
//     originalRequest); a missing, repeated or malformed one is 400.
//  3. A request that matches a --public-route, on the original path
//     cleaned as in reverse-proxy mode (the query never matched), is let
//     through: 200 without identity headers.
//  4. Without a session: 401 (a sign-in page for navigations, see
//     unauthorized), never a redirect; the front end turns it into a
//     login.
//  5. A signed-in user refused by the allow rules: 403.
//  6. Otherwise 200 with the identity headers (setIdentity), which the
//     front end copies onto the request to the app.
//
// Any method is answered: Envoy's ext_authz asks with the original
// request's method, the others with GET. The rules look at the method in
// the headers only.
type forwardAuth struct {
	trusted         trustedProxies
	public          publicRoutes
	session         func(http.Handler) http.Handler // m.Optional
	authz           *authorizer
	passAccessToken bool
	origin          string // the proxy's external origin (OIDC_REDIRECT_URL's)
	logger          *slog.Logger
}

// ServeHTTP answers /oauth2/auth.
func (fa *forwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !fa.trusted.contains(r.RemoteAddr) {
		fa.logger.WarnContext(r.Context(), "forward auth: request from an address that is not a --trusted-proxy", "remote", r.RemoteAddr)
		http.Error(w, "403 Forbidden: /oauth2/auth answers only the front end named by --trusted-proxy, and this client is not one", http.StatusForbidden)
		return
	}
	orig, err := originalRequest(r.Header)
	if err != nil {
		fa.logger.WarnContext(r.Context(), "forward auth: bad original request", "err", err)
		http.Error(w, "400 Bad Request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if fa.public.match(orig.method, orig.path) {
		w.WriteHeader(http.StatusOK)
		return
	}
	fa.session(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fa.decide(w, r, orig)
	})).ServeHTTP(w, r)
}

// decide runs behind m.Optional: the identity, if any, is in the context.
func (fa *forwardAuth) decide(w http.ResponseWriter, r *http.Request, orig original) {
	id, ok := oidcmw.FromContext(r.Context())
	if !ok {
		fa.unauthorized(w, r, orig)
		return
	}
	u, ok := fa.authz.authorize(w, r, id, orig.path)
	if !ok {
		return
	}
	setIdentity(w.Header(), u, fa.passAccessToken)
	w.WriteHeader(http.StatusOK)
}

// unauthorized answers 401. For a navigation (Accept has text/html) the
// body is a page that sends the browser to /oauth2/start with the original
// URL as rd, for front ends that show the answer to the browser (Traefik,
// Envoy); nginx replaces it by its error_page. The rd is the original URI
// when the front end's X-Forwarded-Proto and -Host name the proxy's own
// origin (or are missing), else the absolute URL, which must pass
// --rd-domain at /oauth2/start.
func (fa *forwardAuth) unauthorized(w http.ResponseWriter, r *http.Request, orig original) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Error(w, "401 Unauthorized: not signed in", http.StatusUnauthorized)
		return
	}
	target := orig.uri
	proto, host := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")
	if proto != "" && host != "" && proto+"://"+host != fa.origin {
		target = proto + "://" + host + orig.uri
	}
	start := html.EscapeString(fa.origin + ownPrefix + "start?rd=" + url.QueryEscape(target))
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Sign in</title>
<meta http-equiv="refresh" content="0; url=` + start + `">
<h1>Sign in</h1>
<p>You are not signed in. <a href="` + start + `">Sign in</a> to continue.</p>
</html>
`))
}

// original is the request the front end asks about.
type original struct {
	method string // an HTTP method
	uri    string // the request target as the front end got it: path and query
	path   string // uri's path, decoded once and cleaned (cleanPath)
}

// Errors of originalRequest: they name headers, never repeat values.
var (
	errNoOriginalURI    = errors.New("the front end sent neither X-Forwarded-Uri nor X-Original-URI")
	errNoOriginalMethod = errors.New("the front end sent neither X-Forwarded-Method nor X-Original-Method")
	errAmbiguousURI     = errors.New("X-Forwarded-Uri and X-Original-URI hold more than one value")
	errAmbiguousMethod  = errors.New("X-Forwarded-Method and X-Original-Method hold more than one value")
	errBadMethod        = errors.New("the original method is not an upper-case HTTP method")
	errFragment         = errors.New("'#' in the original URI")
	errNotPath          = errors.New("the original URI is not a path")
)

// originalRequest reads the original request from the front end's headers
// (which the handler keeps only from a --trusted-proxy, with
// --forward-auth):
//
//   - the method from X-Forwarded-Method (Traefik, Caddy) or
//     X-Original-Method (the nginx configuration in README.md);
//   - the request target from X-Forwarded-Uri (Traefik, Caddy) or
//     X-Original-URI (nginx's $request_uri): a path with an optional
//     query, as the client sent it.
//
// Each may come in either header, or in both with the same value; none,
// or two different values, is an error. The URI must not hold a "#"; it is
// parsed as net/http parses a request line, and its path is decoded once
// and cleaned by cleanPath, exactly as in reverse-proxy mode.
func originalRequest(h http.Header) (original, error) {
	method, err := oneValue(h, "X-Forwarded-Method", "X-Original-Method", errNoOriginalMethod, errAmbiguousMethod)
	if err != nil {
		return original{}, err
	}
	if !isMethod(method) {
		return original{}, errBadMethod
	}
	uri, err := oneValue(h, "X-Forwarded-Uri", "X-Original-Uri", errNoOriginalURI, errAmbiguousURI)
	if err != nil {
		return original{}, err
	}
	if strings.Contains(uri, "#") {
		return original{}, errFragment
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || !strings.HasPrefix(uri, "/") || u.Opaque != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return original{}, errNotPath
	}
	return original{method: method, uri: uri, path: cleanPath(u.Path)}, nil
}

// oneValue is the one value of the headers a and b together (both may
// hold it): missing when there is none, ambiguous when there are two
// different ones.
func oneValue(h http.Header, a, b string, missing, ambiguous error) (string, error) {
	var v string
	n := 0
	for _, s := range append(h.Values(a), h.Values(b)...) {
		if n > 0 && s != v {
			return "", ambiguous
		}
		v = s
		n++
	}
	if n == 0 {
		return "", missing
	}
	return v, nil
}
