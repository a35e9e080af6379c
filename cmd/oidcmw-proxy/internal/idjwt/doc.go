// Package idjwt signs the short-lived JWT that the proxy can pass to the
// upstream in the [Header] request header, and serves the JSON Web Key Set
// (RFC 7517 §5) the upstream verifies it with.
//
// The proxy already tells the upstream who the user is in plain headers
// (X-Auth-Request-User, -Email, -Groups). Those are only as trustworthy as
// the network path between proxy and upstream; the signed token lets the
// upstream check that the identity comes from this proxy, for this
// upstream, and recently.
//
// # The token
//
// A compact JWS (RFC 7515) whose header holds "alg", "kid" (the RFC 7638
// SHA-256 thumbprint of the public key) and "typ": "JWT", and whose claims
// (RFC 7519 §4.1) are:
//
//	iss     the issuer given to NewSigner
//	aud     the audience given to NewSigner, a single string
//	sub     the user's subject
//	iat     the time of signing
//	nbf     the time of signing
//	exp     iat + TTL (default 60 s, at most 10 min)
//	jti     128 random bits, unique per token
//	email   only when given
//	groups  only when non-empty
//
// Signing uses go-jose: ES256 for the default key (a fresh ECDSA P-256 key),
// otherwise the algorithm that fits the key: ES384 and ES512 for P-384 and
// P-521, RS256 for RSA (2048 bits or more), EdDSA for Ed25519. Keys held
// elsewhere (an HSM, a cloud KMS) work through any [crypto.Signer].
//
// # Verifying it upstream
//
// The upstream fetches the key set from the URL where the proxy mounts
// [Signer.JWKS] and accepts a token only when the signature verifies with
// a key of that set and the pinned algorithm, iss and aud are the
// configured values, and exp has not passed. With coreos/go-oidc:
//
//	keys := oidc.NewRemoteKeySet(ctx, "https://proxy.example.com/oauth2/jwks")
//	v := oidc.NewVerifier(issuer, keys, &oidc.Config{
//		ClientID:             audience,
//		SupportedSigningAlgs: []string{"ES256"},
//	})
//	idToken, err := v.Verify(ctx, r.Header.Get("X-Auth-Request-Jwt"))
//
// # Keys and replicas
//
// Without a key, [NewSigner] generates one that lives as long as the
// process: each restart changes it, and replicas each have their own. A
// verifier that refetches the key set on an unknown kid (go-oidc does)
// recovers from a restart on its own, but one that reaches the key set
// through a load balancer may fetch another replica's key. Run more than
// one replica only with a shared key.
//
// # Deliberate omissions
//
// The key set holds one key: there is no rotation with overlapping keys,
// since tokens live ten minutes at most and a verifier refetches on an
// unknown kid. There is no encryption (the token travels with the request
// it describes) and no nonce or replay cache (jti is there for upstreams
// that want one). The token carries no access or refresh token.
package idjwt
