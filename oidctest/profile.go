package oidctest

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Profile names a real provider that the server imitates when
// [Config.Profile] is set: it serves the provider's discovery document,
// recorded from its public documentation, at the provider's issuer
// shape, answers at the endpoint paths that document names, and switches
// on the provider's documented quirks. The package documentation lists
// them (# Provider profiles); each constant's comment cites its sources.
//
// Every host in a recorded document (login.microsoftonline.com and
// graph.microsoft.com, accounts.google.com and *.googleapis.com, ...) is
// the server's own URL. The zero Profile is the plain server.
type Profile string

const (
	// ProfileKeycloak: issuer URL + "/realms/demo", endpoints under
	// /protocol/openid-connect. Sends the RFC 9207 iss parameter. Every
	// code grant returns a refresh token ("Use refresh tokens" is on by
	// default); refreshed ID tokens carry no nonce (Keycloak 25 and later;
	// switch on [RefreshRepeatsNonce] for older Keycloak or the "Nonce
	// backwards compatible" mapper). ID tokens carry sid and auth_time.
	//
	// https://www.keycloak.org/securing-apps/oidc-layers (endpoints),
	// https://www.keycloak.org/docs/latest/upgrading/#nonce-claim-is-only-added-to-the-id-token,
	// https://www.keycloak.org/docs/latest/server_admin/ (client advanced
	// settings: "Exclude Issuer From Authentication Response", "Use refresh tokens").
	ProfileKeycloak Profile = "keycloak"

	// ProfileEntra: Microsoft Entra ID, single tenant: issuer URL + "/" +
	// [EntraTenantID] + "/v2.0". No iss parameter, no revocation endpoint,
	// no back-channel logout. A refresh token only with scope
	// offline_access. ID tokens carry tid, oid and ver "2.0", no azp, no
	// auth_time (an optional claim), and no email or email_verified (email
	// is an optional claim for managed users): the email comes from the
	// UserInfo endpoint (graph.microsoft.com/oidc/userinfo).
	//
	// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc,
	// https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference,
	// https://learn.microsoft.com/entra/identity-platform/optional-claims-reference,
	// https://learn.microsoft.com/entra/identity-platform/scopes-oidc#offline_access,
	// https://learn.microsoft.com/entra/identity-platform/userinfo.
	ProfileEntra Profile = "entra"

	// ProfileEntraMultiTenant: as ProfileEntra, but the relying party uses
	// URL + "/organizations/v2.0" ([Server.Authority]), whose discovery
	// document names the issuer template URL + "/{tenantid}/v2.0". ID
	// tokens carry the user's tenant in tid (the user's "tid" claim, else
	// EntraTenantID) and iss is the template with that tid.
	//
	// https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant
	// ("Update your code to handle multiple issuer values").
	ProfileEntraMultiTenant Profile = "entra-multitenant"

	// ProfileOkta: an Okta custom authorization server, issuer URL +
	// "/oauth2/default", endpoints under /v1. No iss parameter. A refresh
	// token only with scope offline_access (and the Refresh Token grant
	// enabled for the app). ID tokens carry auth_time.
	//
	// https://developer.okta.com/docs/reference/api/oidc/ (well-known
	// openid-configuration, /authorize, "Refresh tokens"),
	// https://developer.okta.com/docs/guides/refresh-tokens/main/.
	ProfileOkta Profile = "okta"

	// ProfileAuth0: issuer URL + "/", with the trailing slash, as Auth0
	// writes it. The end_session_endpoint (/oidc/logout) is in discovery:
	// "RP-Initiated Logout End Session Endpoint Discovery" is on by default
	// for tenants created after 14 November 2023 (older tenants lack it).
	// No iss parameter. The default client authenticates with
	// client_secret_post, Auth0's default for regular web apps. A refresh
	// token only with scope offline_access. ID tokens carry auth_time only
	// when max_age was requested.
	//
	// https://auth0.com/docs/authenticate/login/logout/log-users-out-of-auth0,
	// https://auth0.com/docs/secure/tokens/refresh-tokens/get-refresh-tokens,
	// https://auth0.com/docs/get-started/applications/application-settings
	// (Token Endpoint Authentication Method),
	// https://auth0.com/docs/authenticate/login/max-age-reauthentication.
	ProfileAuth0 Profile = "auth0"

	// ProfileGoogle: issuer URL (Google's is https://accounts.google.com).
	// No end_session_endpoint, no iss parameter. A refresh token only with
	// access_type=offline, and only for the user's first authorization of
	// the client unless prompt=consent asks again. ID tokens carry azp but
	// no auth_time, acr or sid.
	//
	// https://developers.google.com/identity/openid-connect/openid-connect
	// (discovery document, "An ID token's payload", "Refresh tokens"),
	// https://developers.google.com/identity/protocols/oauth2/web-server#offline.
	ProfileGoogle Profile = "google"

	// ProfileDex: issuer URL + "/dex". No end_session_endpoint, no
	// revocation endpoint, no iss parameter. A refresh token only with
	// scope offline_access; refresh tokens are rotated, and refreshed ID
	// tokens repeat the original nonce. ID tokens carry no auth_time, acr,
	// sid or azp.
	//
	// https://dexidp.io/docs/configuration/custom-scopes-claims-clients/,
	// https://github.com/dexidp/dex/blob/master/server/handlers.go
	// (discovery, handleRefreshToken passes refresh.Nonce to newIDToken).
	ProfileDex Profile = "dex"

	// ProfileZitadel: issuer URL. No iss parameter. A refresh token only
	// with scope offline_access. ID tokens have aud [client, project id]
	// with azp the client, and carry auth_time; profile, email, phone and
	// address claims are only in UserInfo ("User Info inside ID Token" is
	// off by default).
	//
	// https://zitadel.com/docs/apis/openidoauth/endpoints,
	// https://zitadel.com/docs/apis/openidoauth/claims,
	// https://zitadel.com/docs/apis/openidoauth/scopes.
	ProfileZitadel Profile = "zitadel"
)

