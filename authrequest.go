package oidcmw

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The authorization request (OIDC Core §3.1.2.1), sent as query parameters,
// as a signed request object (JAR, RFC 9101), and/or pushed to the provider
// first (PAR, RFC 9126).

func (m *Middleware) formPost() bool { return strings.HasPrefix(m.opts.ResponseMode, "form_post") }

// authorizationURL returns where to send the browser for params, the
// complete authorization request.
func (m *Middleware) authorizationURL(ctx context.Context, p *provider, params url.Values) (string, error) {
	if m.opts.RequestObject {
		claims := map[string]any{}
		for k, vs := range params {
			claims[k] = vs[0]
		}
		now := m.opts.Now()
		claims["iss"] = m.opts.ClientID
		claims["aud"] = p.issuer
		claims["iat"] = now.Unix()
		claims["nbf"] = now.Unix()
		claims["exp"] = now.Add(5 * time.Minute).Unix()
		claims["jti"] = rand.Text()
		obj, err := m.clientJWT("oauth-authz-req+jwt", claims)
		if err != nil {
			return "", err
		}
		// OIDC Core §6.1 wants these outside the object too.
		params = url.Values{
			"client_id":     {m.opts.ClientID},
			"response_type": params["response_type"],
			"scope":         params["scope"],
			"request":       {obj},
		}
	}
	if m.opts.PAR || p.requirePAR {
		uri, err := m.push(ctx, p, params)
		if err != nil {
			return "", err
		}
		params = url.Values{"client_id": {m.opts.ClientID}, "request_uri": {uri}}
	}
	u, err := url.Parse(p.authURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// push sends the request to the pushed authorization request endpoint and
// returns its request_uri.
func (m *Middleware) push(ctx context.Context, p *provider, params url.Values) (string, error) {
	if p.parURL == "" {
		return "", &unavailable{what: "PAR", err: fmt.Errorf("the provider has no pushed_authorization_request_endpoint")}
	}
	body, status, _, err := m.postForm(ctx, p, p.parURL, params, nil)
	if err != nil {
		return "", &unavailable{what: "PAR endpoint", err: err}
	}
	var res struct {
		RequestURI string `json:"request_uri"`
		oauthError
	}
	if err := json.Unmarshal(body, &res); err != nil || (status != http.StatusCreated && status != http.StatusOK) || res.RequestURI == "" {
		return "", &unavailable{what: "PAR endpoint", err: fmt.Errorf("status %d, error %q", status, res.Error)}
	}
	return res.RequestURI, nil
}
