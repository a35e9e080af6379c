package oidcmw

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// idClaims is the validated ID token: what the session needs, and the raw
// claims for Identity.Claims.
type idClaims struct {
	token                     string // the signed ID token (the inner JWS of an encrypted one)
	subject, issuer, sid, acr string
	authTime                  time.Time
	raw                       []byte
}

// idToken applies OpenID Connect Core §3.1.3.7 to raw: go-oidc checks the
// signature (verifyJWT: alg allow-list from discovery, never none or HMAC),
// iss and aud; then, on the strictly decoded claims (decodeClaims), iss,
// aud containing the client id, exp and nbf with the clock skew
// (issuerAudienceExpiry), the tenant rule, azp, iat, sub, nonce, auth_time
// and acr.
//
// On refresh (OIDC Core §12.2) the nonce is not checked: the token comes
// straight from the token endpoint, and providers differ (some repeat the
// original nonce, some omit it).
func (v *verifier) idToken(ctx context.Context, p *provider, raw string, c Checks, refresh bool) (*idClaims, error) {
	if len(raw) > v.maxTokenBytes {
		return nil, badIDToken("too large")
	}
	// A nested, encrypted ID token (JWE) is opened here; the session keeps
	// the signed token inside, which is what an id_token_hint must be
	// (RP-Initiated Logout §2) and what the claims are read back from.
	if strings.Count(raw, ".") == 4 {
		inner, err := v.decrypt(raw)
		if err != nil {
			return nil, err
		}
		raw = inner
	}
	_, payload, err := p.verifyJWT(ctx, p.idVerifier, p.idAlgs, raw, kindIDToken)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		return nil, badIDToken("%v", err)
	}
	var tok jwtClaims
	if err := decodeClaims(payload, &tok); err != nil {
		return nil, badIDToken("claims: %v", err)
	}
	if err := v.issuerAudienceExpiry(p, &tok); err != nil {
		return nil, badIDToken("%v", err)
	}
	if err := v.tenant.check(tok.Issuer, tok.TID); err != nil {
		return nil, err
	}
	if err := v.idTokenClaims(&tok, c, refresh); err != nil {
		return nil, err
	}
	issuer := tok.Issuer
	if googleIssuer(p.issuer, issuer) {
		issuer = p.issuer // the session is the configured issuer's (owns, refresh)
	}
	return &idClaims{token: raw, subject: tok.Subject, issuer: issuer, sid: tok.SID, acr: tok.ACR,
		authTime: dateOrZero(tok.AuthTime), raw: payload}, nil
}

// idTokenClaims applies the checks go-oidc does not make: azp, iat, sub,
// nonce, auth_time with max_age, acr.
func (v *verifier) idTokenClaims(tok *jwtClaims, c Checks, refresh bool) error {
	now := v.now()
	switch {
	case len(tok.Audience) > 1 && tok.AZP == nil: // azp: required with several audiences,
		return badIDToken("several audiences and no azp")
	case tok.AZP != nil && *tok.AZP != v.clientID: // and us when present
		return badIDToken("azp is not the client id")
	case tok.IssuedAt == nil:
		return badIDToken("iat missing")
	case tok.IssuedAt.time().After(now.Add(v.skew)):
		return badIDToken("iat in the future")
	case tok.Subject == "":
		return badIDToken("sub missing")
	}
	if !refresh {
		if err := checkNonce(tok.Nonce, c.Nonce); err != nil {
			return err
		}
	}
	if tok.AuthTime != nil && tok.AuthTime.time().After(now.Add(v.skew)) {
		return badIDToken("auth_time in the future")
	}
	if c.MaxAge > 0 {
		if tok.AuthTime == nil {
			return badIDToken("auth_time missing although max_age was requested")
		}
		if tok.AuthTime.time().Add(c.MaxAge).Add(v.skew).Before(now) {
			return badIDToken("auth_time older than max_age")
		}
	}
	if len(c.ACRValues) > 0 && !slices.Contains(c.ACRValues, tok.ACR) {
		return fmt.Errorf("%w: acr %q not among %q", ErrInsufficientAuthentication, tok.ACR, c.ACRValues)
	}
	return nil
}

// checkNonce: the nonce equals the one sent, and there is none when none
// was sent.
func checkNonce(got *string, want string) error {
	var nonce string
	if got != nil {
		nonce = *got
	}
	switch {
	case want != "" && subtle.ConstantTimeCompare([]byte(nonce), []byte(want)) != 1:
		return badIDToken("nonce does not match")
	case want == "" && nonce != "":
		return badIDToken("unexpected nonce")
	}
	return nil
}

func badIDToken(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidIDToken}, a...)...)
}

// dateOrZero is a numeric date's time, zero when absent.
func dateOrZero(d *numericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.time()
}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }

// idTokenKeyAlgs and idTokenEncs are the JWE algorithms accepted for
// encrypted ID tokens.
var (
	idTokenKeyAlgs = []jose.KeyAlgorithm{jose.RSA_OAEP, jose.RSA_OAEP_256,
		jose.ECDH_ES, jose.ECDH_ES_A128KW, jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW}
	idTokenEncs = []jose.ContentEncryption{jose.A128GCM, jose.A192GCM, jose.A256GCM,
		jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512}
)

// decrypt opens an encrypted (nested) ID token with Options.DecryptionKey
// and returns the signed token inside.
func (v *verifier) decrypt(raw string) (string, error) {
	if v.decryptionKey == nil {
		return "", fmt.Errorf("%w: encrypted, and no DecryptionKey is configured", ErrInvalidIDToken)
	}
	jwe, err := jose.ParseEncryptedCompact(raw, idTokenKeyAlgs, idTokenEncs)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	inner, err := jwe.Decrypt(v.decryptionKey)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	return string(inner), nil
}
