package oidctest

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultClientID and DefaultClientSecret identify the client that a
// zero [Config] registers.
const (
	DefaultClientID     = "oidcmw-test"
	DefaultClientSecret = "oidcmw-test-secret"
)

// DefaultACR is the acr claim of ID tokens when neither the authorization
// request's acr_values nor [Config.ACR] name one.
const DefaultACR = "urn:oidcmw:acr:pwd"

// Config configures a [Server]. The zero value is a working provider with
// one confidential client ([DefaultClientID]) and one user ([DefaultUser]).
type Config struct {
	// Clients are registered at start. Default: one client with
	// DefaultClientID and DefaultClientSecret, client_secret_basic, any
	// redirect URI.
	Clients []Client
	// User is auto-approved at the authorization endpoint. Default:
	// DefaultUser().
	User User
	// Alg signs ID tokens: "RS256" (default), "PS256", "ES256" or "EdDSA".
	// Any other value makes NewServer panic.
	Alg string
	// Now is the clock for iat, exp, auth_time and code and token expiry.
	// Default: time.Now.
	Now func() time.Time
	// AccessTokenLifetime is the access token's expires_in. Default: 1h.
	AccessTokenLifetime time.Duration
	// IDTokenLifetime is exp - iat of ID tokens. Default: 1h.
	IDTokenLifetime time.Duration
	// DisableIssParameter makes discovery say
	// authorization_response_iss_parameter_supported=false and leaves iss
	// out of authorization responses, a legitimate configuration. Default:
	// supported and sent (RFC 9207).
	DisableIssParameter bool
	// LoginHintSelectsUser makes a login_hint in the authorization request
	// sign in the user with that Subject (and the configured user's other
	// claims), so that a load test can log in many users at once. Default:
	// login_hint is ignored.
	LoginHintSelectsUser bool
	// ACR is the acr claim of ID tokens when the authorization request has
	// no acr_values. Default: "urn:oidcmw:acr:pwd".
	ACR string
	// RotateRefreshTokens makes every refresh grant return a new
	// refresh_token and invalidate the one it used (a second use gets
	// invalid_grant). Default: refresh tokens are not rotated.
	RotateRefreshTokens bool
	// HTTPClient sends back-channel logout requests. Default: a client with
	// a 10-second timeout.
	HTTPClient *http.Client
	// Profile makes the server imitate a real provider: its recorded
	// discovery document, issuer and endpoint paths, and its documented
	// quirks (see [Profile]). The default client then registers with the
	// provider's default token endpoint auth method, and
	// DisableIssParameter stays meaningful only for providers that send
	// iss. Default: none, the plain server described above. Any unknown
	// value makes NewServer panic.
	Profile Profile
	// RequirePAR makes discovery say require_pushed_authorization_requests
	// and the authorization endpoint refuse requests without a request_uri
	// from the PAR endpoint (RFC 9126 §5), for every client. Default: PAR
	// is optional (see [Client.RequirePAR]).
	RequirePAR bool
	// RequireSignedRequestObject makes discovery say
	// require_signed_request_object and the authorization and PAR endpoints
	// refuse requests without a signed request object (RFC 9101 §10.5).
	// Default: request objects are optional.
	RequireSignedRequestObject bool
	// JARM makes the authorization endpoint accept the JWT Secured
	// Authorization Response Mode (response_mode jwt, query.jwt and
	// form_post.jwt) and discovery list them. Default: they are refused
	// with invalid_request, as any unknown response_mode.
	JARM bool
	// DPoPNonce makes the token endpoint require a server nonce in DPoP
	// proofs (RFC 9449 §8): a proof without the current nonce gets 400
	// use_dpop_nonce and the nonce in the DPoP-Nonce header. The nonce
	// changes after 10 uses and on [Server.RotateDPoPNonce]. Default: no
	// nonce is required.
	DPoPNonce bool
	// DistinctKeys gives the server a signing key of its own. Default:
	// servers with the same Alg share one key, generated once per process,
	// so that many servers start fast; set DistinctKeys when a test runs
	// several providers and must tell their signatures apart.
	DistinctKeys bool
}

