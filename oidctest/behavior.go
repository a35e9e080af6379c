package oidctest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Behavior names a way for the server to misbehave, switched on with
// [Server.Misbehave]. Values are named after the OpenID conformance suite's
// RP test modules where one exists. The package documentation lists what
// each one does and what a correct relying party must do.
type Behavior string

// ID token behaviours.
const (
	WrongIssuer        Behavior = "invalid-iss"              // iss is the issuer + "/other"
	WrongAudience      Behavior = "invalid-aud"              // aud is "someone-else"
	ExtraAudienceNoAzp Behavior = "secondary-aud"            // aud is [client, "someone-else"], no azp
	WrongAzp           Behavior = "invalid-azp"              // aud is [client, "someone-else"], azp "someone-else"
	WrongNonce         Behavior = "nonce-invalid"            // nonce is a random other value
	MissingNonce       Behavior = "missing-nonce"            // no nonce
	MissingSub         Behavior = "missing-sub"              // no sub
	MissingIat         Behavior = "missing-iat"              // no iat
	FutureIat          Behavior = "iat-in-future"            // iat is an hour ahead
	Expired            Behavior = "expired-exp"              // exp an hour ago, iat two hours ago
	MissingExp         Behavior = "missing-exp"              // no exp
	FutureNbf          Behavior = "nbf-in-future"            // nbf an hour ahead
	MissingAuthTime    Behavior = "missing-auth-time"        // no auth_time
	OldAuthTime        Behavior = "old-auth-time"            // auth_time two hours ago
	InvalidSignature   Behavior = "invalid-sig"              // real kid, signed by an unrelated key
	UnrelatedKey       Behavior = "unrelated-key"            // signed by a key whose kid is not in the JWKS
	AlgNone            Behavior = "null-alg"                 // alg "none", empty signature
	HS256PublicKey     Behavior = "invalid-sig-hs256"        // alg HS256 keyed with the public key PEM
	KidAbsent          Behavior = "kid-absent-single-jwks"   // no kid; the JWKS holds one key
	KidAbsentMultiple  Behavior = "kid-absent-multiple-jwks" // no kid; the JWKS holds a second key of the same type
	AlternateAlg       Behavior = "alternate-alg"            // an RSA key signs PS256 where RS256 is advertised, and the reverse
	AudAsArray         Behavior = "valid-aud-as-array"       // aud is [client], an array of one
	MissingAud         Behavior = "missing-aud"              // no aud
)

// Authorization response behaviours.
const (
	WrongIssParam  Behavior = "invalid-authorization-response-iss" // iss parameter is the issuer + "/other"
	RemoveIssParam Behavior = "remove-authorization-response-iss"  // no iss parameter, though advertised
	WrongState     Behavior = "invalid-state"                      // state is a random other value
	MissingState   Behavior = "missing-state"                      // no state
	AccessDenied   Behavior = "access-denied"                      // error=access_denied instead of a code
)

// Token endpoint behaviours.
const (
	TokenServerError    Behavior = "token-500"                     // 500 with an HTML body
	TokenNotJSON        Behavior = "token-not-json"                // 200 with an HTML body
	TokenHang           Behavior = "token-hang"                    // no answer until the client gives up or Close
	TokenTypeLowercase  Behavior = "token-type-case-insensitivity" // token_type "bearer"
	TokenTypeWrong      Behavior = "token-type-mac"                // token_type "MAC"
	TokenMissingIDToken Behavior = "token-missing-id-token"        // no id_token
	TokenUnavailable    Behavior = "token-503-oauth-error"         // 503 with error=temporarily_unavailable
	TokenExpiresInZero  Behavior = "token-expires-in-0"            // expires_in 0
	TokenNoExpiresIn    Behavior = "token-no-expires-in"           // no expires_in
)

// Refresh behaviours. They affect grant_type=refresh_token requests only;
// authorization code redemption is unchanged.
const (
	RefreshInvalidSub    Behavior = "refresh-token-invalid-sub"    // refreshed ID token's sub is sub + "-other"
	RefreshInvalidIssuer Behavior = "refresh-token-invalid-issuer" // refreshed ID token's iss is the issuer + "/other"
	RefreshNoIDToken     Behavior = "refresh-no-id-token"          // refresh response without id_token
	RefreshInvalidGrant  Behavior = "refresh-invalid-grant"        // refresh grants get 400 invalid_grant
	RefreshHang          Behavior = "refresh-hang"                 // refresh grants get no answer until the client gives up or Close
	RefreshServerError   Behavior = "refresh-500"                  // refresh grants get 500 with an HTML body
	// RefreshRepeatsNonce makes refreshed ID tokens repeat the nonce of the
	// original authorization request, as Keycloak before 25 (or with its
	// "Nonce backwards compatible" mapper) and Dex do. OpenID Connect Core
	// §12.2 allows it: a nonce, if present, must be the original one.
	RefreshRepeatsNonce Behavior = "refresh-repeats-nonce"
	// OfflineAccessNeedsConsent makes the code grant return a refresh_token
	// only when the authorization request had scope offline_access and
	// prompt=consent, as node oidc-provider does. Without it every code
	// grant returns one.
	OfflineAccessNeedsConsent Behavior = "offline-access-needs-consent"
)

