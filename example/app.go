package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/appenv"
	"github.com/oidcmw/oidcmw/oidctest"
)

// app is the example's handler and what it started.
type app struct {
	handler http.Handler
	close   func()
}

// startupDiscovery bounds the provider check at start.
const startupDiscovery = 5 * time.Second

// newApp builds the app from the environment. It returns configuration
// errors only: an unreachable provider or store is logged once and
// reported by /readyz.
func newApp(ctx context.Context, getenv func(string) string, addr string, logger *slog.Logger) (_ *app, err error) {
	a := &app{}
	var closers []func()
	a.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	opts, err := options(getenv, addr)
	if err != nil {
		return nil, err
	}
	opts.Logger = logger
	st, err := appenv.OpenStore(ctx, getenv, logger)
	if err != nil {
		return nil, err
	}
	closers = append(closers, st.Close)
	opts.Store = st.Store
	obs, metrics, closeMetrics, err := appenv.NewMetrics(getenv("METRICS"))
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeMetrics)
	circ := &appenv.Circuits{Next: obs}
	opts.Observer = circ
	if opts.Issuer == "" {
		op := oidctest.NewServer(oidctest.Config{})
		closers = append(closers, op.Close)
		opts.Issuer, opts.ClientID, opts.ClientSecret = op.URL, oidctest.DefaultClientID, oidctest.DefaultClientSecret
		logger.Info("development provider: signs in the test user at once", "url", op.URL, "user", oidctest.DefaultUser().Subject)
	}
	m, err := oidcmw.New(opts)
	if err != nil {
		return nil, appenv.EnvError(err)
	}
	// A wrong issuer stops the start; an outage does not.
	dctx, cancel := context.WithTimeout(ctx, startupDiscovery)
	defer cancel()
	switch err := m.Discover(dctx); {
	case errors.Is(err, oidcmw.ErrProviderMisconfigured):
		return nil, fmt.Errorf("OIDC_ISSUER %s: %w", opts.Issuer, err)
	case err != nil:
		// The middleware has logged the outage (one warning).
		logger.Info("provider not ready at start: starting anyway, logins fail until it answers", "err", err)
	}
	a.handler = routes(m, &appenv.Readiness{Provider: m.Discover, Store: st.Ping, Circuits: circ}, metrics)
	return a, nil
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