// Client is a registered OAuth client.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs are compared exactly. Empty: any absolute http or https
	// URL without a fragment is accepted (the token request must still
	// repeat the authorization request's redirect_uri exactly).
	RedirectURIs []string
	// AuthMethod at the token, revocation and PAR endpoints:
	// "client_secret_basic", "client_secret_post", "none",
	// "client_secret_jwt" (an HS256 assertion keyed with Secret, which
	// must then be at least 32 bytes) or "private_key_jwt" (an assertion
	// signed with a key in JWKS) (RFC 7523, OpenID Connect Core §9).
	// Default: client_secret_basic when Secret is set, else none.
	AuthMethod string
	// JWKS holds the client's public keys (RSA, ECDSA P-256 or Ed25519):
	// they verify private_key_jwt assertions and request objects.
	// Private keys are reduced to their public part. Required for
	// private_key_jwt. Default: none.
	JWKS *jose.JSONWebKeySet
	// RequirePAR makes the authorization endpoint refuse this client's
	// requests without a request_uri from the PAR endpoint, as
	// [Config.RequirePAR] does for all clients. Default false.
	RequirePAR bool
	// IDTokenEncryption, when set, encrypts the client's ID tokens after
	// signing them (a nested JWT, OpenID Connect Core §10.2). Default: nil,
	// ID tokens are only signed.
	IDTokenEncryption *Encryption
	// BackchannelLogoutURI receives logout tokens when the end user's OP
	// session ends at the end_session endpoint (OpenID Connect Back-Channel
	// Logout 1.0 §2.2). Default: none, the client is not notified.
	BackchannelLogoutURI string
	// PostLogoutRedirectURIs are compared exactly with the
	// post_logout_redirect_uri of logout requests. Empty: any absolute http
	// or https URL is accepted.
	PostLogoutRedirectURIs []string
}

// Encryption says how to encrypt a JWT for a client (JWE, RFC 7516).
type Encryption struct {
	// Alg is the key management algorithm: "RSA-OAEP", "RSA-OAEP-256",
	// "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW" or "ECDH-ES+A256KW".
	Alg string
	// Enc is the content encryption: "A128GCM", "A192GCM", "A256GCM",
	// "A128CBC-HS256", "A192CBC-HS384" or "A256CBC-HS512".
	Enc string
	// Key is the client's public encryption key; its kid, if any, goes
	// into the JWE header.
	Key *jose.JSONWebKey
}

func (c Client) authMethod() string {
	switch {
	case c.AuthMethod != "":
		return c.AuthMethod
	case c.Secret != "":
		return "client_secret_basic"
	}
	return "none"
}

// User is the end user the server authenticates without asking.
type User struct {
	Subject string
	// Claims are added to ID tokens and userinfo responses (name, email,
	// ...). They cannot override protocol claims such as iss or sub.
	Claims map[string]any
}

// DefaultUser returns alice: subject "alice", name "Alice Example", email
// "alice@example.com", email_verified true.
func DefaultUser() User {
	return User{Subject: "alice", Claims: map[string]any{
		"name":           "Alice Example",
		"email":          "alice@example.com",
		"email_verified": true,
	}}
}

func (u User) clone() User {
	u.Claims = maps.Clone(u.Claims)
	return u
}

