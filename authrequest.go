package oidcmw

import (
	"context"
	"crypto/rand"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The authorization request (OIDC Core §3.1.2.1), sent as query parameters,
// as a signed request object (JAR, RFC 9101), and/or pushed to the provider
// first (PAR, RFC 9126).

// loginStarter starts logins: a pending login with fresh state, nonce and
// PKCE verifier in the store, and the authorization request. It is built
// once in New.
type loginStarter struct {
	issuer        string // Options.Issuer, recorded in the pending login (mix-up defence)
	clientID      string
	redirectURL   string
	scope         string
	mode          responseMode
	authParams    url.Values
	loginParams   []string
	omitConsent   bool
	offline       bool // scope has offline_access
	maxAge        time.Duration
	loginTimeout  time.Duration
	dpop          bool
	par           bool
	requestObject bool
	now           func() time.Time
	budget        *loginBudget
	tokens        *tokenClient
	sess          *sessions
}

// loginOptions are what a login is started with.
type loginOptions struct {
	returnTo string
	maxAge   time.Duration // step-up; 0: Options.MaxAge
	acr      []string      // step-up acr_values
	params   url.Values    // per-request parameters from Options.LoginParams
}

// options reads a login request's query: return_to, kept only when it is a
// same-origin relative path, and the parameters Options.LoginParams lets
// through.
func (l *loginStarter) options(q url.Values) loginOptions {
	lo := loginOptions{returnTo: safeReturnTo(q.Get("return_to"))}
	for _, name := range l.loginParams {
		if v := q.Get(name); v != "" && len(v) <= 256 && !hasControl(v) {
			if lo.params == nil {
				lo.params = url.Values{}
			}
			lo.params.Set(name, v)
		}
	}
	return lo
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }) >= 0
}

// start saves a pending login bound to the browser's binding (its login
// cookie value) and returns the URL of the authorization request.
func (l *loginStarter) start(ctx context.Context, p *provider, binding string, lo loginOptions) (string, error) {
	if wait, ok := l.budget.take(l.now()); !ok {
		return "", &tooManyLogins{retryAfter: wait}
	}
	maxAge := l.maxAge
	if lo.maxAge > 0 {
		maxAge = lo.maxAge
	}
	var dk *dpopKey
	if l.dpop {
		var err error
		if dk, err = newDPoPKey(); err != nil {
			return "", err
		}
	}
	rec := &pendingRecord{
		issuer:       l.issuer,
		dpop:         dk.marshal(),
		state:        rand.Text(),
		binding:      binding,
		nonce:        rand.Text(),
		codeVerifier: oauth2.GenerateVerifier(),
		returnTo:     lo.returnTo,
		maxAge:       int64(maxAge.Seconds()),
		acr:          strings.Join(lo.acr, " "),
		expires:      l.now().Add(l.loginTimeout).UnixNano(),
	}
	if err := l.sess.savePending(ctx, rec); err != nil {
		return "", err
	}
	return l.authorizationURL(ctx, p, l.params(rec, lo))
}

// params is the authorization request of rec.
func (l *loginStarter) params(rec *pendingRecord, lo loginOptions) url.Values {
	params := url.Values{
		"response_type":         {"code"},
		"client_id":             {l.clientID},
		"redirect_uri":          {l.redirectURL},
		"scope":                 {l.scope},
		"state":                 {rec.state},
		"nonce":                 {rec.nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(rec.codeVerifier)},
		"code_challenge_method": {"S256"},
	}
	if l.mode != modeQuery {
		params.Set("response_mode", l.mode.String())
	}
	if rec.maxAge > 0 {
		params.Set("max_age", strconv.FormatInt(rec.maxAge, 10))
	}
	if rec.acr != "" {
		params.Set("acr_values", rec.acr)
	}
	for _, set := range []url.Values{l.authParams, lo.params} {
		for k, vs := range set {
			params[k] = slices.Clone(vs)
		}
	}
	// OIDC Core §11: offline_access needs consent; providers that follow it
	// (oidc-provider, Keycloak) issue no refresh token without prompt=consent.
	if l.offline && !params.Has("prompt") && !l.omitConsent {
		params.Set("prompt", "consent")
	}
	return params
}

// authorizationURL returns where to send the browser for params, the
// complete authorization request: as a request object (JAR) and/or pushed
// first (PAR) when configured.
func (l *loginStarter) authorizationURL(ctx context.Context, p *provider, params url.Values) (string, error) {
	if l.requestObject {
		obj, err := l.requestObjectJWT(p, params)
		if err != nil {
			return "", err
		}
		// OIDC Core §6.1 wants these outside the object too.
		params = url.Values{
			"client_id":     {l.clientID},
			"response_type": params["response_type"],
			"scope":         params["scope"],
			"request":       {obj},
		}
	}
	if l.par || p.requirePAR {
		uri, err := l.tokens.push(ctx, p, params)
		if err != nil {
			return "", err
		}
		params = url.Values{"client_id": {l.clientID}, "request_uri": {uri}}
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

// requestObjectJWT signs params as a request object (RFC 9101).
func (l *loginStarter) requestObjectJWT(p *provider, params url.Values) (string, error) {
	claims := map[string]any{}
	for k, vs := range params {
		claims[k] = vs[0]
	}
	now := l.now()
	claims["iss"] = l.clientID
	claims["aud"] = p.issuer
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(5 * time.Minute).Unix()
	claims["jti"] = rand.Text()
	return l.tokens.clientJWT("oauth-authz-req+jwt", claims)
}

// tooManyLogins is ErrTooManyLogins with how long to wait.
type tooManyLogins struct{ retryAfter time.Duration }

func (e *tooManyLogins) Error() string        { return ErrTooManyLogins.Error() }
func (e *tooManyLogins) Is(target error) bool { return target == ErrTooManyLogins }