// EntraTenantID is the tenant (tid) of the Entra ID profiles: the one of
// the single-tenant issuer, and the default user's under
// ProfileEntraMultiTenant.
const EntraTenantID = "4a7c9f0e-2b1d-4c3e-9f8a-6d5e4c3b2a10"

// Profiles returns every profile, sorted, for table tests.
func Profiles() []Profile {
	return slices.Sorted(func(yield func(Profile) bool) {
		for p := range profiles {
			if !yield(p) {
				return
			}
		}
	})
}

//go:embed testdata/providers/*.json
var providerDocs embed.FS

// authTimeRule says when ID tokens carry auth_time.
type authTimeRule int

const (
	authTimeAlways     authTimeRule = iota
	authTimeWithMaxAge              // only when the authorization request had max_age
	authTimeNever
)

// refreshRule says which code grants return a refresh token.
type refreshRule int

const (
	refreshAlways        refreshRule = iota
	refreshOfflineAccess             // scope offline_access
	refreshGoogle                    // access_type=offline, first consent or prompt=consent
)

// tenantRule says how ID tokens name an Entra tenant.
type tenantRule int

const (
	tenantNone     tenantRule = iota
	tenantFixed               // tid EntraTenantID; iss fixed
	tenantTemplate            // tid the user's; iss the {tenantid} template with it
)

// profile is what a Profile switches on.
type profile struct {
	authority    string // where discovery is served, with {base}; "" = the issuer
	sendIss      bool   // RFC 9207 iss parameter
	authMethod   string // the default client's token endpoint auth method
	refresh      refreshRule
	rotate       bool // refresh tokens are rotated
	repeatNonce  bool // refreshed ID tokens repeat the nonce
	authTime     authTimeRule
	drop         []string // protocol claims never in ID tokens
	userinfoOnly []string // user claims never in ID tokens, only in UserInfo
	extraAud     string   // a second audience, next to the client
	tenant       tenantRule
}

// scopeClaims are the claims of the profile, email, address and phone
// scopes (OpenID Connect Core §5.4).
var scopeClaims = []string{"name", "family_name", "given_name", "middle_name", "nickname",
	"preferred_username", "profile", "picture", "website", "gender", "birthdate", "zoneinfo",
	"locale", "updated_at", "email", "email_verified", "address", "phone_number",
	"phone_number_verified"}

// entraObjectID is the oid of users without an "oid" claim.
const entraObjectID = "b8f3d2c1-7e6a-4f5b-9c8d-1a2b3c4d5e6f"

// zitadelProjectID is the project that Zitadel ID tokens name in aud.
const zitadelProjectID = "259254316245721109"

// profiles is the profile table. Adding one is a constant above with its
// sources, a JSON document in testdata/providers, an entry here, a row in
// doc.go and a case in profile_test.go.
var profiles = map[Profile]profile{
	ProfileKeycloak: {sendIss: true},
	ProfileEntra: {refresh: refreshOfflineAccess, authTime: authTimeNever, drop: []string{"azp"},
		userinfoOnly: []string{"email", "email_verified"}, tenant: tenantFixed},
	ProfileEntraMultiTenant: {authority: "{base}/organizations/v2.0", refresh: refreshOfflineAccess,
		authTime: authTimeNever, drop: []string{"azp"},
		userinfoOnly: []string{"email", "email_verified"}, tenant: tenantTemplate},
	ProfileOkta:  {refresh: refreshOfflineAccess},
	ProfileAuth0: {authMethod: "client_secret_post", refresh: refreshOfflineAccess, authTime: authTimeWithMaxAge},
	ProfileGoogle: {refresh: refreshGoogle, authTime: authTimeNever,
		drop: []string{"acr", "sid"}},
	ProfileDex: {refresh: refreshOfflineAccess, rotate: true, repeatNonce: true,
		authTime: authTimeNever, drop: []string{"acr", "sid", "azp"}},
	ProfileZitadel: {refresh: refreshOfflineAccess, userinfoOnly: scopeClaims,
		extraAud: zitadelProjectID},
}