// Server is an OpenID Provider listening on a loopback address, for tests.
// It implements the authorization code flow with PKCE, refresh tokens,
// userinfo, RP-initiated and back-channel logout and revocation, JWT
// client authentication, PAR, request objects, JARM, DPoP, encrypted ID
// tokens and resource indicators, and can be switched to misbehave (see
// [Behavior]). All methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234, without
	// a trailing slash, and its issuer unless [Config.Profile] is set (see
	// [Server.Issuer] and [Server.Authority]). It is empty until Start.
	URL string

	ts            *httptest.Server
	mux           *http.ServeMux
	closed        chan struct{}
	closeOnce     sync.Once
	now           func() time.Time
	alg           string
	accessTTL     time.Duration
	idTTL         time.Duration
	sendIss       bool
	acr           string
	rotate        bool
	hintUser      bool // login_hint selects the subject
	requirePAR    bool
	requireSigned bool // signed request objects required
	jarm          bool
	dpopNonceOn   bool
	profile       Profile
	hc            *http.Client
	onHang        func() // test hook: a hang behaviour started waiting

	mu        sync.Mutex
	base      string
	issuer    string            // discovery's issuer (a template for ProfileEntraMultiTenant)
	authority string            // where discovery is served
	paths     map[string]string // profile endpoint path -> handler path; nil without a profile
	consented map[string]bool   // ProfileGoogle: client and subject that got a refresh token
	clients   map[string]Client
	user      User
	key       *signingKey
	pastKeys  []*signingKey // rotated out; still accepted in id_token_hint
	behaviors []Behavior
	codes     map[string]*grant
	access    map[string]accessToken
	refresh   map[string]*session
	revoked   map[string]bool
	logins    map[string]*opSession // by subject
	results   []BackchannelResult
	requests  []Request
	pushed    map[string]*pushedRequest // PAR request_uri -> request
	seenJTI   map[string]time.Time      // client assertions and DPoP proofs: replay cache -> until
	dpopNonce string
	nonceUses int // times dpopNonce was accepted
}

// NewServer starts and returns a new Server. The caller should call Close
// when finished.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer returns a new Server listening on 127.0.0.1:0 but not
// yet serving; URL is empty until Start. It panics if cfg.Alg is not
// supported.
func NewUnstartedServer(cfg Config) *Server {
	s := &Server{
		closed:        make(chan struct{}),
		now:           cfg.Now,
		alg:           cfg.Alg,
		accessTTL:     cfg.AccessTokenLifetime,
		idTTL:         cfg.IDTokenLifetime,
		sendIss:       !cfg.DisableIssParameter,
		acr:           cfg.ACR,
		hintUser:      cfg.LoginHintSelectsUser,
		rotate:        cfg.RotateRefreshTokens,
		profile:       cfg.Profile,
		requirePAR:    cfg.RequirePAR,
		requireSigned: cfg.RequireSignedRequestObject,
		jarm:          cfg.JARM,
		dpopNonceOn:   cfg.DPoPNonce,
		pushed:        map[string]*pushedRequest{},
		seenJTI:       map[string]time.Time{},
		dpopNonce:     randomToken(),
		consented:     map[string]bool{},
		hc:            cfg.HTTPClient,
		clients:       map[string]Client{},
		user:          cfg.User.clone(),
		codes:         map[string]*grant{},
		access:        map[string]accessToken{},
		refresh:       map[string]*session{},
		revoked:       map[string]bool{},
		logins:        map[string]*opSession{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.alg == "" {
		s.alg = "RS256"
	}
	if !supportedAlg(s.alg) {
		panic(fmt.Sprintf("oidctest: unsupported Alg %q", s.alg))
	}
	if s.acr == "" {
		s.acr = DefaultACR
	}
	defaultAuth := ""
	if s.profile != "" {
		p, ok := profiles[s.profile]
		if !ok {
			panic(fmt.Sprintf("oidctest: unknown Profile %q", s.profile))
		}
		s.sendIss = s.sendIss && p.sendIss
		s.rotate = s.rotate || p.rotate
		defaultAuth = p.authMethod
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: backchannelTimeout}
	}
	if s.accessTTL <= 0 {
		s.accessTTL = time.Hour
	}
	if s.idTTL <= 0 {
		s.idTTL = time.Hour
	}
	if s.user.Subject == "" && s.user.Claims == nil {
		s.user = DefaultUser()
	}
	clients := cfg.Clients
	if len(clients) == 0 {
		clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, AuthMethod: defaultAuth}}
	}
	for _, c := range clients {
		s.clients[c.ID] = cloneClient(c)
	}
	s.key = cachedKey(s.alg, 0)
	if cfg.DistinctKeys {
		s.key = newSigningKey(s.alg)
	}
	s.mux = s.routes()
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	return s
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	mux.HandleFunc("POST /userinfo", s.userinfo)
	mux.HandleFunc("GET /end_session", s.endSession)
	mux.HandleFunc("POST /end_session", s.endSession)
	mux.HandleFunc("POST /revoke", s.revoke)
	mux.HandleFunc("POST /par", s.par)
	return mux
}

