package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestIDTokenClaimNamesStrict: claim names are matched exactly, and a
// name given twice, even in another case, refuses the token: otherwise
// {"aud":"other",…,"Aud":"<us>"} passes the audience check, and
// {"sub":"alice",…,"Sub":"admin"} makes the subject "admin".
func TestIDTokenClaimNamesStrict(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k := rsaKeys()[0]
	e.op.setKeys(t, pub(k, "a"))
	now := e.clock.Now().Unix()
	head := fmt.Sprintf(`"iss":%q,"iat":%d,"exp":%d,"nonce":"n"`, e.op.URL, now, now+3600)
	for _, tc := range []struct {
		name, claims string
		ok           bool
	}{
		{"plain", `{` + head + `,"aud":"client","sub":"alice"}`, true},
		{"aud, then Aud", `{` + head + `,"aud":"other-client","sub":"alice","Aud":"client"}`, false},
		{"AUD only", `{` + head + `,"AUD":"client","sub":"alice"}`, false},
		{"sub, then Sub", `{` + head + `,"aud":"client","sub":"alice","Sub":"admin"}`, false},
		{"sub, then ſub (long s)", `{` + head + `,"aud":"client","sub":"alice","ſub":"admin"}`, false},
		{"sub twice", `{` + head + `,"aud":"client","sub":"alice","sub":"admin"}`, false},
		{"Nonce beside nonce", `{` + head + `,"aud":"client","sub":"alice","Nonce":"other"}`, false},
		{"an unknown claim in two cases", `{` + head + `,"aud":"client","sub":"alice","x":1,"X":2}`, false},
		{"a nested object may repeat names in other cases", `{` + head + `,"aud":"client","sub":"alice","addr":{"a":1,"A":2}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", tc.claims, nil))
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.ok && got.subject != "alice":
				t.Fatalf("subject %q", got.subject)
			case !tc.ok && !errors.Is(err, ErrInvalidIDToken):
				t.Fatalf("%v (subject %v), want ErrInvalidIDToken", err, got)
			}
		})
	}
}

// TestLogoutTokenClaimNamesStrict: the same for logout tokens; a second
// "Sid" would end another session than the one the provider names.
func TestLogoutTokenClaimNamesStrict(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k := rsaKeys()[0]
	e.op.setKeys(t, pub(k, "a"))
	p := e.provider(t)
	now := e.clock.Now().Unix()
	for i, tc := range []struct {
		name, extra string
		ok          bool
	}{
		{"plain", `"sid":"s1"`, true},
		{"sid, then Sid", `"sid":"s1","Sid":"s2"`, false},
		{"SID is not sid", `"SID":"s1"`, false},
		{"events twice", `"sid":"s1","Events":{}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := fmt.Sprintf(`{"iss":%q,"aud":"client","iat":%d,"exp":%d,"jti":"j%d","events":{%q:{}},%s}`,
				e.op.URL, now, now+120, i, backchannelEvent, tc.extra)
			raw := signTestJWT(t, jose.RS256, k, "a", claims, map[jose.HeaderKey]any{"typ": "logout+jwt"})
			lt, err := e.m.verify.logoutToken(context.Background(), p, raw)
			var sid string
			if lt != nil {
				sid = lt.SID
			}
			switch {
			case tc.ok && (err != nil || sid != "s1"):
				t.Fatalf("sid %q, %v", sid, err)
			case !tc.ok && !errors.Is(err, ErrInvalidLogoutToken):
				t.Fatalf("sid %q, %v, want ErrInvalidLogoutToken", sid, err)
			}
		})
	}
}

// TestUniqueNames: the strict decoder's own checks.
func TestUniqueNames(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{}`, true},
		{`{"a":1,"b":[{"a":1}],"c":{"a":1}}`, true},
		{`{"k":1,"K":2}`, false},
		{`{"k":1,"\u212a":2}`, false}, // KELVIN SIGN folds to k
		{`{"a":1}{"b":2}`, false},
		{`{"a":1} x`, false},
		{`[1]`, false},
		{`"a"`, false},
		{`{"a":}`, false},
		{strings.Repeat(`{"a":`, 3), false},
	} {
		if err := uniqueNames([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("uniqueNames(%s) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
