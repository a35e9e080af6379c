// Package oidctest provides an in-process OpenID Provider for tests,
// modelled on net/http/httptest.
//
// [NewServer] starts a provider on a loopback address. Its URL is the
// issuer; the endpoints sit below it:
//
//	/.well-known/openid-configuration  discovery (OpenID Connect Discovery 1.0)
//	/jwks                              JWK Set with the one signing key
//	/authorize                         authorization endpoint (GET or POST)
//	/token                             token endpoint
//	/userinfo                          UserInfo endpoint
//	/end_session                       RP-initiated logout
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
// Hanging handlers return when the client gives up or [Server.Close] is
// called, so tests neither leak goroutines nor block in Close.
//
// # Omissions
//
// No login or consent page, no implicit or hybrid flows, no request
// objects, no dynamic registration, no back-channel logout, no scope-based
// claim filtering (every claim of the user is in the ID token and
// userinfo), no at_hash, and no refresh token rotation.
package oidctest