// UserInfo behaviours.
const (
	UserinfoInvalidSub Behavior = "userinfo-invalid-sub" // userinfo's sub is sub + "-other"
)

// Discovery and JWKS behaviours.
const (
	DiscoveryIssuerMismatch Behavior = "discovery-issuer-mismatch" // discovery issuer is URL + "/other"
	DiscoveryDown           Behavior = "discovery-500"             // discovery answers 500
	JWKSDown                Behavior = "jwks-500"                  // JWKS answers 500
	DiscoveryHang           Behavior = "discovery-hang"            // discovery never answers
	// AdvertiseWeakAlgs adds "none" and "HS256" to
	// id_token_signing_alg_values_supported; combine it with AlgNone or
	// HS256PublicKey to check the RP keeps its own allow-list.
	AdvertiseWeakAlgs Behavior = "discovery-advertises-none-hs256"
)

// JARM behaviours. They change the JWT of JWT Secured Authorization
// Responses (response_mode jwt, query.jwt and form_post.jwt, with
// [Config.JARM]); the parameters inside are unchanged.
const (
	JARMInvalidSignature Behavior = "jarm-invalid-sig" // real kid, signed by an unrelated key
	JARMWrongAudience    Behavior = "jarm-invalid-aud" // aud is "someone-else"
	JARMExpired          Behavior = "jarm-expired"     // exp an hour ago
	JARMWrongIssuer      Behavior = "jarm-invalid-iss" // iss is the issuer + "/other"
)

// DPoP behaviours.
const (
	// DPoPNonceLoop answers every token request with 400 use_dpop_nonce
	// and a new DPoP-Nonce that is never accepted.
	DPoPNonceLoop Behavior = "dpop-nonce-loop"
)

// hooks are the points where a behaviour changes the server. Every field
// is optional; hooks of all active behaviours run in Misbehave order.
type hooks struct {
	// idToken edits ID token claims before signing.
	idToken func(e *env, claims map[string]any)
	// sign edits the JWS header and chooses the signing key.
	sign func(e *env, s *jwsSpec)
	// redirect edits the authorization response parameters.
	redirect func(e *env, p url.Values)
	// tokenJSON edits a successful token response.
	tokenJSON func(e *env, body map[string]any)
	// discovery edits the discovery document.
	discovery func(e *env, doc map[string]any)
	// jwks edits the published key set.
	jwks func(e *env, set *jose.JSONWebKeySet)
	// jarm edits the claims of a JARM response and chooses its signing
	// key.
	jarm func(e *env, claims map[string]any, s *jwsSpec)
	// userinfo edits a successful UserInfo response.
	userinfo func(e *env, claims map[string]any)
	// withholdRefresh reports whether the code grant of an authorization
	// request with scope and prompt gets no refresh token.
	withholdRefresh func(scope, prompt string) bool
	// respond answers every request to path instead of the real handler
	// (failures, hangs).
	path    string
	respond func(e *env, w http.ResponseWriter, r *http.Request)
	// grant, when set, limits idToken, sign, tokenJSON and respond to
	// token requests with this grant_type.
	grant string
}

// appliesTo reports whether h applies to a token request with grant_type
// grant ("" outside the token endpoint).
func (h hooks) appliesTo(grant string) bool {
	return h.grant == "" || h.grant == grant
}

// withholdRefresh reports whether an active behaviour keeps the refresh
// token from the code grant of a request with scope and prompt.
func (e *env) withholdRefresh(scope, prompt string) bool {
	for _, h := range e.hooks {
		if h.withholdRefresh != nil && h.withholdRefresh(scope, prompt) {
			return true
		}
	}
	return false
}

const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/jwks"
	tokenPath     = "/token"
	refreshGrant  = "refresh_token"
)

