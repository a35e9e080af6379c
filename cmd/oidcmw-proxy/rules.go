package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/idjwt"
)

// rules are the --allowed-* flags. They are alternatives: a user passes
// when any one matches; with none set, every signed-in user passes.
type rules struct {
	domains  []string // --allowed-email-domain, lower case (ASCII)
	groups   []string // --allowed-group
	subjects []string // --allowed-subject
}

// allow reports whether u passes the rules.
func (rs rules) allow(u *user) bool {
	if len(rs.domains) == 0 && len(rs.groups) == 0 && len(rs.subjects) == 0 {
		return true
	}
	if slices.Contains(rs.subjects, u.subject) {
		return true
	}
	for _, g := range u.groups {
		if slices.Contains(rs.groups, g) {
			return true
		}
	}
	if d, ok := emailDomain(u.email); ok && u.emailVerified {
		return slices.Contains(rs.domains, asciiLower(d))
	}
	return false
}

// emailDomain is the domain of an address with exactly one "@" and
// something on both sides of it: "attacker@evil.com@company.com" has
// none.
func emailDomain(email string) (string, bool) {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", false
	}
	return domain, true
}

// asciiLower lower-cases ASCII letters only. strings.EqualFold and
// strings.ToLower would also fold the Kelvin sign (U+212A) to "k" and the
// long s (U+017F) to "s", making a different domain match.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// authorizer sits behind the guard: it reads the user from the identity,
// applies the rules, signs the identity JWT (with --inject-jwt), and
// passes the user on to next in the context. A signed-in user who fails
// the rules gets 403 with a page that offers to sign out, not another
// login (which would loop).
type authorizer struct {
	rules       rules
	groupsClaim string
	signer      *idjwt.Signer // --inject-jwt; nil without
	logger      *slog.Logger
}

func (a *authorizer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := oidcmw.FromContext(r.Context())
		if !ok {
			// Not behind the guard: a wiring mistake; fail closed.
			forbidden(w)
			return
		}
		u, ok := a.authorize(w, r, id, r.URL.Path)
		if !ok {
			return
		}
		next.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
	})
}

// authorize returns the user of id when the rules let them reach path,
// with the identity JWT when there is a signer. Otherwise it answers 403
// (refused, or unreadable claims) or 500 (the JWT could not be signed)
// and returns false.
func (a *authorizer) authorize(w http.ResponseWriter, r *http.Request, id *oidcmw.Identity, path string) (*user, bool) {
	u, err := newUser(id, a.groupsClaim)
	if err != nil {
		a.logger.WarnContext(r.Context(), "access denied: unreadable claims", "sub", id.Subject, "err", err)
		forbidden(w)
		return nil, false
	}
	if !a.rules.allow(u) {
		a.logger.InfoContext(r.Context(), "access denied by the rules", "sub", id.Subject, "path", path)
		forbidden(w)
		return nil, false
	}
	if a.signer != nil {
		email := ""
		if u.emailVerified {
			email = u.email
		}
		if u.token, err = a.signer.Sign(u.subject, email, u.groups, time.Time{}); err != nil {
			a.logger.ErrorContext(r.Context(), "signing the identity JWT failed", "sub", id.Subject, "err", err)
			http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
			return nil, false
		}
	}
	return u, true
}

var forbiddenPage = template.Must(template.New("forbidden").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Access denied</title>
<h1>Access denied</h1>
<p>You are signed in, but this account is not allowed here.</p>
<form method="post" action="/oauth2/sign_out"><button>Sign out</button></form>
</html>
`))

// forbidden answers 403 with a page that says the user is signed in but
// not allowed, and a sign-out button to switch accounts.
func forbidden(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusForbidden)
	_ = forbiddenPage.Execute(w, nil)
}
