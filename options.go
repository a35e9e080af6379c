package oidcmw

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Options configures [New]. The zero value of every field except Issuer,
// ClientID and RedirectURL means the documented default.
type Options struct {
	// Issuer is the OpenID Provider's issuer identifier, e.g.
	// "https://accounts.example.com". Discovery is fetched from
	// Issuer + "/.well-known/openid-configuration" on first use, and the
	// document's "issuer" must equal this value exactly. Required.
	Issuer string

	// TenantIssuer is the named quirk for multi-tenant Microsoft Entra ID
	// apps (the other issuer exception, built in, is Google's ID tokens
	// that name "accounts.google.com" without the scheme), whose Issuer is https://login.microsoftonline.com/organizations/v2.0
	// (or /common/v2.0) but whose discovery document names the template
	// "https://login.microsoftonline.com/{tenantid}/v2.0". Set TenantIssuer
	// to that template: discovery's issuer must equal it, and each ID
	// token's iss must equal it with {tenantid} replaced by the token's tid
	// claim. Default: none; issuers compare exactly.
	TenantIssuer string

	// AllowedTenants, with TenantIssuer, lists the tenant ids (tid) whose
	// users may sign in. Default: any tenant.
	AllowedTenants []string

	// ClientID is the client identifier registered at the provider. Required.
	ClientID string

	// ClientSecret authenticates the client at the token endpoint with
	// client_secret_basic. Empty means a public client: no client
	// authentication (method "none"), PKCE only.
	ClientSecret string

	// ClientAuthMethod is how the client authenticates at the token, PAR
	// and revocation endpoints: "client_secret_basic", "client_secret_post",
	// "client_secret_jwt" (an HS256 assertion made with the secret),
	// "private_key_jwt" (an assertion signed with ClientKey), or "none".
	// Assertions (RFC 7523) carry iss = sub = ClientID, aud = the issuer, a
	// unique jti and a one-minute exp. Default: with a ClientSecret (with or
	// without a ClientKey, which then still signs request objects), the
	// first of client_secret_basic, client_secret_post and
	// client_secret_jwt that discovery's
	// token_endpoint_auth_methods_supported lists (client_secret_basic when
	// it lists none of them or is absent); with a ClientKey alone,
	// private_key_jwt; with neither, none. A method named here always wins.
	ClientAuthMethod string

	// ClientKey is the client's private key (RSA, ECDSA or Ed25519) for
	// private_key_jwt and for signing request objects. Its public key is
	// registered at the provider (as a JWK, or a JWKS URI). Default: none.
	ClientKey crypto.Signer

	// ClientKeyID is the kid put in the header of what ClientKey signs.
	// Default: the key's RFC 7638 JWK thumbprint.
	ClientKeyID string

	// PAR pushes every authorization request to the provider's
	// pushed_authorization_request_endpoint (RFC 9126) and redirects with
	// the request_uri only. It is done anyway when discovery says
	// require_pushed_authorization_requests. Default false.
	PAR bool

	// RequestObject sends the authorization request as a signed request
	// object (JAR, RFC 9101), signed with ClientKey or, without one, HS256
	// with the client secret; with PAR it is pushed. Default false.
	RequestObject bool

	// DPoP binds the tokens of each session to a key of its own (RFC 9449):
	// the token and refresh requests carry DPoP proofs, retried once when
	// the provider asks for a nonce, and [Identity.Transport] calls APIs
	// with DPoP-bound tokens. Default false.
	DPoP bool

	// DecryptionKey is the client's private key for encrypted ID tokens
	// (JWE: *rsa.PrivateKey for RSA-OAEP and RSA-OAEP-256, *ecdsa.PrivateKey
	// for ECDH-ES and its key wrap variants). Default: none; an encrypted
	// ID token is then refused.
	DecryptionKey crypto.PrivateKey

	// RedirectURL is the absolute URL of the route where [Middleware.Callback]
	// is mounted, exactly as registered at the provider. Required. Its scheme
	// decides whether cookies are Secure. An http URL is only accepted for a
	// loopback host (localhost, 127.0.0.0/8, ::1) unless InsecureAllowHTTP is set.
	RedirectURL string

	// PostLogoutRedirectURL is where the provider sends the browser after
	// [Middleware.Logout] (post_logout_redirect_uri, registered at the
	// provider), and where Logout redirects itself when the provider has no
	// end_session_endpoint. Default: the root of RedirectURL's origin.
	PostLogoutRedirectURL string

	// Scopes requested at login. Default: openid, profile, email. "openid"
	// is always added when missing.
	Scopes []string

	// ResponseMode is "query" (default) or "form_post", or one of the JARM
	// modes "jwt", "query.jwt", "form_post.jwt" (the response is a JWT
	// signed by the provider, verified before anything in it is read).
	// With form_post the provider POSTs the response to RedirectURL, and
	// the short-lived login cookie is sent with SameSite=None; Secure so
	// that the cross-site POST carries it.
	ResponseMode string

	// Store keeps pending logins and sessions. Default: a [MemoryStore]
	// (one process only).
	Store Store

	// HTTPClient talks to the provider (discovery, JWKS, token endpoint).
	// Default: a client that gives up connecting after 5 s and on the whole
	// request after 10 s, so an unreachable provider yields 502/504 quickly.
	HTTPClient *http.Client

	// ErrorHandler renders every failure: failed checks, provider and store
	// outages, and unauthenticated API calls. Default: [DefaultErrorHandler].
	// Use [StatusCode] to keep the status mapping.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives one record per failed login or outage, one Info
	// record per login and logout, never a token.
	// Default: slog.Default().
	Logger *slog.Logger

	// Now is the clock. Default: time.Now.
	Now func() time.Time

	// ClockSkew is the tolerance for exp, iat and auth_time. Default 30 s
	// (as openid-client).
	ClockSkew time.Duration

	// LoginTimeout is how long a pending login (state, nonce, PKCE
	// verifier) stays valid. Default 10 minutes.
	LoginTimeout time.Duration

	// IdleTimeout ends a session that has not been used for this long.
	// Default 24 hours.
	IdleTimeout time.Duration

	// AbsoluteTimeout ends a session this long after login, however much it
	// is used. Default 7 days.
	AbsoluteTimeout time.Duration

	// RefreshMargin is how long before the access token expires the guard
	// refreshes it, when there is a refresh token. Concurrent requests of
	// one session share one refresh, across instances when the Store is
	// shared. Default 1 minute.
	RefreshMargin time.Duration

	// FetchUserInfo fetches the UserInfo endpoint after login and after each
	// refresh (access token in the Authorization header, RFC 6750 §2.1) and
	// refuses a response whose sub differs from the ID token's. The claims
	// are in Identity.UserInfo and merged by Identity.Claims. Default false.
	FetchUserInfo bool

	// AfterLogin, when set, runs after every check of a login has passed and
	// before the session is created (provisioning, allow-lists). Its
	// context carries the new identity too, so that [FromContext] works in
	// code it calls. Returning an error refuses the login with 403
	// ([ErrLoginRefused] wrapping it); the identity it gets must not be
	// kept.
	AfterLogin func(ctx context.Context, id *Identity) error

	// OnLogout, when set, runs after a session has ended: at
	// [Middleware.Logout], with the session's issuer and subject, and at a
	// back-channel logout, with the logout token's (its subject is empty
	// when the token names only a sid). It cannot stop the logout.
	OnLogout func(ctx context.Context, issuer, subject string)

	// Observer, when set, is told of every login, refresh, logout,
	// back-channel logout and store error, for metrics. Default none.
	Observer Observer

	// OmitSubjectInLogs leaves the user out of the login and logout
	// records in Logger. Default false: they carry subject_hash, 16 hex
	// digits of SHA-256 over the issuer and the subject, which follows one
	// user through the log without writing down the subject (often an
	// email address).
	OmitSubjectInLogs bool

	// OmitConsentPrompt stops the middleware from adding prompt=consent
	// when Scopes has offline_access. OIDC Core §11 asks for that prompt and
	// providers that follow it (oidc-provider, Google) issue no refresh
	// token without it; Microsoft Entra ID issues refresh tokens anyway and
	// would show its consent page at every login. Default false.
	OmitConsentPrompt bool

	// LoginParams lists authorization parameters that [Middleware.Login]
	// takes from its own query string and passes on, for instance "prompt",
	// "login_hint", "ui_locales". Values longer than 256 bytes or with
	// control characters are dropped. Default: none.
	LoginParams []string

	// EndSessionGET sends the logout to the provider's end_session_endpoint
	// as a redirect with its parameters, the ID token among them as
	// id_token_hint, in the URL. Default false: a form the browser posts at
	// once (RP-Initiated Logout 1.0 §2), so the ID token is in no URL
	// (browser history, proxies, the provider's access logs). Set it for a
	// provider that refuses POST at its end_session_endpoint
	// (oidc-provider without enableHttpPostMethods), or whose session
	// cookie is SameSite=Lax on another site than yours: a cross-site POST
	// does not carry that cookie, so such a provider would not find the
	// session to end.
	EndSessionGET bool

	// RevokeOnLogout revokes the refresh token (RFC 7009) at the provider's
	// revocation_endpoint, when it has one, before [Middleware.Logout]
	// redirects. Default false.
	RevokeOnLogout bool

	// MaxAge, when positive, is sent as max_age (whole seconds) and the
	// ID token must then carry an auth_time no older than MaxAge
	// (OIDC Core §3.1.2.1). Default: not sent.
	MaxAge time.Duration

	// AuthParams are extra authorization request parameters (for instance
	// prompt, acr_values, login_hint, resource). Parameters the middleware
	// sets itself (state, nonce, PKCE, redirect_uri, ...) are refused.
	AuthParams url.Values

	// TokenParams are extra token endpoint parameters sent with the code
	// (for instance resource, RFC 8707).
	TokenParams url.Values

	// SecretKeys, when set, seal session and pending-login records with
	// AES-256-GCM (key derived with HKDF-SHA256) before they reach the
	// Store, so a copy of a shared store holds no usable token. Each key
	// has at least 32 bytes of secret; the first seals, all are tried when
	// opening (list the new key first to rotate). Records sealed with a
	// removed key read as absent: those users sign in again. Default: none,
	// records are stored as they are.
	SecretKeys [][]byte

	// CookieName names the session cookie. Default "oidcmw"; the login
	// cookie is CookieName + "_login". With an https RedirectURL both get
	// the "__Host-" prefix.
	CookieName string

	// MaxPendingLogins caps the logins one browser may have pending at once
	// (several tabs); starting one more drops the oldest. Default 8.
	MaxPendingLogins int

	// MaxOpenLogins caps the logins this instance starts within
	// LoginTimeout, whoever starts them: each stores a pending login of
	// about 500 bytes until LoginTimeout, and a visitor without cookies
	// can start any number. Beyond it, starting a login answers 503 with
	// Retry-After ([ErrTooManyLogins]); signed-in users are not affected.
	// Default 100000 (some 50 MB of store per instance at most).
	MaxOpenLogins int

	// Limits bound request, token and document sizes and JWKS refetches.
	// Default: see [Limits].
	Limits Limits

	// CircuitBreaker configures the circuit breakers in front of the Store
	// and the provider, and how their outages are logged; see
	// [CircuitBreaker] for the defaults.
	CircuitBreaker CircuitBreaker

	// InsecureAllowHTTP accepts http:// Issuer and RedirectURL on hosts
	// other than loopback. Tokens and cookies then cross the network in
	// clear text. Default false.
	InsecureAllowHTTP bool
}

