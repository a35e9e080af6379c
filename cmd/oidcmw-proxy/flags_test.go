package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigurationErrors: run stops at once with one line naming the
// flag or variable, before it says listening.
func TestConfigurationErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	const up = "http://127.0.0.1:1"
	dev := []string{"--dev", "--upstream", up}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no issuer, no --dev", nil, []string{"--upstream", up}, "pass --dev"},
		{"--dev with an issuer", map[string]string{"OIDC_ISSUER": "https://idp.example.com"}, dev, "--dev is set with OIDC_ISSUER"},
		{"no upstream", nil, []string{"--dev"}, "--upstream is required"},
		{"upstream without scheme", nil, []string{"--dev", "--upstream", "127.0.0.1:8080"}, "--upstream"},
		{"upstream with a path", nil, []string{"--dev", "--upstream", up + "/app"}, "--upstream"},
		{"upstream with a query", nil, []string{"--dev", "--upstream", up + "/?a=b"}, "--upstream"},
		{"unknown flag", nil, append(dev, "--skip-auth-regex", "x"), "-skip-auth-regex"},
		{"argument", nil, append(dev, "extra"), `"extra"`},
		{"public route without method", nil, append(dev, "--public-route", "/static/"), "--public-route"},
		{"public route, lower-case method", nil, append(dev, "--public-route", "get /static/"), "--public-route"},
		{"public route, unanchored", nil, append(dev, "--public-route", "GET ^/api/.*/status"), "--public-route"},
		{"public route, regexp without ^", nil, append(dev, "--public-route", "GET /api/.*/status$"), "--public-route"},
		{"public route, bad regexp", nil, append(dev, "--public-route", "GET ^/(a$"), "--public-route"},
		{"trusted proxy", nil, append(dev, "--trusted-proxy", "10.0.0.0/33"), "--trusted-proxy"},
		{"trusted proxy, empty element", nil, append(dev, "--trusted-proxy", "10.0.0.0/8,"), "-trusted-proxy"},
		{"email domain with @", nil, append(dev, "--allowed-email-domain", "@company.com"), "--allowed-email-domain"},
		{"email domain with a dot", nil, append(dev, "--allowed-email-domain", ".company.com"), "--allowed-email-domain"},
		{"empty group", nil, append(dev, "--allowed-group", ""), "--allowed-group"},
		{"empty groups claim", nil, append(dev, "--groups-claim", ""), "--groups-claim"},
		{"busy --addr", nil, append(dev, "--addr", busy.Addr().String()), "--addr"},
		{"busy ADDR", map[string]string{"ADDR": busy.Addr().String()}, dev, "ADDR"},
		{"callback path", map[string]string{"OIDC_REDIRECT_URL": "http://127.0.0.1:4180/auth/callback"}, dev, "OIDC_REDIRECT_URL"},
		{"client id without issuer", map[string]string{"OIDC_CLIENT_ID": "x"}, dev, "OIDC_CLIENT_ID"},
		{"missing client id", map[string]string{"OIDC_ISSUER": "https://idp.example.com"}, []string{"--upstream", up}, "OIDC_CLIENT_ID"},
		{"http issuer off loopback", map[string]string{"OIDC_ISSUER": "http://idp.example.com", "OIDC_CLIENT_ID": "x"}, []string{"--upstream", up}, "OIDC_ISSUER"},
		{"short session secret", map[string]string{"SESSION_SECRET": "short"}, dev, "SESSION_SECRET"},
		{"bad boolean", map[string]string{"OIDC_INSECURE_ALLOW_HTTP": "yes"}, dev, "OIDC_INSECURE_ALLOW_HTTP"},
		{"two stores", map[string]string{"DATABASE_URL": "postgres://x@/y", "REDIS_URL": "redis://127.0.0.1:1/0"}, dev, "both"},
		{"bad Redis URL", map[string]string{"REDIS_URL": "http://x"}, dev, "REDIS_URL"},
		{"unknown metrics", map[string]string{"METRICS": "statsd"}, dev, "METRICS"},
		{"forward auth without a trusted proxy", nil, []string{"--dev", "--forward-auth"}, "--forward-auth needs --trusted-proxy"},
		{"forward auth with an upstream", nil, append(dev, "--forward-auth", "--trusted-proxy", "127.0.0.1"), "--upstream and --forward-auth"},
		{"forward auth, pass authorization", nil, []string{"--dev", "--forward-auth", "--trusted-proxy", "127.0.0.1", "--pass-authorization"}, "--pass-authorization"},
		{"rd domain wildcard", nil, append(dev, "--rd-domain", "*.example.com"), "--rd-domain"},
		{"rd domain, one label", nil, append(dev, "--rd-domain", ".com"), "--rd-domain"},
		{"rd domain with a scheme", nil, append(dev, "--rd-domain", "https://example.com"), "--rd-domain"},
		{"jwt flags without --inject-jwt", nil, append(dev, "--jwt-audience", "app", "--jwt-ttl", "30s"), "--jwt-audience and --jwt-ttl is set without --inject-jwt"},
		{"jwt audience in forward auth", nil, []string{"--dev", "--forward-auth", "--trusted-proxy", "127.0.0.1", "--inject-jwt"}, "--jwt-audience is required"},
		{"jwt ttl too long", nil, append(dev, "--inject-jwt", "--jwt-ttl", "11m"), "--jwt-ttl"},
		{"jwt ttl too short", nil, append(dev, "--inject-jwt", "--jwt-ttl", "500ms"), "--jwt-ttl"},
		{"jwt key file missing", nil, append(dev, "--inject-jwt", "--jwt-key-file", "/nonexistent/key.pem"), "--jwt-key-file"},
		{"jwt key file not PEM", nil, append(dev, "--inject-jwt", "--jwt-key-file", "flags_test.go"), "--jwt-key-file"},
		{"jwt key too small", nil, append(dev, "--inject-jwt", "--jwt-key-file", rsa1024Key(t)), "--jwt-key-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := append([]string{"--addr", "127.0.0.1:0"}, tc.args...)
			if tc.env["ADDR"] != "" {
				args = tc.args
			}
			err := run(ctx, args, func(k string) string { return tc.env[k] }, slog.New(slog.NewTextHandler(&logs, nil)),
				func(string) { t.Errorf("started with %v %v", tc.env, tc.args); cancel() })
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Options.") ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line naming %s", err, tc.want)
			}
			if strings.Contains(logs.String(), "listening") {
				t.Errorf("logged listening before failing:\n%s", &logs)
			}
		})
	}
}

