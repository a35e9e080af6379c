// Package appenv is what the repository's programs (example/ and
// cmd/oidcmw-proxy) read from the environment the same way: the oidcmw
// options (OIDC_*, SESSION_SECRET), the session store (REDIS_URL,
// DATABASE_URL), the metrics (METRICS), and the liveness and readiness
// handlers over them. It is a module of its own so that the library's
// go.mod names none of their dependencies.
package appenv

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/oidcmw/oidcmw"
)

// Options reads the oidcmw options from the environment. OIDC_REDIRECT_URL
// defaults to defaultRedirectURL, OIDC_POST_LOGOUT_REDIRECT_URL to the root
// of the callback's origin. Issuer stays empty without OIDC_ISSUER: the
// program then starts its development provider, or refuses to start.
func Options(getenv func(string) string, defaultRedirectURL string) (oidcmw.Options, error) {
	issuer := getenv("OIDC_ISSUER")
	opts := oidcmw.Options{
		Issuer:           issuer,
		ClientID:         getenv("OIDC_CLIENT_ID"),
		ClientSecret:     getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:      Getenv(getenv, "OIDC_REDIRECT_URL", defaultRedirectURL),
		Scopes:           strings.Fields(getenv("OIDC_SCOPES")),
		ResponseMode:     getenv("OIDC_RESPONSE_MODE"),
		ClientAuthMethod: getenv("OIDC_CLIENT_AUTH_METHOD"),
	}
	opts.PostLogoutRedirectURL = getenv("OIDC_POST_LOGOUT_REDIRECT_URL")
	if u, err := url.Parse(opts.RedirectURL); err == nil && opts.PostLogoutRedirectURL == "" {
		opts.PostLogoutRedirectURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
	}
	if issuer != "" && opts.ClientID == "" {
		return opts, errors.New("OIDC_CLIENT_ID is required with OIDC_ISSUER")
	}
	if issuer == "" && opts.ClientID != "" {
		return opts, errors.New("OIDC_CLIENT_ID is set without OIDC_ISSUER: set both, or neither for the development provider")
	}
	secret := getenv("SESSION_SECRET")
	switch {
	case secret == "":
		secret = rand.Text() + rand.Text()
	case len(secret) < 32:
		return opts, errors.New("SESSION_SECRET must be at least 32 bytes")
	}
	opts.SecretKeys = [][]byte{[]byte(secret)}
	for _, b := range []struct {
		name string
		to   *bool
	}{
		{"OIDC_PAR", &opts.PAR}, {"OIDC_REQUEST_OBJECT", &opts.RequestObject}, {"OIDC_DPOP", &opts.DPoP},
		{"OIDC_INSECURE_ALLOW_HTTP", &opts.InsecureAllowHTTP},
	} {
		v, err := BoolEnv(getenv, b.name)
		if err != nil {
			return opts, err
		}
		*b.to = v
	}
	if f := getenv("OIDC_CLIENT_PRIVATE_KEY_FILE"); f != "" {
		key, err := ReadPrivateKey(f)
		if err != nil {
			return opts, fmt.Errorf("OIDC_CLIENT_PRIVATE_KEY_FILE: %w", err)
		}
		opts.ClientKey = key
	}
	if res := getenv("OIDC_RESOURCE"); res != "" {
		opts.AuthParams = url.Values{"resource": {res}}
		opts.TokenParams = url.Values{"resource": {res}}
	}
	return opts, nil
}

// envNames maps the option names in oidcmw's configuration errors to the
// variables that set them, longest first.
var envNames = []struct{ option, env string }{
	{"Options.PostLogoutRedirectURL", "OIDC_POST_LOGOUT_REDIRECT_URL"},
	{"Options.ClientAuthMethod", "OIDC_CLIENT_AUTH_METHOD"},
	{"Options.RequestObject", "OIDC_REQUEST_OBJECT"},
	{"Options.ResponseMode", "OIDC_RESPONSE_MODE"},
	{"Options.RedirectURL", "OIDC_REDIRECT_URL"},
	{"Options.ClientID", "OIDC_CLIENT_ID"},
	{"Options.Issuer", "OIDC_ISSUER"},
	{"InsecureAllowHTTP", "OIDC_INSECURE_ALLOW_HTTP=true"},
	{"ClientSecret", "OIDC_CLIENT_SECRET"},
	{"ClientKey", "OIDC_CLIENT_PRIVATE_KEY_FILE"},
}

// EnvError rewrites a configuration error of oidcmw.New in terms of the
// environment: "Options.ClientID is required" becomes "OIDC_CLIENT_ID is
// required".
func EnvError(err error) error {
	msg := err.Error()
	for _, n := range envNames {
		msg = strings.ReplaceAll(msg, n.option, n.env)
	}
	return errors.New(msg)
}

// Getenv is getenv(key), or def when it is empty.
func Getenv(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// BoolEnv reads "true" or "false" (empty: false); anything else is an
// error naming the variable.
func BoolEnv(getenv func(string) string, key string) (bool, error) {
	switch v := getenv(key); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want true or false", key, v)
	}
}

// ReadPrivateKey reads a PEM (PKCS #8) private key.
func ReadPrivateKey(file string) (crypto.Signer, error) {
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