const (
	defaultClockSkew       = 30 * time.Second
	defaultLoginTimeout    = 10 * time.Minute
	defaultIdleTimeout     = 24 * time.Hour
	defaultAbsoluteTimeout = 7 * 24 * time.Hour
	defaultRefreshMargin   = time.Minute
	defaultMaxPending      = 8
	defaultMaxOpenLogins   = 100_000
)

var defaultScopes = []string{"openid", "profile", "email"}

// reservedAuthParams are set by the middleware and may not be overridden.
var reservedAuthParams = []string{"state", "nonce", "code_challenge", "code_challenge_method",
	"redirect_uri", "client_id", "response_type", "response_mode", "scope", "max_age"}

// reservedTokenParams are set by the middleware and may not be overridden.
var reservedTokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier",
	"client_id", "client_secret", "client_assertion", "client_assertion_type"}

// normalize validates o and returns a copy with defaults filled in. It does
// no I/O.
func (o Options) normalize() (Options, error) {
	if err := o.validate(); err != nil {
		return o, err
	}
	return o.withDefaults()
}

// validate checks what the caller set; the zero values are defaults.
func (o *Options) validate() error {
	if o.ClientID == "" {
		return errors.New("oidcmw: Options.ClientID is required")
	}
	for _, u := range [][2]string{{"Issuer", o.Issuer}, {"RedirectURL", o.RedirectURL}} {
		if err := checkURL(u[0], u[1], o.InsecureAllowHTTP); err != nil {
			return err
		}
	}
	if o.PostLogoutRedirectURL != "" {
		if err := checkURL("PostLogoutRedirectURL", o.PostLogoutRedirectURL, o.InsecureAllowHTTP); err != nil {
			return err
		}
	}
	if o.TenantIssuer != "" && strings.Count(o.TenantIssuer, tenantPlaceholder) != 1 {
		return fmt.Errorf("oidcmw: Options.TenantIssuer %q must contain %s once", o.TenantIssuer, tenantPlaceholder)
	}
	if len(o.AllowedTenants) > 0 && o.TenantIssuer == "" {
		return errors.New("oidcmw: Options.AllowedTenants needs TenantIssuer")
	}
	if _, err := o.clientAuth(); err != nil {
		return err
	}
	if o.RequestObject && o.ClientKey == nil && o.ClientSecret == "" {
		return errors.New("oidcmw: Options.RequestObject needs a ClientKey or a ClientSecret to sign with")
	}
	if _, err := parseResponseMode(o.ResponseMode); err != nil {
		return err
	}
	if o.ClockSkew < 0 || o.LoginTimeout < 0 || o.IdleTimeout < 0 || o.AbsoluteTimeout < 0 ||
		o.RefreshMargin < 0 || o.MaxAge < 0 || o.MaxPendingLogins < 0 || o.MaxOpenLogins < 0 ||
		o.CircuitBreaker.Failures < 0 || o.CircuitBreaker.Window < 0 || o.CircuitBreaker.CoolDown < 0 || o.CircuitBreaker.LogInterval < 0 {
		return errors.New("oidcmw: durations and limits in Options must not be negative")
	}
	for _, p := range o.LoginParams {
		if slices.Contains(reservedAuthParams, p) {
			return fmt.Errorf("oidcmw: Options.LoginParams may not pass %q", p)
		}
	}
	if o.CookieName != "" && !validCookieName(o.CookieName) {
		return fmt.Errorf("oidcmw: Options.CookieName %q is not a valid cookie name", o.CookieName)
	}
	return nil
}

