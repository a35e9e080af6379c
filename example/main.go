// Command example is a small web app behind oidcmw, configured only by
// environment variables. With no OIDC_ISSUER it starts an embedded
// development provider (oidctest) on loopback that signs in the test user
// "alice" at once:
//
//	go run ./example
//
// then open http://127.0.0.1:8080/me.
//
// Environment: ADDR (127.0.0.1:8080), OIDC_ISSUER, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET (empty: public client), OIDC_REDIRECT_URL
// (http://ADDR/auth/callback), OIDC_SCOPES ("openid profile email"),
// OIDC_RESPONSE_MODE (query or form_post).
package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := env("ADDR", "127.0.0.1:8080")
	opts := oidcmw.Options{
		Issuer:       os.Getenv("OIDC_ISSUER"),
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:  env("OIDC_REDIRECT_URL", "http://"+addr+"/auth/callback"),
		Scopes:       strings.Fields(os.Getenv("OIDC_SCOPES")),
		ResponseMode: os.Getenv("OIDC_RESPONSE_MODE"),
	}
	if opts.Issuer == "" {
		op := oidctest.NewServer(oidctest.Config{})
		defer op.Close()
		opts.Issuer, opts.ClientID, opts.ClientSecret = op.URL, oidctest.DefaultClientID, oidctest.DefaultClientSecret
		log.Printf("development provider at %s signs in the test user %q", op.URL, oidctest.DefaultUser().Subject)
	}
	m, err := oidcmw.New(opts)
	if err != nil {
		return err
	}

	r := chi.NewRouter()
	r.Get("/", home)
	r.Get("/auth/login", m.Login)
	r.Get("/auth/callback", m.Callback)
	r.Post("/auth/callback", m.Callback)
	r.Group(func(r chi.Router) {
		r.Use(m.Guard)
		r.Get("/me", me)
	})

	log.Printf("listening on http://%s", addr)
	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
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
<meta charset="utf-8"><title>oidcmw example</title>
<h1>oidcmw example</h1>
<p><a href="/auth/login?return_to=/me">Sign in</a> and see your claims at <a href="/me">/me</a>.</p>
`))

func home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	homePage.Execute(w, nil)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