// endpointRoutes maps discovery metadata to the server's own handlers.
var endpointRoutes = map[string]string{
	"authorization_endpoint": "/authorize",
	"token_endpoint":         tokenPath,
	"userinfo_endpoint":      "/userinfo",
	"jwks_uri":               jwksPath,
	"end_session_endpoint":   "/end_session",
	"revocation_endpoint":    "/revoke",
}

// profileDoc returns the recorded discovery document of p with {base}
// replaced by base.
func profileDoc(p Profile, base string) map[string]any {
	b, err := providerDocs.ReadFile("testdata/providers/" + string(p) + ".json")
	if err != nil {
		panic(fmt.Sprintf("oidctest: no discovery document for profile %q", p))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), "{base}", base)), &doc); err != nil {
		panic(fmt.Sprintf("oidctest: discovery document of profile %q: %v", p, err))
	}
	for k, v := range doc {
		if list, ok := v.([]any); ok {
			ss := make([]string, 0, len(list))
			for _, x := range list {
				s, _ := x.(string)
				ss = append(ss, s)
			}
			doc[k] = ss
		}
	}
	return doc
}

// startProfileLocked sets the issuer, the authority and the routes of a profile
// server once its base URL is known. s.mu must be held.
func (s *Server) startProfileLocked() {
	if s.profile == "" {
		s.issuer, s.authority = s.base, s.base
		return
	}
	doc := profileDoc(s.profile, s.base)
	s.issuer, _ = doc["issuer"].(string)
	s.authority = s.issuer
	if a := profiles[s.profile].authority; a != "" {
		s.authority = strings.ReplaceAll(a, "{base}", s.base)
	}
	s.paths = map[string]string{}
	if u, err := url.Parse(s.authority); err == nil {
		s.paths[strings.TrimSuffix(u.Path, "/")+discoveryPath] = discoveryPath
	}
	for key, canonical := range endpointRoutes {
		if v, _ := doc[key].(string); v != "" {
			if u, err := url.Parse(v); err == nil {
				s.paths[u.Path] = canonical
			}
		}
	}
}

// profileDiscoveryDoc is the discovery document of a profile server.
func (s *Server) profileDiscoveryDoc(e *env) map[string]any {
	doc := profileDoc(s.profile, e.base)
	if _, ok := doc["authorization_response_iss_parameter_supported"]; ok {
		doc["authorization_response_iss_parameter_supported"] = s.sendIss
	}
	const algs = "id_token_signing_alg_values_supported"
	if list, _ := doc[algs].([]string); !slices.Contains(list, e.key.alg) {
		doc[algs] = append(list, e.key.alg)
	}
	return doc
}

// profileClaims edits the claims of an ID token for the server's profile.
func (s *Server) profileClaims(e *env, sess *session, claims map[string]any) {
	if s.profile == "" {
		return
	}
	p := profiles[s.profile]
	for _, k := range p.drop {
		delete(claims, k)
	}
	for _, k := range p.userinfoOnly {
		delete(claims, k)
	}
	switch {
	case p.authTime == authTimeNever, p.authTime == authTimeWithMaxAge && !sess.maxAge:
		delete(claims, "auth_time")
	}
	if p.extraAud != "" {
		claims["aud"] = []string{sess.clientID, p.extraAud}
	}
	if p.tenant != tenantNone {
		tid := EntraTenantID
		if v, ok := sess.user.Claims["tid"].(string); ok && v != "" && p.tenant == tenantTemplate {
			tid = v
		}
		claims["tid"] = tid
		claims["iss"] = strings.Replace(e.issuer, tenantPlaceholder, tid, 1)
		if _, ok := claims["oid"]; !ok {
			claims["oid"] = entraObjectID
		}
		claims["ver"] = "2.0"
	}
	if p.repeatNonce && e.grant == refreshGrant && e.nonce != "" {
		claims["nonce"] = e.nonce
	}
}

// tenantPlaceholder is Entra's placeholder in multi-tenant issuers.
const tenantPlaceholder = "{tenantid}"

// issuerMatches reports whether iss is an issuer of this server: its
// issuer, or for a tenant template the template with some tenant.
func (e *env) issuerMatches(iss string) bool {
	prefix, suffix, ok := strings.Cut(e.issuer, tenantPlaceholder)
	if !ok {
		return iss == e.issuer
	}
	return len(iss) > len(prefix)+len(suffix) && strings.HasPrefix(iss, prefix) &&
		strings.HasSuffix(iss, suffix) && !strings.Contains(iss[len(prefix):len(iss)-len(suffix)], "/")
}

// profileWithholdsRefreshLocked reports whether the profile keeps the refresh
// token from the code grant g, and records a Google consent. s.mu must be
// held.
func (s *Server) profileWithholdsRefreshLocked(g *grant) bool {
	if s.profile == "" {
		return false
	}
	switch profiles[s.profile].refresh {
	case refreshOfflineAccess:
		return !hasScope(g.scope, "offline_access")
	case refreshGoogle:
		if g.accessType != "offline" {
			return true
		}
		key := g.clientID + " " + g.user.Subject
		first := !s.consented[key]
		s.consented[key] = true
		return !first && !hasScope(g.prompt, "consent")
	}
	return false
}