// withDefaults returns a copy of o (slices and maps copied) with every zero
// value replaced by its default.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.Limits, err = o.Limits.normalize(); err != nil {
		return o, err
	}
	if o.AuthParams, err = copyParams("AuthParams", o.AuthParams, reservedAuthParams); err != nil {
		return o, err
	}
	if o.TokenParams, err = copyParams("TokenParams", o.TokenParams, reservedTokenParams); err != nil {
		return o, err
	}
	o.AllowedTenants = slices.Clone(o.AllowedTenants)
	o.LoginParams = slices.Clone(o.LoginParams)
	if len(o.Scopes) == 0 {
		o.Scopes = defaultScopes
	}
	o.Scopes = slices.Clone(o.Scopes)
	if !slices.Contains(o.Scopes, "openid") {
		o.Scopes = append([]string{"openid"}, o.Scopes...)
	}
	if o.PostLogoutRedirectURL == "" {
		u, _ := url.Parse(o.RedirectURL) // checked by validate
		o.PostLogoutRedirectURL = u.Scheme + "://" + u.Host + "/"
	}
	if o.ResponseMode == "" {
		o.ResponseMode = "query"
	}
	setDefault(&o.ClockSkew, defaultClockSkew)
	setDefault(&o.LoginTimeout, defaultLoginTimeout)
	setDefault(&o.IdleTimeout, defaultIdleTimeout)
	setDefault(&o.AbsoluteTimeout, defaultAbsoluteTimeout)
	setDefault(&o.RefreshMargin, defaultRefreshMargin)
	setDefault(&o.MaxPendingLogins, defaultMaxPending)
	setDefault(&o.MaxOpenLogins, defaultMaxOpenLogins)
	setDefault(&o.CookieName, "oidcmw")
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Store == nil {
		o.Store = NewMemoryStore(o.Now)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient()
	}
	o.CircuitBreaker = o.CircuitBreaker.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// clientAuth is how the client authenticates, from Options.ClientAuthMethod
