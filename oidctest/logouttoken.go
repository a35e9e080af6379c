package oidctest

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// backchannelEvent is the events member that makes a JWT a logout token
// (OpenID Connect Back-Channel Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenLifetime is exp - now of logout tokens; the specification
// recommends at most two minutes (§4).
const logoutTokenLifetime = 2 * time.Minute

// LogoutTokenDefect names a way for [Server.LogoutToken] to build an
// invalid logout token; the empty defect builds a valid one. Values are
// named after the OpenID conformance suite's RP back-channel logout tests
// where one exists. A correct relying party answers 400 to each defect and
// 200 to the valid token; the package documentation lists them.
type LogoutTokenDefect string

// Logout token defects.
const (
	LogoutAlgNone      LogoutTokenDefect = "rpinitlogout-alg-none"    // alg "none", empty signature
	LogoutNoEvent      LogoutTokenDefect = "rpinitlogout-no-event"    // no events claim
	LogoutWithNonce    LogoutTokenDefect = "rpinitlogout-with-nonce"  // has a nonce claim
	LogoutWrongAlg     LogoutTokenDefect = "rpinitlogout-wrong-alg"   // alg HS256 keyed with the public key PEM
	LogoutWrongAud     LogoutTokenDefect = "rpinitlogout-wrong-aud"   // aud is "someone-else"
	LogoutWrongEvent   LogoutTokenDefect = "rpinitlogout-wrong-event" // events holds another event type only
	LogoutEventNotObj  LogoutTokenDefect = "event-not-object"         // the logout event's value is a string, not a JSON object
	LogoutWrongIssuer  LogoutTokenDefect = "rpinitlogout-wrong-iss"   // iss is the issuer + "/other"
	LogoutMissingJTI   LogoutTokenDefect = "missing-jti"              // no jti
	LogoutMissingIat   LogoutTokenDefect = "missing-iat"              // no iat
	LogoutMissingExp   LogoutTokenDefect = "missing-exp"              // no exp
	LogoutOldIat       LogoutTokenDefect = "old-iat"                  // iat an hour ago
	LogoutFutureIat    LogoutTokenDefect = "future-iat"               // iat an hour ahead
	LogoutNoSubNoSid   LogoutTokenDefect = "no-sub-no-sid"            // neither sub nor sid
	LogoutWrongTyp     LogoutTokenDefect = "wrong-typ"                // typ "JWT" instead of "logout+jwt"
	LogoutBadSignature LogoutTokenDefect = "invalid-sig"              // real kid, signed by an unrelated key
	LogoutUnknownKid   LogoutTokenDefect = "unknown-kid"              // signed by a key whose kid is not in the JWKS
)

// otherEvent is the event of LogoutWrongEvent: a real Security Event Token
// type that is not a logout.
const otherEvent = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"

// logoutEdit is how a defect changes a logout token; both fields are
// optional.
type logoutEdit struct {
	claims func(e *env, c map[string]any)
	sign   func(e *env, s *jwsSpec)
}

// logoutDefects is the defect table. The signature defects reuse the ID
// token behaviours of the same kind.
var logoutDefects = map[LogoutTokenDefect]logoutEdit{
	LogoutAlgNone:   {sign: behaviors[AlgNone].sign},
	LogoutNoEvent:   {claims: func(e *env, c map[string]any) { delete(c, "events") }},
	LogoutWithNonce: {claims: func(e *env, c map[string]any) { c["nonce"] = randomToken() }},
	LogoutWrongAlg:  {sign: behaviors[HS256PublicKey].sign},
	LogoutWrongAud:  {claims: func(e *env, c map[string]any) { c["aud"] = "someone-else" }},
	LogoutWrongEvent: {claims: func(e *env, c map[string]any) {
		c["events"] = map[string]any{otherEvent: map[string]any{}}
	}},
	LogoutEventNotObj: {claims: func(e *env, c map[string]any) {
		c["events"] = map[string]any{backchannelEvent: "logout"}
	}},
	LogoutWrongIssuer: {claims: func(e *env, c map[string]any) { c["iss"] = e.issuer + "/other" }},
	LogoutMissingJTI:  {claims: func(e *env, c map[string]any) { delete(c, "jti") }},
	LogoutMissingIat:  {claims: func(e *env, c map[string]any) { delete(c, "iat") }},
	LogoutMissingExp:  {claims: func(e *env, c map[string]any) { delete(c, "exp") }},
	LogoutOldIat:      {claims: func(e *env, c map[string]any) { c["iat"] = e.now.Add(-time.Hour).Unix() }},
	LogoutFutureIat:   {claims: func(e *env, c map[string]any) { c["iat"] = e.now.Add(time.Hour).Unix() }},
	LogoutNoSubNoSid: {claims: func(e *env, c map[string]any) {
		delete(c, "sub")
		delete(c, "sid")
	}},
	LogoutWrongTyp:     {sign: func(e *env, s *jwsSpec) { s.typ = "JWT" }},
	LogoutBadSignature: {sign: behaviors[InvalidSignature].sign},
	LogoutUnknownKid:   {sign: behaviors[UnrelatedKey].sign},
}

// LogoutTokenDefects returns every defect except the empty one, sorted,
// for table tests.
func LogoutTokenDefects() []LogoutTokenDefect {
	return slices.Sorted(func(yield func(LogoutTokenDefect) bool) {
		for d := range logoutDefects {
			if !yield(d) {
				return
			}
		}
	})
}

// LogoutToken returns a logout token (OpenID Connect Back-Channel Logout
// 1.0 §2.4) for the client clientID, signed with the current key: header
// typ "logout+jwt"; claims iss, aud (clientID), iat (now), exp (now + 2
// minutes), a random jti, the back-channel logout event, and sub and sid
// unless empty. defect, unless empty, makes the token invalid in one way.
// It fails for an unknown defect, and when sub and sid are both empty
// without [LogoutNoSubNoSid]. Active behaviours do not affect it.
func (s *Server) LogoutToken(clientID, sub, sid string, defect LogoutTokenDefect) (string, error) {
	edit, ok := logoutDefects[defect]
	if !ok && defect != "" {
		return "", fmt.Errorf("oidctest: unknown logout token defect %q", defect)
	}
	if sub == "" && sid == "" && defect != LogoutNoSubNoSid {
		return "", errors.New("oidctest: a logout token needs sub or sid")
	}
	return logoutToken(s.env(clientID), sub, sid, edit)
}

func logoutToken(e *env, sub, sid string, edit logoutEdit) (string, error) {
	c := map[string]any{
		"iss":    e.issuer,
		"aud":    e.clientID,
		"iat":    e.now.Unix(),
		"exp":    e.now.Add(logoutTokenLifetime).Unix(),
		"jti":    randomToken(),
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	if edit.claims != nil {
		edit.claims(e, c)
	}
	spec := jwsSpec{alg: e.key.alg, kid: e.key.kid, typ: "logout+jwt", key: e.key.priv}
	if edit.sign != nil {
		edit.sign(e, &spec)
	}
	return signJWT(spec, c)
}
