// Command oidcmw-proxy puts OpenID Connect login in front of any HTTP app:
// it sends browsers to the provider to sign in, answers API calls without
// a session 401, applies allow rules, and passes the signed-in user to the
// app in X-Auth-Request-* headers (and, with --inject-jwt, a signed JWT).
// It runs as a reverse proxy in front of the app (--upstream), or answers
// the auth requests of a front end that proxies itself (--forward-auth:
// nginx auth_request, Traefik ForwardAuth, Caddy forward_auth, Envoy
// ext_authz).
//
//	OIDC_ISSUER=https://idp.example.com OIDC_CLIENT_ID=proxy OIDC_CLIENT_SECRET=... \
//	OIDC_REDIRECT_URL=https://app.example.com/oauth2/callback \
//	oidcmw-proxy --addr :4180 --upstream http://127.0.0.1:8080 --allowed-email-domain example.com
//
// or, behind nginx on the same host (README.md has its configuration):
//
//	oidcmw-proxy --forward-auth --trusted-proxy 127.0.0.1 --allowed-email-domain example.com
//
// or, to try it, with the embedded development provider, which signs
// everyone in as the test user "alice":
//
//	oidcmw-proxy --dev --upstream http://127.0.0.1:8080
//
// Flags (README.md has the details):
//
//	--addr host:port                listen address (ADDR, else 127.0.0.1:4180)
//	--upstream URL                  the app: http(s)://host:port (required, unless --forward-auth)
//	--forward-auth                  answer a front end at /oauth2/auth; needs --trusted-proxy
//	--dev                           the development provider; without OIDC_ISSUER only
//	--allowed-email-domain d        verified email at d exactly (repeatable, comma list)
//	--allowed-group g               member of g (repeatable)
//	--allowed-subject s             sub s (repeatable)
//	--groups-claim name             the groups claim (groups)
//	--public-route "METHOD PATTERN" no login: prefix /static/ or regexp ^...$ (repeatable)
//	--trusted-proxy CIDR,...        whose X-Forwarded-* to believe (none)
//	--pass-authorization            pass the client's Authorization header (dropped)
//	--pass-access-token             send the access token in X-Auth-Request-Access-Token
//	--rd-domain d                   absolute rd allowed at d, or .d for its subdomains (none)
//	--inject-jwt                    send a signed identity JWT in X-Auth-Request-Jwt
//	--jwt-audience aud              its aud (the --upstream URL; required with --forward-auth)
//	--jwt-ttl d                     its lifetime (60s; 1s to 10m)
//	--jwt-key-file f                its PEM (PKCS #8) key (generated at each start)
//
// The allow rules are alternatives: with none, every signed-in user
// passes; otherwise a user passes when any matches, and one who matches
// none gets 403 (not another login).
//
// Environment, as for the example (example/main.go): OIDC_ISSUER,
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URL (path
// /oauth2/callback; default http://ADDR/oauth2/callback; its origin is the
// proxy's), OIDC_SCOPES, OIDC_RESPONSE_MODE, OIDC_POST_LOGOUT_REDIRECT_URL
// (default: / at the origin of OIDC_REDIRECT_URL), OIDC_CLIENT_AUTH_METHOD,
// OIDC_CLIENT_PRIVATE_KEY_FILE, OIDC_PAR, OIDC_REQUEST_OBJECT, OIDC_DPOP,
// OIDC_RESOURCE, OIDC_INSECURE_ALLOW_HTTP, REDIS_URL, DATABASE_URL,
// SESSION_SECRET, METRICS.
//
// Every request is first checked and normalised (see handler): a "#" in
// the request target is 400; the path is decoded once and cleaned of dot
// segments and repeated slashes, and that one path is what the rules match
// and what the upstream gets; the inbound X-Auth-Request-* headers (every
// case and "_" spelling), Authorization, X-Forwarded-*, X-Original-* and
// X-Rewrite-URL are dropped (X-Forwarded-For, -Proto, -Host and X-Real-IP
// are kept from --trusted-proxy clients, and with --forward-auth the
// original request's method and URI).
//
// The proxy owns the paths under /oauth2/: healthz, readyz, metrics,
// start (login; return_to, or rd checked by --rd-domain), continue, auth
// (--forward-auth), jwks (--inject-jwt), sign_out (POST), callback, login,
// logout and backchannel-logout.
//
// With --forward-auth, /oauth2/auth (see forwardAuth) answers only
// --trusted-proxy clients, which is why the proxy refuses to start
// without one: it reads the original method and URI from
// X-Forwarded-Method or X-Original-Method and X-Forwarded-Uri or
// X-Original-URI, matches --public-route on the original path cleaned as
// above (200 without identity), and answers 401 without a session (never
// a redirect), 403 when the rules refuse the user, and 200 with the
// identity headers otherwise.
//
// A configuration error stops it at once with one line naming the flag
// or variable and exit status 1; so does a missing OIDC_ISSUER without
// --dev, since a proxy on the development provider signs everyone in. An
// outage does not: with the provider or the store down it starts, logs one
// warning, answers /oauth2/healthz 200 and /oauth2/readyz 503. SIGTERM or
// SIGINT drains the requests in flight and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
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
	err := run(context.Background(), os.Args[1:], os.Getenv, logger, nil)
	if errors.Is(err, flag.ErrHelp) {
		usage(os.Stdout)
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidcmw-proxy:", err)
		os.Exit(1)
	}
}

// usage prints the flags.
func usage(w *os.File) {
	fs := newFlagSet(&flagValues{}, os.Getenv)
	fs.SetOutput(w)
	fmt.Fprintln(w, "Usage: oidcmw-proxy --upstream URL [flags]")
	fmt.Fprintln(w, "       oidcmw-proxy --forward-auth --trusted-proxy CIDR [flags]")
	fmt.Fprintln(w, "The OpenID Connect client is configured by environment variables (OIDC_ISSUER, ...): see README.md.")
	fs.PrintDefaults()
}

// run parses args (the flags, without the program name), builds the proxy
// from them and getenv, listens and serves until ctx is done or the
// process gets SIGTERM or SIGINT; then it drains the requests in flight
// and returns nil. listening, when set, is told the bound address. Only
// configuration errors (flag.ErrHelp for -h) and a failed bind are
// returned, before anything is logged as listening.
func run(ctx context.Context, args []string, getenv func(string) string, logger *slog.Logger, listening func(addr string)) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.addrName, err)
	}
	defer ln.Close()
	a, err := newApp(ctx, cfg, getenv, ln.Addr().String(), logger)
	if err != nil {
		return err
	}
	defer a.close()
	mode := []any{"url", "http://" + ln.Addr().String() + "/", "mode", "forward-auth"}
	if cfg.upstream != nil {
		mode = []any{"url", "http://" + ln.Addr().String() + "/", "upstream", cfg.upstream.String()}
	}
	logger.Info("listening", mode...)
	if listening != nil {
		listening(ln.Addr().String())
	}
	return appenv.Serve(ctx, ln, a.handler, logger)
}