// behaviors is the misbehaviour table. Adding a behaviour is a constant
// above, an entry here, a line in doc.go and a check in behavior_test.go.
var behaviors = map[Behavior]hooks{
	WrongIssuer:   {idToken: func(e *env, c map[string]any) { c["iss"] = e.issuer + "/other" }},
	WrongAudience: {idToken: func(e *env, c map[string]any) { c["aud"] = "someone-else" }},
	ExtraAudienceNoAzp: {idToken: func(e *env, c map[string]any) {
		c["aud"] = []string{e.clientID, "someone-else"}
		delete(c, "azp")
	}},
	WrongAzp: {idToken: func(e *env, c map[string]any) {
		c["aud"] = []string{e.clientID, "someone-else"}
		c["azp"] = "someone-else"
	}},
	WrongNonce:      {idToken: func(e *env, c map[string]any) { c["nonce"] = randomToken() }},
	MissingNonce:    {idToken: func(e *env, c map[string]any) { delete(c, "nonce") }},
	MissingSub:      {idToken: func(e *env, c map[string]any) { delete(c, "sub") }},
	MissingIat:      {idToken: func(e *env, c map[string]any) { delete(c, "iat") }},
	FutureIat:       {idToken: func(e *env, c map[string]any) { c["iat"] = e.now.Add(time.Hour).Unix() }},
	MissingAuthTime: {idToken: func(e *env, c map[string]any) { delete(c, "auth_time") }},
	OldAuthTime:     {idToken: func(e *env, c map[string]any) { c["auth_time"] = e.now.Add(-2 * time.Hour).Unix() }},
	MissingExp:      {idToken: func(e *env, c map[string]any) { delete(c, "exp") }},
	FutureNbf:       {idToken: func(e *env, c map[string]any) { c["nbf"] = e.now.Add(time.Hour).Unix() }},
	Expired: {idToken: func(e *env, c map[string]any) {
		c["exp"] = e.now.Add(-time.Hour).Unix()
		c["iat"] = e.now.Add(-2 * time.Hour).Unix()
	}},
	InvalidSignature: {sign: func(e *env, s *jwsSpec) { s.key = cachedKey(e.key.alg, 1).priv }},
	UnrelatedKey: {sign: func(e *env, s *jwsSpec) {
		k := cachedKey(e.key.alg, 1)
		s.key, s.kid = k.priv, k.kid
	}},
	AlgNone: {sign: func(e *env, s *jwsSpec) { s.alg, s.key, s.kid = "none", nil, "" }},
	HS256PublicKey: {sign: func(e *env, s *jwsSpec) {
		s.alg, s.key = "HS256", e.key.publicPEM()
	}},
	KidAbsent: {sign: func(e *env, s *jwsSpec) { s.kid = "" }},
	KidAbsentMultiple: {
		sign: func(e *env, s *jwsSpec) { s.kid = "" },
		jwks: func(e *env, set *jose.JSONWebKeySet) {
			set.Keys = append(set.Keys, cachedKey(e.key.alg, 1).jwk())
		},
	},
	AlternateAlg: {sign: func(e *env, s *jwsSpec) {
		switch s.alg {
		case "RS256":
			s.alg = "PS256"
		case "PS256":
			s.alg = "RS256"
		default: // not an RSA key: sign RS256 with an unrelated RSA key under the real kid
			s.alg, s.key = "RS256", cachedKey("RS256", 1).priv
		}
	}},
	AudAsArray: {idToken: func(e *env, c map[string]any) { c["aud"] = []string{e.clientID} }},
	MissingAud: {idToken: func(e *env, c map[string]any) { delete(c, "aud") }},

	WrongIssParam:  {redirect: func(e *env, p url.Values) { p.Set("iss", e.issuer+"/other") }},
	RemoveIssParam: {redirect: func(e *env, p url.Values) { p.Del("iss") }},
	WrongState:     {redirect: func(e *env, p url.Values) { p.Set("state", randomToken()) }},
	MissingState:   {redirect: func(e *env, p url.Values) { p.Del("state") }},
	AccessDenied: {redirect: func(e *env, p url.Values) {
		p.Del("code")
		p.Set("error", "access_denied")
		p.Set("error_description", "the user denied the request")
	}},

	TokenServerError:    {path: tokenPath, respond: serverError},
	TokenNotJSON:        {path: tokenPath, respond: notJSON},
	TokenHang:           {path: tokenPath, respond: hang},
	TokenTypeLowercase:  {tokenJSON: func(e *env, b map[string]any) { b["token_type"] = "bearer" }},
	TokenTypeWrong:      {tokenJSON: func(e *env, b map[string]any) { b["token_type"] = "MAC" }},
	TokenMissingIDToken: {tokenJSON: func(e *env, b map[string]any) { delete(b, "id_token") }},
	TokenUnavailable:    {path: tokenPath, respond: temporarilyUnavailable},
	TokenExpiresInZero:  {tokenJSON: func(e *env, b map[string]any) { b["expires_in"] = 0 }},
	TokenNoExpiresIn:    {tokenJSON: func(e *env, b map[string]any) { delete(b, "expires_in") }},

	RefreshInvalidSub: {grant: refreshGrant, idToken: func(e *env, c map[string]any) {
		sub, _ := c["sub"].(string)
		c["sub"] = sub + "-other"
	}},
	RefreshInvalidIssuer: {grant: refreshGrant, idToken: func(e *env, c map[string]any) { c["iss"] = e.issuer + "/other" }},
	RefreshNoIDToken:     {grant: refreshGrant, tokenJSON: func(e *env, b map[string]any) { delete(b, "id_token") }},
	RefreshInvalidGrant:  {grant: refreshGrant, path: tokenPath, respond: invalidGrant},
	RefreshRepeatsNonce: {grant: refreshGrant, idToken: func(e *env, c map[string]any) {
		if e.nonce != "" {
			c["nonce"] = e.nonce
		}
	}},
	RefreshHang:        {grant: refreshGrant, path: tokenPath, respond: hang},
	RefreshServerError: {grant: refreshGrant, path: tokenPath, respond: serverError},
	OfflineAccessNeedsConsent: {withholdRefresh: func(scope, prompt string) bool {
		return !hasScope(scope, "offline_access") || !hasScope(prompt, "consent")
	}},

	JARMInvalidSignature: {jarm: func(e *env, c map[string]any, s *jwsSpec) { s.key = cachedKey(e.key.alg, 1).priv }},
	JARMWrongAudience:    {jarm: func(e *env, c map[string]any, s *jwsSpec) { c["aud"] = "someone-else" }},
	JARMExpired:          {jarm: func(e *env, c map[string]any, s *jwsSpec) { c["exp"] = e.now.Add(-time.Hour).Unix() }},
	JARMWrongIssuer:      {jarm: func(e *env, c map[string]any, s *jwsSpec) { c["iss"] = e.issuer + "/other" }},

	DPoPNonceLoop: {path: tokenPath, respond: dpopNonceLoop},

	UserinfoInvalidSub: {userinfo: func(e *env, c map[string]any) {
		sub, _ := c["sub"].(string)
		c["sub"] = sub + "-other"
	}},

	DiscoveryIssuerMismatch: {discovery: func(e *env, d map[string]any) { d["issuer"] = e.issuer + "/other" }},
	DiscoveryDown:           {path: discoveryPath, respond: serverError},
	JWKSDown:                {path: jwksPath, respond: serverError},
	DiscoveryHang:           {path: discoveryPath, respond: hang},
	AdvertiseWeakAlgs: {discovery: func(e *env, d map[string]any) {
		algs, _ := d["id_token_signing_alg_values_supported"].([]string)
		d["id_token_signing_alg_values_supported"] = append(slices.Clone(algs), "none", "HS256")
	}},
}

