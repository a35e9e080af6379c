// Command example is a small web app behind oidcmw, configured only by
// environment variables. With no OIDC_ISSUER it starts an embedded
// development provider (oidctest) on loopback that signs in the test user
// "alice" at once:
//
//	go run ./example
//
// then open http://127.0.0.1:8080/.
//
// Environment (unknown variables are ignored):
//
//	ADDR                           listen host:port (127.0.0.1:8080)
//	OIDC_ISSUER                    issuer URL (unset: embedded development provider)
//	OIDC_CLIENT_ID                 client id (the development provider's)
//	OIDC_CLIENT_SECRET             client secret; empty: public client, PKCE only
//	OIDC_REDIRECT_URL              callback URL (http://ADDR/auth/callback)
//	OIDC_SCOPES                    space separated (openid profile email)
//	OIDC_RESPONSE_MODE             query or form_post (query)
//	OIDC_POST_LOGOUT_REDIRECT_URL  where the provider sends the browser after logout (http://ADDR/)
//	REDIS_URL                      sessions in Redis, shared by instances (in memory)
//	DATABASE_URL                   sessions in PostgreSQL instead (postgres://...); not with REDIS_URL
//	SESSION_SECRET                 32+ bytes sealing stored tokens (random per process)
//	OIDC_CLIENT_AUTH_METHOD        client_secret_basic, client_secret_post, client_secret_jwt,
//	                               private_key_jwt or none (default: a secret method when there
//	                               is a secret, private_key_jwt for a key alone)
//	OIDC_CLIENT_PRIVATE_KEY_FILE   PEM (PKCS #8) key for private_key_jwt and request objects
//	OIDC_PAR, OIDC_REQUEST_OBJECT, OIDC_DPOP   "true" turns on PAR, JAR, DPoP
//	OIDC_RESOURCE                  a resource indicator (RFC 8707) for the authorization and token requests
package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/pgxstore"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/oidctest"
)

func main() {
	addr := env(os.Getenv, "ADDR", "127.0.0.1:8080")
	handler, closeApp, err := newApp(os.Getenv, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
	defer closeApp()
	log.Printf("listening on http://%s", addr)
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// newApp builds the app from the environment; close releases what it
// started (the development provider, the Redis client).
func newApp(getenv func(string) string, addr string) (h http.Handler, close func(), err error) {
	var closers []func()
	close = func() {
		for _, c := range closers {
			c()
		}
	}
	defer func() {
		if err != nil {
			close()
		}
	}()
	opts := oidcmw.Options{
		Issuer:                getenv("OIDC_ISSUER"),
		ClientID:              getenv("OIDC_CLIENT_ID"),
		ClientSecret:          getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:           env(getenv, "OIDC_REDIRECT_URL", "http://"+addr+"/auth/callback"),
		PostLogoutRedirectURL: env(getenv, "OIDC_POST_LOGOUT_REDIRECT_URL", "http://"+addr+"/"),
		Scopes:                strings.Fields(getenv("OIDC_SCOPES")),
		ResponseMode:          getenv("OIDC_RESPONSE_MODE"),
		SecretKeys:            [][]byte{[]byte(env(getenv, "SESSION_SECRET", rand.Text()+rand.Text()))},
		ClientAuthMethod:      getenv("OIDC_CLIENT_AUTH_METHOD"),
		PAR:                   getenv("OIDC_PAR") == "true",
		RequestObject:         getenv("OIDC_REQUEST_OBJECT") == "true",
		DPoP:                  getenv("OIDC_DPOP") == "true",
		// A post-login hook: the code it calls reads the new identity
		// with oidcmw.FromContext, as handlers behind the guard do.
		AfterLogin: func(ctx context.Context, _ *oidcmw.Identity) error {
			logSignIn(ctx)
			return nil
		},
	}
	if f := getenv("OIDC_CLIENT_PRIVATE_KEY_FILE"); f != "" {
		key, err := readPrivateKey(f)
		if err != nil {
			return nil, close, fmt.Errorf("OIDC_CLIENT_PRIVATE_KEY_FILE: %w", err)
		}
		opts.ClientKey = key
	}
	if res := getenv("OIDC_RESOURCE"); res != "" {
		opts.AuthParams = url.Values{"resource": {res}}
		opts.TokenParams = url.Values{"resource": {res}}
	}
	if getenv("REDIS_URL") != "" && getenv("DATABASE_URL") != "" {
		return nil, close, errors.New("REDIS_URL and DATABASE_URL are both set: choose one store")
	}
	if u := getenv("DATABASE_URL"); u != "" {
		store, closeStore, err := postgresStore(u)
		if err != nil {
			return nil, close, fmt.Errorf("DATABASE_URL: %w", err)
		}
		closers = append(closers, closeStore)
		opts.Store = store
	}
	if u := getenv("REDIS_URL"); u != "" {
		ro, err := redis.ParseURL(u)
		if err != nil {
			return nil, close, fmt.Errorf("REDIS_URL: %w", err)
		}
		// Fail fast when Redis is down: the guard answers 503 within these.
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
		rc := redis.NewClient(ro)
		closers = append(closers, func() { rc.Close() })
		opts.Store = redisstore.New(rc)
	}
	if opts.Issuer == "" {
		op := oidctest.NewServer(oidctest.Config{})
		closers = append(closers, op.Close)
		opts.Issuer, opts.ClientID, opts.ClientSecret = op.URL, oidctest.DefaultClientID, oidctest.DefaultClientSecret
		log.Printf("development provider at %s signs in the test user %q", op.URL, oidctest.DefaultUser().Subject)
	}
	m, err := oidcmw.New(opts)
	if err != nil {
		return nil, close, err
	}
	// Fail fast on bad configuration (unreachable provider, issuer mismatch).
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.Discover(ctx); err != nil {
		return nil, close, err
	}

	r := chi.NewRouter()
	r.With(m.Optional).Get("/", home)
	r.Get("/auth/login", m.Login)
	r.Get("/auth/callback", m.Callback)
	r.Post("/auth/callback", m.Callback)
	r.Post("/auth/logout", m.Logout)
	// Register http://ADDR/auth/backchannel-logout at the provider as
	// backchannel_logout_uri. No CSRF protection: the provider calls it.
	r.Post("/auth/backchannel-logout", m.BackchannelLogout)
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
	return r, close, nil
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

// readPrivateKey reads a PEM (PKCS #8) private key.
func readPrivateKey(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("no PEM block in %s", file)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T cannot sign", key)
	}
	return signer, nil
}

func env(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// logSignIn records a sign-in: who, at which provider, with which
// authentication method. Never a token.
func logSignIn(ctx context.Context) {
	if id, ok := oidcmw.FromContext(ctx); ok {
		log.Printf("signed in: sub %q at %s (acr %q)", id.Subject, id.Issuer, id.ACR)
	}
}

// postgresStore connects to PostgreSQL, creates the store's tables if
// needed, and returns the store and what closes it.
func postgresStore(u string) (oidcmw.Store, func(), error) {
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		return nil, nil, err
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second // fail fast: the guard answers 503
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := pgxstore.New(pool, pgxstore.Options{})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		pool.Close()
		return nil, nil, err
	}
	return store, func() { store.Close(); pool.Close() }, nil
}
