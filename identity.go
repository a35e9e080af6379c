package oidcmw

import (
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// Identity is the signed-in user as the guard puts it into the request
// context. The tokens are secrets: never log them or put them in a URL.
// Treat an Identity as read-only; it may be shared by concurrent requests.
type Identity struct {
	Subject      string    // the ID token's sub
	Issuer       string    // the ID token's iss
	IDToken      string    // the raw ID token (for id_token_hint)
	AccessToken  string    // for calls to APIs on the user's behalf
	RefreshToken string    // empty when the provider issued none
	TokenType    string    // as the provider spelled it, e.g. "Bearer"
	Scope        string    // granted scope, when the provider returned it
	Expiry       time.Time // access token expiry; zero when unknown
	AuthTime     time.Time // when the user authenticated (auth_time); zero when unknown
	ACR          string    // the authentication context class (acr), when given

	// SessionExpiry is when the session ends unless used again: the
	// earlier of the idle and the absolute timeout.
	SessionExpiry time.Time

	// RawClaims are the ID token's claims, the JSON payload exactly as the
	// provider signed it. A handler can write it out as is.
	RawClaims json.RawMessage

	// UserInfo is the UserInfo response (a JSON object) when
	// Options.FetchUserInfo is set, else nil.
	UserInfo json.RawMessage

	dpop []byte // the session's DPoP private key (DER), when Options.DPoP
}

// Claims decodes the user's claims into v (a struct or a map), without
// parsing or verifying the JWT again: the UserInfo claims when there are
// any, overlaid by the ID token's, so that a UserInfo response can add
// profile claims but never change iss, sub, aud, acr or auth_time.
func (id *Identity) Claims(v any) error {
	if len(id.RawClaims) == 0 {
		return errors.New("oidcmw: identity has no claims")
	}
	if len(id.UserInfo) > 0 {
		if err := json.Unmarshal(id.UserInfo, v); err != nil {
			return err
		}
	}
	return json.Unmarshal(id.RawClaims, v)
}

// HasClaim reports whether the claim name equals value, or, when the claim
// is an array (groups, roles, amr), whether it contains value. Claims that
// are not strings never match.
func (id *Identity) HasClaim(name, value string) bool {
	var claims map[string]json.RawMessage
	if id.Claims(&claims) != nil {
		return false
	}
	raw, ok := claims[name]
	if !ok {
		return false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == value
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return slices.Contains(list, value)
	}
	return false
}
