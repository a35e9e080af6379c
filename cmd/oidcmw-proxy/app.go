package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/rd"
	"github.com/oidcmw/oidcmw/internal/appenv"
)

// app is the proxy's handler and what it started.
type app struct {
	handler http.Handler
	close   func()
}

// newApp builds the proxy from cfg and the environment (appenv.NewService,
// as the example does). It returns configuration errors only: an
// unreachable provider or store is logged once and reported by
// /oauth2/readyz.
func newApp(ctx context.Context, cfg *config, getenv func(string) string, addr string, logger *slog.Logger) (_ *app, err error) {
	opts, err := options(getenv, addr)
	if err != nil {
		return nil, err
	}
	// With --dev, parseFlags has checked that OIDC_ISSUER is unset.
	svc, err := appenv.NewService(ctx, opts, getenv, logger, cfg.dev)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			svc.Close()
		}
	}()
	m, opts := svc.M, svc.Options
	a := &app{close: svc.Close}
	// The proxy's external origin, and whether it is https, come from
	// OIDC_REDIRECT_URL (oidcmw.New has checked it), never from a request.
	redirect, err := url.Parse(opts.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("OIDC_REDIRECT_URL: %w", err)
	}
	origin := redirect.Scheme + "://" + redirect.Host
	https := redirect.Scheme == "https"
	authz := &authorizer{rules: cfg.rules, groupsClaim: cfg.groupsClaim, logger: logger}
	var jwks http.Handler
	if cfg.jwt != nil {
		if authz.signer, err = newSigner(cfg.jwt, origin); err != nil {
			return nil, err
		}
		jwks = authz.signer.JWKS()
	}
	h := &handler{
		public:  cfg.public,
		inbound: inbound{passAuthorization: cfg.passAuthorization, forwardAuth: cfg.forwardAuth},
		trusted: cfg.trusted,
	}
	e := endpoints{
		ready:   svc.Ready,
		metrics: svc.Metrics,
		start: &starter{login: m.Login, logger: logger, cookie: newRDCookie(opts.SecretKeys[0], https),
			policy: rd.Policy{Domains: cfg.rdDomains, InsecureAllowHTTP: !https}},
		jwks: jwks,
	}
	if cfg.forwardAuth {
		e.auth = &forwardAuth{trusted: cfg.trusted, public: cfg.public, session: m.Optional, authz: authz,
			passAccessToken: cfg.passAccessToken, origin: origin, logger: logger}
	} else {
		h.proxy = newUpstream(cfg.upstream, cfg.trusted, cfg.passAccessToken, logger)
		h.guarded = m.Guard(authz.wrap(h.proxy))
	}
	h.own = ownRoutes(m, e)
	a.handler = h
	return a, nil
}

// endpoints are the proxy's own handlers besides oidcmw's.
type endpoints struct {
	ready   *appenv.Readiness
	metrics http.Handler // nil without METRICS
	start   *starter
	jwks    http.Handler // nil without --inject-jwt
	auth    http.Handler // nil without --forward-auth
}

// ownRoutes serves the proxy's own paths, under ownPrefix; any other path
// there is 404.
//
//	/oauth2/healthz             200 "ok": the process is alive
//	/oauth2/readyz              200 when the provider and the store answer, else 503
//	/oauth2/metrics             with METRICS=prometheus
//	/oauth2/start               m.Login (GET; return_to, or rd: see starter)
//	/oauth2/continue            after a login with an absolute rd
//	/oauth2/sign_out            m.Logout (POST, same origin)
//	/oauth2/auth                with --forward-auth: the front end's auth request (forwardAuth)
//	/oauth2/jwks                with --inject-jwt: the key set of the identity JWT (public)
//	/oauth2/login, /oauth2/callback, /oauth2/logout, /oauth2/backchannel-logout
//	                            m.Routes(), for OIDC_REDIRECT_URL .../oauth2/callback
//
// Register http(s)://HOST/oauth2/backchannel-logout at the provider as
// backchannel_logout_uri.
func ownRoutes(m *oidcmw.Middleware, e endpoints) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/healthz", appenv.Healthz)
	mux.Handle("GET /oauth2/readyz", e.ready)
	if e.metrics != nil {
		mux.Handle("GET /oauth2/metrics", e.metrics)
	}
	mux.Handle("/oauth2/start", e.start)
	mux.HandleFunc("/oauth2/continue", e.start.continueLogin)
	mux.HandleFunc("/oauth2/sign_out", m.Logout)
	if e.auth != nil {
		mux.Handle("/oauth2/auth", e.auth)
	}
	if e.jwks != nil {
		mux.Handle("/oauth2/jwks", e.jwks)
	}
	for _, p := range []string{"/oauth2/login", "/oauth2/callback", "/oauth2/logout", "/oauth2/backchannel-logout"} {
		mux.Handle(p, m.Routes())
	}
	return mux
}