// rsa1024Key writes a PKCS #8 RSA key too small for the JWT and returns
// its file.
func rsa1024Key(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, k)
}

// writeKey writes k as PEM (PKCS #8) and returns the file.
func writeKey(t *testing.T, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestHelp(t *testing.T) {
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, slog.New(slog.DiscardHandler), nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

// TestPostLogoutDefault: without OIDC_POST_LOGOUT_REDIRECT_URL the
// provider sends the browser to / at the callback's origin, not at the
// listen address (which may be [::]:4180 behind a public name).
func TestPostLogoutDefault(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		addr string
		want string
	}{
		{map[string]string{"OIDC_REDIRECT_URL": "https://app.example.com/oauth2/callback"}, "[::]:4180", "https://app.example.com/"},
		{nil, "127.0.0.1:4180", "http://127.0.0.1:4180/"},
		{map[string]string{"OIDC_POST_LOGOUT_REDIRECT_URL": "https://www.example.com/bye"}, "[::]:4180", "https://www.example.com/bye"},
	} {
		opts, err := options(func(k string) string { return tc.env[k] }, tc.addr)
		if err != nil || opts.PostLogoutRedirectURL != tc.want {
			t.Errorf("%v at %s: %q, %v, want %q", tc.env, tc.addr, opts.PostLogoutRedirectURL, err, tc.want)
		}
	}
}