// or, when it is empty, from the credentials: a secret (with or without a
// key) means a secret method ("" here: discovery picks the first it lists),
// a key alone private_key_jwt, neither none.
func (o *Options) clientAuth() (clientAuth, error) {
	m := clientAuth(o.ClientAuthMethod)
	switch {
	case m == "" && o.ClientSecret != "":
		return "", nil
	case m == "" && o.ClientKey != nil:
		return authPrivateKeyJWT, nil
	case m == "":
		return authNone, nil
	}
	switch m {
	case authSecretBasic, authSecretPost, authSecretJWT:
		if o.ClientSecret == "" {
			return "", fmt.Errorf("oidcmw: Options.ClientAuthMethod %q needs a ClientSecret", m)
		}
	case authPrivateKeyJWT:
		if o.ClientKey == nil {
			return "", errors.New(`oidcmw: Options.ClientAuthMethod "private_key_jwt" needs a ClientKey`)
		}
	case authNone:
		if o.ClientSecret != "" {
			return "", errors.New(`oidcmw: Options.ClientAuthMethod "none" with a ClientSecret`)
		}
	default:
		return "", fmt.Errorf("oidcmw: Options.ClientAuthMethod %q: want client_secret_basic, client_secret_post, "+
			"client_secret_jwt, private_key_jwt or none", m)
	}
	return m, nil
}

