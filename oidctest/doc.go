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
//
// The server implements the authorization code flow only, strictly: PKCE
// with S256 is required, codes are one-time and expire after 60 seconds,
// redirect_uri must match, clients authenticate with the method they are
// registered for. It approves the configured [User] without a login page
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
// no implicit or hybrid flows, no request objects, no dynamic
// registration, no front-channel or session-management logout, no
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
