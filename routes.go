package oidcmw

import (
	"net/http"
	"path"
	"strings"
)

// Routes returns one handler for the middleware's own endpoints, under the
// directory of Options.RedirectURL's path. For a RedirectURL of
// https://app.example.com/auth/callback,
//
//	mux.Handle("/auth/", m.Routes())
//
// serves
//
//	/auth/login               [Middleware.Login]
//	/auth/callback            [Middleware.Callback] (RedirectURL's path)
//	/auth/logout              [Middleware.Logout] (POST)
//	/auth/backchannel-logout  [Middleware.BackchannelLogout] (POST; register
//	                          its URL as backchannel_logout_uri)
//
// and answers 404 to any other path. The guards ([Middleware.Guard],
// [Middleware.Require], [Providers.Guard]) let exactly these four paths
// through, with no session, so that a guard around the whole mux, as in
// http.ListenAndServe(addr, m.Guard(mux)), does not guard its own login:
// keep these paths for the middleware.
func (m *Middleware) Routes() http.Handler { return m.routes }

// ownPaths are the exact paths of the middleware's endpoints (see
// [Middleware.Routes]), derived from the callback's.
type ownPaths struct {
	callback, login, logout, backchannel string
}

func newOwnPaths(callback string) ownPaths {
	callback = path.Clean("/" + callback)
	dir := path.Dir(callback)
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return ownPaths{callback: callback, login: dir + "login", logout: dir + "logout",
		backchannel: dir + "backchannel-logout"}
}

// has reports whether p is exactly one of the paths.
func (o ownPaths) has(p string) bool {
	return p == o.callback || p == o.login || p == o.logout || p == o.backchannel
}

// handler serves the paths with m's handlers.
func (o ownPaths) handler(m *Middleware) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case o.callback:
			m.Callback(w, r)
		case o.login:
			m.Login(w, r)
		case o.logout:
			m.Logout(w, r)
		case o.backchannel:
			m.BackchannelLogout(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
