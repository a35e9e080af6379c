package oidcmw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	josejson "github.com/go-jose/go-jose/v4/json"
)

// decodeClaims decodes the payload of a verified JWT into v strictly: the
// payload is one JSON object whose member names differ even under Unicode
// case folding, and v's fields match names exactly (go-jose's json
// package). encoding/json, which go-oidc uses, matches names
// case-insensitively and lets the last duplicate win, so that
// {"aud":"other","Aud":"us"} would pass an audience check.
func decodeClaims(payload []byte, v any) error {
	if err := uniqueNames(payload); err != nil {
		return err
	}
	return josejson.Unmarshal(payload, v)
}

// uniqueNames checks that payload is a JSON object whose member names are
// unique under case folding.
func uniqueNames(payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("claims are not a JSON object")
	}
	seen := make(map[string]bool, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		folded := foldName(name)
		if seen[folded] {
			return fmt.Errorf("claim %.64q appears twice (names compared under case folding)", name)
		}
		seen[folded] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the claims object")
	}
	return nil
}

// foldName maps every rune of s to the smallest rune of its Unicode
// case-folding orbit, so that two names are equal under strings.EqualFold
// exactly when their foldName is ("sub", "SUB", "ſub" all fold alike).
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// jwtClaims are the registered and OpenID Connect claims the middleware
// checks in ID tokens and logout tokens, decoded in one pass.
type jwtClaims struct {
	Issuer    string                     `json:"iss"`
	Subject   string                     `json:"sub"`
	Audience  audience                   `json:"aud"`
	Expiry    *numericDate               `json:"exp"`
	IssuedAt  *numericDate               `json:"iat"`
	NotBefore *numericDate               `json:"nbf"`
	Nonce     *string                    `json:"nonce"`
	AZP       *string                    `json:"azp"`
	AuthTime  *numericDate               `json:"auth_time"`
	SID       string                     `json:"sid"`
	ACR       string                     `json:"acr"`
	TID       string                     `json:"tid"`
	JTI       string                     `json:"jti"`
	Events    map[string]json.RawMessage `json:"events"`
}

// audience is "aud": one string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// numericDate is a JSON number of seconds since the epoch (RFC 7519 §2).
type numericDate float64

// maxDate is where numericDate.time clamps: the year 36812, far beyond any
// token's life, and far below int64 overflow.
const maxDate = 1 << 40

func (d *numericDate) time() time.Time {
	f := min(max(float64(*d), 0), maxDate)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// issuerAudienceExpiry applies the checks ID and logout tokens share: iss
// is the provider's (unless a tenant template compares it later), and
// audienceExpiry.
func (v *verifier) issuerAudienceExpiry(p *provider, c *jwtClaims) error {
	if !v.tenant.on() && c.Issuer != p.issuer && !googleIssuer(p.issuer, c.Issuer) {
		return fmt.Errorf("iss %.64q is not the provider's", c.Issuer)
	}
	return v.audienceExpiry(c)
}

// audienceExpiry applies the checks every JWT from the provider shares:
// aud names the client, exp is present and not past, nbf (when present)
// not ahead, each with the clock skew.
func (v *verifier) audienceExpiry(c *jwtClaims) error {
	if !slices.Contains(c.Audience, v.clientID) {
		return errors.New("aud does not name the client")
	}
	now := v.now()
	if c.Expiry == nil {
		return errors.New("exp missing")
	}
	if c.Expiry.time().Before(now.Add(-v.skew)) {
		return errors.New("expired")
	}
	if c.NotBefore != nil && c.NotBefore.time().After(now.Add(v.skew)) {
		return errors.New("not valid yet (nbf)")
	}
	return nil
}

// googleIssuer: Google documents that its ID tokens may carry the issuer
// without the scheme.
func googleIssuer(want, got string) bool {
	return want == "https://accounts.google.com" && got == "accounts.google.com"
}