// Start starts a server from NewUnstartedServer and sets URL.
func (s *Server) Start() {
	s.ts.Start()
	s.mu.Lock()
	s.base = s.ts.URL
	s.startProfileLocked()
	s.mu.Unlock()
	s.URL = s.ts.URL
}

// Close releases handlers held by hang behaviours, then shuts the server
// down and blocks until all outstanding requests have completed.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.ts.Close()
}

// Client returns an HTTP client for the server (nil before Start).
func (s *Server) Client() *http.Client {
	return s.ts.Client()
}

// Issuer returns the issuer the discovery document advertises: URL, or the
// profile's issuer with [Config.Profile] (for ProfileEntraMultiTenant the
// template URL + "/{tenantid}/v2.0"), unless a behaviour such as
// [DiscoveryIssuerMismatch] changes it.
func (s *Server) Issuer() string {
	iss, _ := s.discoveryDoc(s.env(""))["issuer"].(string)
	return iss
}

// Authority returns the URL a relying party is configured with, whose
// /.well-known/openid-configuration (after removing a trailing slash) is
// the discovery document: URL without a profile, the profile's issuer
// with one (Auth0's ends in a slash), and URL + "/organizations/v2.0" for
// ProfileEntraMultiTenant. Empty before Start.
func (s *Server) Authority() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authority
}

// AddClient registers c, replacing a client with the same ID. Like
// NewServer, it panics on a client it cannot serve: client_secret_jwt
// with a Secret shorter than 32 bytes, private_key_jwt without JWKS, or
// an IDTokenEncryption that go-jose cannot encrypt with.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = cloneClient(c)
}

// SetUser sets the user for subsequent authorizations. Codes and tokens
// already issued keep their user.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u.clone()
}

func cloneClient(c Client) Client {
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	c.PostLogoutRedirectURIs = append([]string(nil), c.PostLogoutRedirectURIs...)
	if c.JWKS != nil {
		set := &jose.JSONWebKeySet{}
		for _, k := range c.JWKS.Keys {
			set.Keys = append(set.Keys, k.Public())
		}
		c.JWKS = set
	}
	if c.IDTokenEncryption != nil {
		enc := *c.IDTokenEncryption
		if enc.Key != nil {
			k := enc.Key.Public()
			enc.Key = &k
		}
		c.IDTokenEncryption = &enc
	}
	if err := checkClient(c); err != nil {
		panic("oidctest: client " + c.ID + ": " + err.Error())
	}
	return c
}

// env is the per-request view of the server that handlers and behaviour
// hooks work with.
type env struct {
	now      time.Time
	base     string // the server's URL
	issuer   string
	nonce    string // refresh grants: the nonce of the original authorization
	clientID string
	grant    string // grant_type of a token request, else ""
	key      *signingKey
	hooks    []hooks
	closed   <-chan struct{}
	onHang   func()
}

func (s *Server) env(clientID string) *env {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &env{
		now:      s.now(),
		base:     s.base,
		issuer:   s.issuer,
		clientID: clientID,
		key:      s.key,
		closed:   s.closed,
		onHang:   s.onHang,
	}
	for _, b := range s.behaviors {
		e.hooks = append(e.hooks, behaviors[b])
	}
	return e
}