// checkURL accepts an absolute http(s) URL without fragment; http only for
// loopback hosts unless insecure.
func checkURL(field, raw string, insecure bool) error {
	if raw == "" {
		return fmt.Errorf("oidcmw: Options.%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil ||
		(u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("oidcmw: Options.%s %q is not an absolute http(s) URL without fragment", field, raw)
	}
	if u.Scheme == "http" && !insecure && !isLoopback(u.Hostname()) {
		return fmt.Errorf("oidcmw: Options.%s %q uses http on a non-loopback host (set InsecureAllowHTTP to allow)", field, raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func copyParams(field string, in url.Values, reserved []string) (url.Values, error) {
	out := make(url.Values, len(in))
	for k, v := range in {
		if slices.Contains(reserved, k) {
			return nil, fmt.Errorf("oidcmw: Options.%s may not set %q", field, k)
		}
		out[k] = slices.Clone(v)
	}
	return out, nil
}

func validCookieName(name string) bool {
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return name != ""
}

// defaultHTTPClient fails fast on an unreachable or hanging provider. It
// starts from http.DefaultTransport: a clone with short dial, TLS and
// header timeouts when it is an *http.Transport, or, when the application
// has replaced it (otelhttp does), that transport as it is, bounded by the
// client's overall timeout.
func defaultHTTPClient() *http.Client {
	c := &http.Client{Transport: http.DefaultTransport, Timeout: 10 * time.Second}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t := dt.Clone()
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = 5 * time.Second
		t.ResponseHeaderTimeout = 10 * time.Second
		t.MaxIdleConnsPerHost = 16
		c.Transport = t
	}
	return c
}
