package main

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/oidcmw/oidcmw"
)

// options reads the oidcmw options from the environment. Issuer stays
// empty without OIDC_ISSUER: newApp then starts the development provider.
func options(getenv func(string) string, addr string) (oidcmw.Options, error) {
	issuer := getenv("OIDC_ISSUER")
	origin := "http://" + browserAddr(addr)
	opts := oidcmw.Options{
		Issuer:                issuer,
		ClientID:              getenv("OIDC_CLIENT_ID"),
		ClientSecret:          getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:           env(getenv, "OIDC_REDIRECT_URL", origin+"/auth/callback"),
		PostLogoutRedirectURL: env(getenv, "OIDC_POST_LOGOUT_REDIRECT_URL", origin+"/"),
		Scopes:                strings.Fields(getenv("OIDC_SCOPES")),
		ResponseMode:          getenv("OIDC_RESPONSE_MODE"),
		ClientAuthMethod:      getenv("OIDC_CLIENT_AUTH_METHOD"),
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
		v, err := boolEnv(getenv, b.name)
		if err != nil {
			return opts, err
		}
		*b.to = v
	}
	if f := getenv("OIDC_CLIENT_PRIVATE_KEY_FILE"); f != "" {
		key, err := readPrivateKey(f)
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

// browserAddr is addr as a browser on this machine reaches it: a listener
// on every address (":8080", "0.0.0.0:8080", "[::]:8080") is 127.0.0.1.
func browserAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
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

// envError rewrites a configuration error of oidcmw.New in terms of the
// environment: "Options.ClientID is required" becomes "OIDC_CLIENT_ID is
// required".
func envError(err error) error {
	msg := err.Error()
	for _, n := range envNames {
		msg = strings.ReplaceAll(msg, n.option, n.env)
	}
	return errors.New(msg)
}

// env is getenv(key), or def when it is empty.
func env(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// boolEnv reads "true" or "false" (empty: false); anything else is an
// error naming the variable.
func boolEnv(getenv func(string) string, key string) (bool, error) {
	switch v := getenv(key); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want true or false", key, v)
	}
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
