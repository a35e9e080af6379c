package main

import (
	"context"
	"encoding/json"

	"github.com/oidcmw/oidcmw"
)

// user is what the rules check and the identity headers carry, read from
// the signed-in oidcmw.Identity.
type user struct {
	subject       string   // sub
	email         string   // the email claim, when it is a string
	emailVerified bool     // email_verified is the JSON value true (not "true")
	groups        []string // the groups claim: a string, or the strings of an array
	accessToken   string
	token         string // the identity JWT, with --inject-jwt
}

// newUser reads u from id's claims; groupsClaim names the groups claim.
func newUser(id *oidcmw.Identity, groupsClaim string) (*user, error) {
	var claims map[string]json.RawMessage
	if err := id.Claims(&claims); err != nil {
		return nil, err
	}
	u := &user{subject: id.Subject, accessToken: id.AccessToken}
	_ = json.Unmarshal(claims["email"], &u.email)
	_ = json.Unmarshal(claims["email_verified"], &u.emailVerified)
	u.groups = stringOrStrings(claims[groupsClaim])
	return u, nil
}

// stringOrStrings is a claim that is a string, or the strings of an array
// (other elements are skipped); nil for anything else.
func stringOrStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

type userKey struct{}

// withUser returns a copy of ctx that carries u, for the upstream's
// Rewrite.
func withUser(ctx context.Context, u *user) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom is the user withUser stored in ctx, or nil (a public route).
func userFrom(ctx context.Context) *user {
	u, _ := ctx.Value(userKey{}).(*user)
	return u
}
