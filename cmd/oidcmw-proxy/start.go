package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/rd"
)

// continuePath is where a login with an absolute rd returns: it sends the
// browser on to the target in the rd cookie.
const continuePath = ownPrefix + "continue"

// starter serves /oauth2/start, which starts a login through m.Login,
// and /oauth2/continue.
//
// /oauth2/start?rd=TARGET says where the browser goes after the login
// (oauth2-proxy's parameter, which front ends send):
//
//   - a TARGET starting with "/" is a path of the proxy's own origin: it
//     goes to m.Login as return_to, whose policy keeps it only when it is
//     a same-origin relative path ("//evil.com" and "/\evil.com" become
//     "/");
//   - any other TARGET must be an absolute URL that policy allows
//     (--rd-domain, on label boundaries; https only, or http too when
//     OIDC_REDIRECT_URL is http). Allowed, it waits in the rd cookie and
//     the login returns to /oauth2/continue; refused, the answer is 400
//     with a page that does not repeat it, and no login starts.
//
// An empty rd is no rd. rd given twice, or with return_to, is 400.
// Without rd, the request goes to m.Login as it is (return_to).
type starter struct {
	login  http.HandlerFunc // m.Login
	policy rd.Policy
	cookie rdCookie
	logger *slog.Logger
}

func (s *starter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rds := q["rd"]
	if r.Method != http.MethodGet && r.Method != http.MethodHead || len(rds) == 0 || len(rds) == 1 && rds[0] == "" {
		s.login(w, r) // 405 for other methods
		return
	}
	if len(rds) > 1 || q.Has("return_to") {
		refusedRD(w, "give rd once, and not with return_to")
		return
	}
	target := rds[0]
	q.Del("rd")
	if strings.HasPrefix(target, "/") {
		s.cookie.clear(w) // a rd cookie of an earlier login must not win
		q.Set("return_to", target)
	} else {
		u, err := s.policy.Check(target)
		if err != nil {
			// The error may quote the host: for the log only.
			s.logger.WarnContext(r.Context(), "login refused: rd not allowed", "err", err)
			refusedRD(w, "this proxy does not send you there after sign-in")
			return
		}
		s.cookie.set(w, u.String())
		q.Set("return_to", continuePath)
	}
	r2 := r.WithContext(r.Context())
	u := *r.URL
	u.RawQuery = q.Encode()
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	s.login(w, r2)
}

// continueLogin serves /oauth2/continue: a 302 to the rd cookie's target
// when it is valid and the policy still allows it, else to "/". The
// cookie is deleted either way.
func (s *starter) continueLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	to := "/"
	if target, ok := s.cookie.get(r); ok {
		if u, err := s.policy.Check(target); err == nil {
			to = u.String()
		} else {
			s.logger.WarnContext(r.Context(), "rd cookie no longer allowed", "err", err)
		}
	}
	s.cookie.clear(w)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

var refusedRDPage = template.Must(template.New("rd").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Sign-in not started</title>
<h1>Sign-in not started</h1>
<p>The address to return to after sign-in is not allowed: {{.}}.</p>
<p><a href="/">Go to the start page</a></p>
</html>
`))

// refusedRD answers 400 with a page that says why, in the proxy's words:
// the refused value is never repeated.
func refusedRD(w http.ResponseWriter, why string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusBadRequest)
	_ = refusedRDPage.Execute(w, why)
}
