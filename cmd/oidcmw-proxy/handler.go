package main

import (
	"net/http"
	"strings"
)

// ownPrefix is the proxy's own path space: nothing under it reaches the
// upstream.
const ownPrefix = "/oauth2/"

// handler is the proxy's whole HTTP surface. For every request, before
// anything else looks at it, it
//
//  1. answers 400 when the raw request target holds a "#" (a fragment has
//     no business in a request, and what follows it would be matched but
//     never reach the upstream) or is not a path, and 405 to CONNECT;
//  2. cleans the path (cleanPath) and makes it the request's path, so that
//     the endpoints, the public routes, the guard and the upstream all see
//     the same one;
//  3. drops the inbound identity, Authorization and forwarded headers
//     (inbound.dropped), and the request's trailers;
//
// then serves ownPrefix itself, sends public routes to the upstream as
// they are, and everything else through guarded (the guard, the rules,
// then the upstream). With --forward-auth there is no upstream: paths
// outside ownPrefix are 404.
type handler struct {
	own     http.Handler // the paths under ownPrefix
	public  publicRoutes
	proxy   http.Handler // the upstream; nil with --forward-auth
	guarded http.Handler // m.Guard(authorizer.wrap(proxy)); nil with --forward-auth
	inbound inbound
	trusted trustedProxies
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.RequestURI, "#") {
		http.Error(w, "400 Bad Request: '#' in the request target", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodConnect {
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path != "" && !strings.HasPrefix(r.URL.Path, "/") {
		// net/http answers OPTIONS * itself; any other "*" ends here.
		http.Error(w, "400 Bad Request: the request target is not a path", http.StatusBadRequest)
		return
	}
	p := cleanPath(r.URL.Path)
	// A shallow copy: handlers must not modify r itself.
	r = r.WithContext(r.Context())
	u := *r.URL
	u.Path, u.RawPath = p, "" // RawPath is recomputed: "#" goes out as %23
	r.URL = &u
	r.RequestURI = u.RequestURI()
	r.Header = h.inbound.clean(r.Header, h.trusted.contains(r.RemoteAddr))
	// Request trailers could carry the same names; their values arrive
	// after the body, too late to filter: none go to the upstream.
	r.Trailer = nil
	switch {
	case strings.HasPrefix(p, ownPrefix):
		h.own.ServeHTTP(w, r)
	case h.proxy == nil:
		http.Error(w, "404 Not Found: with --forward-auth the proxy serves "+ownPrefix+" only", http.StatusNotFound)
	case h.public.match(r.Method, p):
		h.proxy.ServeHTTP(w, r)
	default:
		h.guarded.ServeHTTP(w, r)
	}
}
