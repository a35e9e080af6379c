package main

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/appenv"
)

// app is the example's handler and what it started.
type app struct {
	handler http.Handler
	close   func()
}

// newApp builds the app from the environment. It returns configuration
// errors only: an unreachable provider or store is logged once and
// reported by /readyz. Without OIDC_ISSUER it runs the development
// provider.
func newApp(ctx context.Context, getenv func(string) string, addr string, logger *slog.Logger) (*app, error) {
	opts, err := options(getenv, addr)
	if err != nil {
		return nil, err
	}
	svc, err := appenv.NewService(ctx, opts, getenv, logger, opts.Issuer == "")
	if err != nil {
		return nil, err
	}
	return &app{handler: routes(svc.M, svc.Ready, svc.Metrics), close: svc.Close}, nil
}

// routes mounts the app.
func routes(m *oidcmw.Middleware, ready *appenv.Readiness, metrics http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", appenv.Healthz)
	r.Get("/readyz", ready.ServeHTTP)
	if metrics != nil {
		r.Handle("/metrics", metrics)
	}
	r.With(m.Optional).Get("/", home)
	// Login, the callback, logout (POST) and back-channel logout (POST;
	// register http://ADDR/auth/backchannel-logout at the provider as
	// backchannel_logout_uri) under /auth/, RedirectURL's directory.
	r.Handle("/auth/*", m.Routes())
	r.Group(func(r chi.Router) {
		r.Use(m.Guard)
		r.Get("/me", me)
		r.Get("/me/userinfo", func(w http.ResponseWriter, r *http.Request) {
			id, _ := oidcmw.FromContext(r.Context())
			info, err := m.UserInfo(r.Context(), id)
			if err != nil {
				oidcmw.DefaultErrorHandler(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(info)
		})
	})
	return r
}

// me answers the signed-in user's ID token claims and access token expiry.
func me(w http.ResponseWriter, r *http.Request) {
	id, _ := oidcmw.FromContext(r.Context())
	var expiresAt *time.Time
	if !id.Expiry.IsZero() {
		expiresAt = &id.Expiry
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"claims": id.RawClaims, "expires_at": expiresAt})
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>oidcmw example</title>
<h1>oidcmw example</h1>
{{if .}}<p>Signed in as <strong id="subject">{{.Subject}}</strong>. See your claims at <a href="/me">/me</a>.</p>
<form method="post" action="/auth/logout"><button id="logout">Sign out</button></form>
{{else}}<p>You are not signed in. <a id="login" href="/auth/login?return_to=/me">Sign in</a></p>{{end}}
</html>
`))

func home(w http.ResponseWriter, r *http.Request) {
	id, _ := oidcmw.FromContext(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	homePage.Execute(w, id)
}
