package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// parseUpstream parses --upstream: an http or https URL with a host and
// nothing else (no path but "/", query, fragment or user info), so that
// the path the upstream gets is exactly the path the rules saw.
func parseUpstream(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("--upstream is required: the URL of the app to protect, e.g. http://127.0.0.1:8080 (or --forward-auth behind nginx, Traefik, Caddy or Envoy)")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--upstream: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("--upstream %q: want http://host:port or https://host:port", s)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.ForceQuery, u.User != nil:
		return nil, fmt.Errorf("--upstream %q: a path, query, fragment or user info is not supported", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// newUpstream returns the reverse proxy to target. Its Rewrite (not the
// Director, whose headers a hop-by-hop Connection list could remove after
// the fact) sends the request to target with the path and query as they
// are in the incoming request (the handler has set the cleaned path, whose
// RawPath is recomputed, so a "#" in it goes out as %23), the Host of
// target, X-Forwarded-* from trusted, without the proxy's cookies, and with
// the identity headers of the user the authorizer put in the context (none
// on a public route).
func newUpstream(target *url.URL, trusted trustedProxies, passAccessToken bool, logger *slog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			trusted.setForwarded(pr)
			dropOwnCookies(pr.Out.Header)
			if u := userFrom(pr.In.Context()); u != nil {
				setIdentity(pr.Out.Header, u, passAccessToken)
			}
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.WarnContext(r.Context(), "upstream request failed", "path", r.URL.Path, "err", err)
			http.Error(w, http.StatusText(http.StatusBadGateway), http.StatusBadGateway)
		},
	}
}
