package main

import (
	"fmt"
	"net/url"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/appenv"
)

// callbackPath is the path of OIDC_REDIRECT_URL: m.Routes() serves the
// middleware's endpoints in its directory, /oauth2/.
const callbackPath = "/oauth2/callback"

// cookieName names the session cookie (and, with "_login", the login
// cookie; both get the __Host- prefix over https). The proxy keeps them
// from the upstream.
const cookieName = "oidcmw"

// options reads the oidcmw options from the environment as the example
// does (appenv.Options), with OIDC_REDIRECT_URL defaulting to
// http://ADDR/oauth2/callback, whose path is fixed, and the proxy's cookie
// name. Issuer stays empty without OIDC_ISSUER: newApp then refuses to
// start unless --dev is set.
func options(getenv func(string) string, addr string) (oidcmw.Options, error) {
	opts, err := appenv.Options(getenv, "http://"+addr+callbackPath)
	if err != nil {
		return opts, err
	}
	opts.CookieName = cookieName
	if u, err := url.Parse(opts.RedirectURL); err == nil && u.Path != callbackPath {
		return opts, fmt.Errorf("OIDC_REDIRECT_URL %s: its path must be %s, where the proxy serves the callback", opts.RedirectURL, callbackPath)
	}
	return opts, nil
}
