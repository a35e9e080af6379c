// Command example is a small web app behind oidcmw, configured only by
// environment variables. With no OIDC_ISSUER it starts an embedded
// development provider (oidctest) on loopback that signs in the test user
// "alice" at once:
//
//	go run ./example
//
// then open http://127.0.0.1:8080/.
//
// Environment (unknown variables are ignored; README.md has the table):
//
//	ADDR                           listen host:port (127.0.0.1:8080)
//	OIDC_ISSUER                    issuer URL (unset: embedded development provider)
//	OIDC_CLIENT_ID                 client id (required with OIDC_ISSUER)
//	OIDC_CLIENT_SECRET             client secret; empty: public client, PKCE only
//	OIDC_REDIRECT_URL              callback URL (http://ADDR/auth/callback)
//	OIDC_SCOPES                    space separated (openid profile email)
//	OIDC_RESPONSE_MODE             query or form_post (query)
//	OIDC_POST_LOGOUT_REDIRECT_URL  where the provider sends the browser after logout (http://ADDR/)
//	OIDC_CLIENT_AUTH_METHOD        client_secret_basic, client_secret_post, client_secret_jwt,
//	                               private_key_jwt or none (default: a secret method discovery
//	                               lists when there is a secret, with or without a key;
//	                               private_key_jwt for a key alone)
//	OIDC_CLIENT_PRIVATE_KEY_FILE   PEM (PKCS #8) key for private_key_jwt and request objects
//	OIDC_PAR, OIDC_REQUEST_OBJECT, OIDC_DPOP   "true" turns on PAR, JAR, DPoP
//	OIDC_RESOURCE                  a resource indicator (RFC 8707) for the authorization and token requests
//	OIDC_INSECURE_ALLOW_HTTP       "true" allows an http issuer and callback off loopback: lab setups only
//	REDIS_URL                      sessions in Redis, shared by instances (in memory)
//	DATABASE_URL                   sessions in PostgreSQL instead (postgres://...); not with REDIS_URL
//	SESSION_SECRET                 32+ bytes sealing stored tokens (random per process)
//	METRICS                        "prometheus" serves metrics at /metrics
//
// A configuration error stops it at once with one line naming the
// variable and exit status 1. An outage does not: with the provider or
// the store down it starts, logs one warning, answers /healthz 200 and
// /readyz 503 with the reason, and logins fail with 502/503 until the
// dependency is back. SIGTERM or SIGINT drains the requests in flight and
// exits 0.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/oidcmw/oidcmw/internal/appenv"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), os.Getenv, logger, nil); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// run builds the app from getenv, listens on ADDR and serves until ctx is
// done or the process gets SIGTERM or SIGINT; then it drains the requests
// in flight and returns nil. listening, when set, is told the bound
// address. Only configuration errors and a failed bind are returned.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, listening func(addr string)) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	addr := appenv.Getenv(getenv, "ADDR", "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	defer ln.Close()
	a, err := newApp(ctx, getenv, ln.Addr().String(), logger)
	if err != nil {
		return err
	}
	defer a.close()
	logger.Info("listening", "url", "http://"+ln.Addr().String()+"/")
	if listening != nil {
		listening(ln.Addr().String())
	}
	return appenv.Serve(ctx, ln, a.handler, logger)
}
