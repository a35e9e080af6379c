// Package oidctest provides an in-process OpenID Provider for tests,
// modelled on net/http/httptest.
//
// [NewServer] starts a provider on a loopback address. Its URL is the
// issuer (unless [Config.Profile] is set, see # Provider profiles); the
// endpoints sit below it:
//
//	/.well-known/openid-configuration  discovery (OpenID Connect Discovery 1.0)
//	/jwks                              JWK Set with the one signing key
//	/authorize                         authorization endpoint (GET or POST)
//	/token                             token endpoint
//	/userinfo                          UserInfo endpoint
//	/end_session                       RP-initiated logout, sends back-channel logout
//	/revoke                            token revocation (RFC 7009)
//	/par                               pushed authorization requests (RFC 9126)
//
// The server implements the authorization code flow only, strictly: PKCE
// with S256 is required, codes are one-time and expire after 60 seconds,
// redirect_uri must match, clients authenticate with the method they are
// registered for (secrets or JWT assertions). It approves the configured [User] without a login page
// and sends the iss authorization response parameter (RFC 9207) unless
// [Config.DisableIssParameter] is set. Every request is recorded for
// assertions ([Server.Requests], [Server.Count]).
//
// # Usage
//
//	op := oidctest.NewServer(oidctest.Config{})
//	defer op.Close()
//	// Point the relying party at op.URL with oidctest.DefaultClientID and
//	// oidctest.DefaultClientSecret, and use op.Client() or any client.
//	op.Misbehave(oidctest.WrongNonce) // the next ID token has a bad nonce
//
// For response_mode=form_post the authorization endpoint answers with an
// auto-submitting page; [ParseFormPost] extracts the form so a test can
// POST it.
//
// # OP session, sid, auth_time and acr
//
// The server keeps one OP session per user (by [User.Subject]), standing
// in for the browser cookie of a real provider. The first authorization
// authenticates: auth_time is now and the session gets a random sid.
// Later authorizations reuse both, unless prompt contains login, or
// max_age is given and now - auth_time > max_age (max_age=0 always
// re-authenticates, OpenID Connect Core §3.1.2.1): then the user
// authenticates anew, with a new auth_time and sid. prompt=none gets
// error=login_required instead of authenticating. [Server.EndUserSession]
// forgets the session without telling anyone.
//
// Every ID token carries sid and auth_time of its OP session, and acr: the
// first of the request's acr_values, else [Config.ACR], else
// [DefaultACR]. Refreshed ID tokens keep iss, sub, aud, sid, auth_time and
// acr, have a fresh iat and exp and no nonce (Core §12.2).
//
// # Refresh and revocation
//
// Every code grant returns a refresh_token (with [OfflineAccessNeedsConsent],
// only when scope had offline_access and prompt had consent). Refresh
// tokens are not rotated unless [Config.RotateRefreshTokens] is set; then
// each refresh returns a new one and the old one gets invalid_grant. The
// revocation endpoint authenticates the client, searches every token type
// whatever token_type_hint says, answers 200 even for unknown tokens, and
// revoking a refresh token also revokes the access tokens of its grant, so
// that the refresh token then gets invalid_grant and the access tokens
// invalid_token. [Server.Revoked] tells a test what was revoked.
//
// # Client authentication with JWT assertions
//
// A client registered with [Client.AuthMethod] "private_key_jwt" (its
// public keys in [Client.JWKS]: RSA, ECDSA P-256 or Ed25519) or
// "client_secret_jwt" (HS256 keyed with [Client.Secret], at least 32
// bytes) authenticates at the token, revocation and PAR endpoints with
// client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
// and a client_assertion JWT (RFC 7523 §2.2, OpenID Connect Core §9).
// The server checks the signature (by kid, else with each key), iss = sub
// = the client_id, aud containing the issuer, the token endpoint URL or
// the URL the assertion was sent to, exp in the future and at most five
// minutes after now and after iat, iat and nbf at most a minute ahead, and
// a jti not seen before. Anything else, or a second method in the same request, gets
// 401 invalid_client. Discovery lists token_endpoint_auth_signing_alg_values_supported;
// token_endpoint_auth_methods_supported gains the JWT methods once a
// registered client uses one. A correct relying party signs a fresh
// assertion (new jti, short exp) for every request. (A DPoP
// use_dpop_nonce answer comes before client authentication and does not
// use up the assertion's jti.)
//
// # Pushed authorization requests (PAR)
//
// POST /par takes the authorization request parameters (or a request
// object) with client authentication, checks them as the authorization
// endpoint would and answers 201 with a one-time request_uri
// (urn:ietf:params:oauth:request_uri:...) that expires in 60 seconds
// (RFC 9126 §2). The authorization endpoint then takes client_id and
// request_uri, and ignores every other query parameter. A request_uri
// that is unknown, used, expired or another client's gets a 400 page.
// [Config.RequirePAR] (discovery: require_pushed_authorization_requests)
// and [Client.RequirePAR] make the authorization endpoint refuse requests
// without one: with an invalid_request redirect when the redirect_uri is
// acceptable, else a 400 page. A correct relying party pushes when
// discovery requires it and sends the browser with client_id and
// request_uri only.
//
// # Request objects (JAR)
//
// The authorization and PAR endpoints accept request, a request object
// signed with a key in [Client.JWKS] or HS256 with [Client.Secret] (RFC
// 9101). Its iss and client_id must be the client (and the client_id query
// parameter), aud the issuer, exp in the future; its claims are the
// request's parameters, and the query's others are ignored (§6.3).
// String arrays become repeated parameters (resource). A refused object
// gets error=invalid_request_object (a redirect when the query's
// redirect_uri is acceptable, else a 400 page). With
// [Config.RequireSignedRequestObject] (discovery:
// require_signed_request_object) requests without one are refused; a
// pushed request object counts. Discovery says request_parameter_supported
// and lists request_object_signing_alg_values_supported.
//
// # DPoP
//
// A token request with a DPoP header (RFC 9449 §4) gets a DPoP-bound
// access token: token_type "DPoP", bound to the RFC 7638 thumbprint of the
// proof's key, and for a public client (AuthMethod "none") a bound refresh
// token, whose refresh grants then need a proof of the same key. The
// proof must be a JWS with typ dpop+jwt, an asymmetric alg of
// dpop_signing_alg_values_supported and a public jwk in the header, and
// claims jti (not seen before), htm (the method), htu (the endpoint URL;
// query and fragment are ignored), iat (at most five minutes old, one
// minute ahead) and, with [Config.DPoPNonce], the server's nonce.
// Otherwise the answer is 400 invalid_dpop_proof, or 400 use_dpop_nonce
// with the nonce in the DPoP-Nonce header; neither uses up the code, so
// the client can retry. With DPoPNonce every token response carries the
// current nonce; it changes after 10 uses and on [Server.RotateDPoPNonce].
// An authorization request's dpop_jkt, or a proof sent to the PAR
// endpoint, binds the code to that key (§10). The UserInfo endpoint takes a bound token only as "Authorization: DPoP"
// with a proof (htm, htu, ath = base64url SHA-256 of the token) of the
// bound key, and refuses it as a Bearer token (401); it asks for no
// nonce. A correct relying party keeps one key per session, sends a fresh
// proof with every token and refresh request, retries once with the nonce
// on use_dpop_nonce, and gives up after that ([DPoPNonceLoop]).
//
// # JWT Secured Authorization Response Mode (JARM)
//
// With [Config.JARM], response_mode jwt (= query.jwt, for
// response_type=code), query.jwt and form_post.jwt are accepted and in
// discovery's response_modes_supported, with
// authorization_signing_alg_values_supported. The authorization response,
// success or error, is then one parameter, response: a JWT signed with
// the server's current key with iss, aud (the client), exp (now + 10
// minutes) and the parameters (code, state and iss, or error,
// error_description, state and iss). A correct relying party verifies the
// signature against the JWKS and iss, aud and exp before reading
// anything in it ([JARMInvalidSignature], [JARMWrongIssuer],
// [JARMWrongAudience], [JARMExpired]), then checks state as usual.
// Without Config.JARM these modes get invalid_request, as before.
//
// # Encrypted ID tokens
//
// A client with [Client.IDTokenEncryption] gets ID tokens (from code and
// refresh grants) signed as usual and then encrypted to its public key: a
// nested JWT, a compact JWE with cty "JWT" and the key's kid (OpenID
// Connect Core §10.2). Discovery lists
// id_token_encryption_alg_values_supported and
// id_token_encryption_enc_values_supported. A correct relying party
// decrypts with its private key and then verifies the inner JWS as any
// ID token. At end_session, id_token_hint must be the inner, signed token.
//
// # Resource indicators
//
// The authorization and token endpoints accept resource (RFC 8707),
// repeated for several. Each must be an absolute URI without fragment,
// else invalid_target. A token request may narrow the resources of its
// authorization (or of the refresh token's), not widen them:
// invalid_target. The access token records its resources; the token
// response does not echo them. Tests see what was sent in
// [Server.Requests].
//
// # Several providers
//
// Servers are independent: each has its own URL, and so its own issuer,
// codes, tokens, sessions and replay caches. To test a relying party with
// several providers (and its defence against mix-up attacks, RFC 9207),
// start one server per provider. By default servers with the same Alg
// share one signing key per process, generated once so that many servers
// start fast; their ID tokens then differ only in iss. Set
// [Config.DistinctKeys] on each to give it a key of its own, so that a
// relying party that checks a token against the wrong provider's JWKS
// fails as it would in production.
//
//	corp := oidctest.NewServer(oidctest.Config{DistinctKeys: true})
//	social := oidctest.NewServer(oidctest.Config{DistinctKeys: true})
//
// # Discovery
//
// The discovery document of the plain server always carries the metadata
// of the extensions above (pushed_authorization_request_endpoint,
// request_parameter_supported, dpop_signing_alg_values_supported, ...);
// the lists it has always had change only when an extension is switched
// on: response_modes_supported with Config.JARM, the endpoints' auth
// methods with a client registered for a JWT method. Profiles keep their
// recorded documents and paths: /par is not served under a profile.
//
// # Logout
//
// The end_session endpoint (RP-Initiated Logout 1.0) checks
// id_token_hint, if sent: it must be an ID token this server signed, with
// its current key or one that [Server.RotateKey] replaced, and its issuer;
// expired ones are accepted. client_id, if sent with a hint, must be the
// hint's. post_logout_redirect_uri, if sent, must be one of the client's
// [Client.PostLogoutRedirectURIs] exactly, or any absolute http(s) URL when
// the client lists none. Otherwise the answer is a 400 page and nothing
// ends. With a valid hint the OP session of the hint's sub ends (whatever
// sid the hint names) and every client that got tokens in it and has a [Client.BackchannelLogoutURI] is sent a valid
// logout token with sub and sid (Back-Channel Logout 1.0 §2.5), one after
// the other, before the endpoint answers; [Server.BackchannelResults]
// holds the outcomes. Then it redirects to post_logout_redirect_uri with
// state, or shows a "signed out" page. Without a hint nothing ends: with
// no cookies the server cannot tell whose session it is.
//
// To test a relying party's back-channel logout endpoint directly, build
// tokens with [Server.LogoutToken] and post them with
// [Server.SendBackchannelLogout]. The valid token (no defect) has typ
// "logout+jwt", iss, aud, iat, exp (iat + 2 minutes), jti, the
// back-channel logout event and sub and/or sid; a correct relying party
// answers 200 and ends the matching sessions (by sid, or all of the user's
// without one). Each [LogoutTokenDefect] ([LogoutTokenDefects] lists them)
// changes one thing, and a correct relying party answers 400 to each
// (Back-Channel Logout 1.0 §2.6, §2.8):
//
//   - [LogoutAlgNone]: alg "none", empty signature.
//   - [LogoutWrongAlg]: alg HS256 keyed with the public key PEM, real kid.
//   - [LogoutBadSignature]: signed by an unrelated key, real kid.
//   - [LogoutUnknownKid]: signed by an unrelated key whose kid is not in
//     the JWKS (refetching the JWKS at most once does not help).
//   - [LogoutWrongTyp]: typ "JWT". Reject: the typ must be logout+jwt
//     (§2.4, against cross-JWT confusion).
//   - [LogoutWrongIssuer]: iss is the issuer + "/other".
//   - [LogoutWrongAud]: aud is "someone-else".
//   - [LogoutNoEvent]: no events claim.
//   - [LogoutWrongEvent]: events holds another event type only.
//   - [LogoutEventNotObj]: the logout event's value is a string, not the
//     JSON object §2.4 requires.
//   - [LogoutWithNonce]: a nonce claim, which logout tokens must not have.
//   - [LogoutMissingJTI]: no jti.
//   - [LogoutMissingIat]: no iat.
//   - [LogoutMissingExp]: no exp.
//   - [LogoutOldIat]: iat an hour ago (exp still ahead).
//   - [LogoutFutureIat]: iat an hour ahead.
//   - [LogoutNoSubNoSid]: neither sub nor sid.
//
// # Misbehaviour
//
// [Server.Misbehave] switches on deliberate protocol violations, named
// after the OpenID conformance suite's RP tests. For each, what the server
// does and what a correct relying party must do:
//
// ID token:
//
//   - [WrongIssuer]: iss is the issuer + "/other". Reject.
//   - [WrongAudience]: aud is "someone-else". Reject.
//   - [ExtraAudienceNoAzp]: aud is [client, "someone-else"], no azp.
//     Reject: the extra audience is not trusted (OpenID Connect Core
//     §3.1.3.7 step 3, errata 2). go-oidc's verifier alone accepts it.
//   - [WrongAzp]: aud is [client, "someone-else"], azp "someone-else".
//     Reject.
//   - [WrongNonce]: nonce is a fresh random value. Reject.
//   - [MissingNonce]: no nonce although one was sent. Reject.
//   - [MissingSub]: no sub. Reject.
//   - [MissingIat]: no iat. Reject (iat is required).
//   - [FutureIat]: iat is an hour ahead. Reject (beyond any clock skew).
//   - [Expired]: exp is an hour ago, iat two hours ago. Reject.
//   - [MissingExp]: no exp. Reject (exp is required).
//   - [FutureNbf]: nbf is an hour ahead. Reject (beyond any clock skew).
//   - [MissingAuthTime]: no auth_time. Reject if max_age was requested
//     (Core §3.1.2.1), else accept.
//   - [OldAuthTime]: auth_time two hours ago. Reject if max_age was
//     requested and is shorter, else accept.
//   - [InvalidSignature]: signed by an unrelated key of the same type,
//     with the real kid. Reject.
//   - [UnrelatedKey]: signed by an unrelated key whose kid is not in the
//     JWKS. Reject, after refetching the JWKS at most once.
//   - [AlgNone]: alg "none", empty signature. Reject.
//   - [HS256PublicKey]: alg HS256, HMAC keyed with the PEM-encoded
//     public key, real kid (algorithm confusion). Reject.
//   - [KidAbsent]: no kid in the header; the JWKS holds one key. Accept
//     (Core §10.1).
//   - [KidAbsentMultiple]: no kid in the header; the JWKS holds a second
//     key of the same type. Either try each key or reject (the
//     conformance suite allows both; oidcmw rejects, as openid-client does).
//   - [AlternateAlg]: the RSA key signs PS256 where discovery advertises
//     RS256 (or the reverse). Reject: the alg is not the advertised one.
//   - [AudAsArray]: aud is a one-element array. Accept.
//   - [MissingAud]: no aud. Reject.
//
// Authorization response:
//
//   - [WrongIssParam]: iss parameter is the issuer + "/other". Reject
//     (RFC 9207 §2.4).
//   - [RemoveIssParam]: no iss parameter, although discovery says it is
//     supported. Reject (RFC 9207 §2.4).
//   - [WrongState]: state is a fresh random value. Reject.
//   - [MissingState]: no state. Reject.
//   - [AccessDenied]: error=access_denied with error_description, state
//     and iss instead of a code. Fail the login with the OP's error,
//     without calling the token endpoint.
//
// Token endpoint:
//
//   - [TokenServerError]: 500 with an HTML body. Fail (502).
//   - [TokenNotJSON]: 200 with an HTML body. Fail (502).
//   - [TokenHang]: no answer until the client gives up or Close. Time out
//     (504) within the RP's client timeout.
//   - [TokenTypeLowercase]: token_type "bearer". Accept (RFC 6749 §5.1:
//     case-insensitive).
//   - [TokenTypeWrong]: token_type "MAC". Reject.
//   - [TokenMissingIDToken]: no id_token. Reject.
//   - [TokenUnavailable]: 503 with the OAuth error body
//     error=temporarily_unavailable. Fail (502) with the provider's error
//     code readable.
//   - [TokenExpiresInZero]: expires_in 0. Accept; the access token has no
//     lifetime left, and must not be refreshed on every request.
//   - [TokenNoExpiresIn]: no expires_in (RFC 6749 §5.1: RECOMMENDED, not
//     required). Accept.
//
// Refresh (grant_type=refresh_token only; code redemption is unchanged):
//
//   - [RefreshInvalidSub]: the refreshed ID token's sub is sub + "-other".
//     Reject the refresh (Core §12.2: sub must match) and end the session.
//   - [RefreshInvalidIssuer]: the refreshed ID token's iss is the issuer +
//     "/other". Reject, as for sub.
//   - [RefreshNoIDToken]: no id_token in the refresh response. Accept and
//     keep the original ID token's claims (Core §12.2: it is optional).
//   - [RefreshInvalidGrant]: 400 invalid_grant. The session at the OP is
//     over: end the RP session (log in again).
//   - [RefreshHang]: no answer until the client gives up or Close. Time out
//     within the RP's client timeout.
//   - [RefreshServerError]: 500 with an HTML body. Fail (502) without
//     ending the session; the refresh may be retried.
//   - [RefreshRepeatsNonce]: refreshed ID tokens repeat the original
//     nonce, as Keycloak before 25 and Dex do. Accept (Core §12.2 allows
//     the original nonce).
//   - [OfflineAccessNeedsConsent]: the code grant returns a refresh_token
//     only for scope offline_access with prompt=consent, as node
//     oidc-provider does. Work without one (or ask for both).
//
// UserInfo:
//
//   - [UserinfoInvalidSub]: userinfo's sub is sub + "-other". Reject the
//     response (Core §5.3.4: sub must match the ID token's).
//
// JARM (with [Config.JARM], response_mode jwt, query.jwt or form_post.jwt;
// the parameters inside are unchanged):
//
//   - [JARMInvalidSignature]: the response JWT is signed by an unrelated
//     key with the real kid. Reject.
//   - [JARMWrongAudience]: aud is "someone-else". Reject.
//   - [JARMExpired]: exp is an hour ago. Reject.
//   - [JARMWrongIssuer]: iss is the issuer + "/other". Reject.
//
// DPoP:
//
//   - [DPoPNonceLoop]: every token request gets 400 use_dpop_nonce with a
//     new DPoP-Nonce that is never accepted. Retry once with the nonce,
//     then fail (502) instead of looping.
//
// Discovery and JWKS:
//
//   - [DiscoveryIssuerMismatch]: discovery's issuer is URL + "/other".
//     Reject (Discovery §4.3). [Server.Issuer] reports the changed value.
//   - [DiscoveryDown]: discovery answers 500. Fail (502/503), retry later.
//   - [JWKSDown]: the JWKS answers 500. Fail closed, retry later.
//   - [DiscoveryHang]: discovery never answers. Time out.
//   - [AdvertiseWeakAlgs]: discovery also lists "none" and "HS256" as ID
//     token algorithms. With [AlgNone] or [HS256PublicKey]: reject.
//
// Hanging handlers, and back-channel logout requests that the end_session
// endpoint is waiting for, return when the client gives up or
// [Server.Close] is called, so tests neither leak goroutines nor block in
// Close.
//
// # Provider profiles
//
// [Config.Profile] makes the server imitate a real provider (see
// [Profile] for each one's sources). It serves the provider's discovery
// document, recorded from public documentation and stored in
// testdata/providers/<profile>.json with {base} for the host, at
// [Server.Authority] + "/.well-known/openid-configuration"; answers only
// at the endpoint paths that document names (404 elsewhere; a provider
// without end_session_endpoint or revocation_endpoint has none); and
// switches on the quirks below. Everything else (PKCE, one-time codes, OP
// sessions, behaviours) works as without a profile.
//
//	profile            issuer (URL = {base})        iss  refresh token        ID token
//	keycloak           {base}/realms/demo           yes  always               sid, auth_time; no nonce on refresh
//	entra              {base}/<tenant>/v2.0         no   offline_access       tid, oid, ver; no azp, auth_time, email
//	entra-multitenant  {base}/{tenantid}/v2.0 (*)   no   offline_access       as entra; iss names the user's tid
//	okta               {base}/oauth2/default        no   offline_access       auth_time
//	auth0              {base}/ (trailing slash)     no   offline_access       auth_time only with max_age; client_secret_post
//	google             {base}                       no   access_type=offline  azp; no auth_time, acr, sid; no end_session
//	dex                {base}/dex                   no   offline_access       no auth_time, acr, sid, azp; nonce on refresh;
//	                                                     (rotated)            no end_session
//	zitadel            {base}                       no   offline_access       aud [client, project], azp; profile and
//	                                                                          email claims only in UserInfo
//
// (*) discovery at {base}/organizations/v2.0. Google returns a refresh
// token only for the first authorization of a user, or with
// prompt=consent. Logout tokens and the iss parameter use the issuer as
// discovery names it.
//
// # Omissions
//
// No login or consent page, no cookies (one OP session per user instead),
// no implicit or hybrid flows, no request objects by reference (only PAR's
// request_uri) or encrypted, no JARM encryption, no signed or encrypted
// UserInfo responses, no DPoP nonce at the UserInfo endpoint, no mTLS
// client authentication or certificate-bound tokens (RFC 8705), no
// token introspection, no dynamic registration, no front-channel or session-management logout, no
// scope-based claim filtering (every claim of the user is in the ID token
// and userinfo), no at_hash, no refresh token reuse detection (a rotated
// refresh token is merely invalid), and no token revocation at logout:
// ending an OP session leaves issued tokens valid.
//
// # Conformance modules
//
// [Modules] lists the OpenID conformance suite's RP test modules this
// server reproduces (Basic, Comprehensive, Form Post, Refresh Token,
// Back-Channel, and the FAPI 2.0 client tests for iss, state and ID token
// checks), each as behaviours to switch on, a step for the relying party and
// the expected outcome, so that a relying party can run the certification
// matrix in go test. oidcmw runs all of them in its conformance_test.go.
package oidctest