// Behaviors returns every known behaviour, sorted, for table tests.
func Behaviors() []Behavior {
	return slices.Sorted(func(yield func(Behavior) bool) {
		for b := range behaviors {
			if !yield(b) {
				return
			}
		}
	})
}

// Misbehave replaces the set of active behaviours with bs; Misbehave()
// switches all of them off. It panics on an unknown behaviour.
func (s *Server) Misbehave(bs ...Behavior) {
	for _, b := range bs {
		if _, ok := behaviors[b]; !ok {
			panic(fmt.Sprintf("oidctest: unknown behavior %q", b))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviors = slices.Clone(bs)
}

func serverError(e *env, w http.ResponseWriter, r *http.Request) {
	writeHTML(w, http.StatusInternalServerError, "Internal Server Error", "Something went wrong.")
}

func temporarilyUnavailable(e *env, w http.ResponseWriter, r *http.Request) {
	oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
}

func invalidGrant(e *env, w http.ResponseWriter, r *http.Request) {
	oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is no longer valid")
}

func notJSON(e *env, w http.ResponseWriter, r *http.Request) {
	writeHTML(w, http.StatusOK, "Welcome", "This is not the JSON you are looking for.")
}

// hang never answers: it returns when the client gives up or the server is
// closed, and then aborts the connection so the client sees an error, not
// an empty response.
func hang(e *env, w http.ResponseWriter, r *http.Request) {
	if e.onHang != nil {
		e.onHang()
	}
	select {
	case <-r.Context().Done():
	case <-e.closed:
	}
	panic(http.ErrAbortHandler)
}
