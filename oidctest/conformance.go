package oidctest

// Step is what a relying party does while a conformance module's
// misbehaviour is switched on.
type Step string

// Steps of the conformance modules.
const (
	StepLogin       Step = "login"        // one login
	StepFormPost    Step = "form-post"    // one login with response_mode=form_post
	StepDiscovery   Step = "discovery"    // the first request, which fetches discovery
	StepUserInfo    Step = "userinfo"     // one login that fetches UserInfo
	StepKeyRotation Step = "key-rotation" // a login, RotateKey, another login
	StepRefresh     Step = "refresh"      // a login, then a refresh grant
	StepBackchannel Step = "backchannel"  // a login, then a logout token (Defect) delivered
)

// Module is an RP test module of the OpenID Foundation's conformance suite
// that the server acts out: switch on Behaviors (with Alg as Config.Alg),
// let the relying party do Step, and check the outcome. A correct relying
// party accepts the modules marked Accept; it refuses the others without
// creating a session (a refresh or logout token it refuses ends or keeps
// the session as the module says: see [Modules]).
type Module struct {
	ID        string // the conformance suite's test module id
	Step      Step
	Behaviors []Behavior
	Alg       string            // Config.Alg; "" is RS256
	Defect    LogoutTokenDefect // StepBackchannel: the logout token's defect
	Accept    bool
}

// Modules returns the conformance modules this package reproduces, from the
// Basic, Comprehensive, Form Post, Refresh Token and Back-Channel RP plans
// and the FAPI 2.0 client tests for iss, state and ID token checks. Run
// them against your own configuration as oidcmw's conformance_test.go does:
//
//	for _, mod := range oidctest.Modules() {
//		t.Run(mod.ID, func(t *testing.T) { ... })
//	}
//
// For StepRefresh, Accept means the session survives the refresh and
// refusal means the relying party ends the session; for StepBackchannel,
// Accept means the logout token is taken (200, the session ends) and
// refusal means 400 with the session untouched.
func Modules() []Module {
	const oidcc, fapi = "oidcc-client-test", "fapi2-security-profile-final-client-test-"
	login := func(id string, accept bool, b ...Behavior) Module {
		return Module{ID: id, Step: StepLogin, Behaviors: b, Accept: accept}
	}
	mods := []Module{
		login(oidcc, true),
		login(oidcc+"-invalid-iss", false, WrongIssuer),
		login(oidcc+"-missing-sub", false, MissingSub),
		login(oidcc+"-invalid-aud", false, WrongAudience),
		login(oidcc+"-missing-aud", false, MissingAud),
		login(oidcc+"-missing-iat", false, MissingIat),
		login(oidcc+"-kid-absent-single-jwks", true, KidAbsent),
		login(oidcc+"-kid-absent-multiple-jwks", false, KidAbsentMultiple),
		login(oidcc+"-idtoken-sig-none", false, AlgNone),
		login(oidcc+"-invalid-sig-rs256", false, InvalidSignature),
		login(oidcc+"-invalid-sig-hs256", false, HS256PublicKey),
		{ID: oidcc + "-invalid-sig-es256", Step: StepLogin, Behaviors: []Behavior{InvalidSignature}, Alg: "ES256"},
		login(oidcc+"-nonce-invalid", false, WrongNonce),
		{ID: oidcc + "-userinfo-invalid-sub", Step: StepUserInfo, Behaviors: []Behavior{UserinfoInvalidSub}},
		{ID: oidcc + "-discovery-issuer-mismatch", Step: StepDiscovery, Behaviors: []Behavior{DiscoveryIssuerMismatch}},
		{ID: oidcc + "-signing-key-rotation", Step: StepKeyRotation, Accept: true},
		{ID: oidcc + "-signing-key-rotation-just-before-signing", Step: StepKeyRotation, Accept: true},
		{ID: oidcc + "-form-post-error", Step: StepFormPost, Behaviors: []Behavior{AccessDenied}},
		{ID: oidcc + "-refresh-token", Step: StepRefresh, Accept: true},
		{ID: oidcc + "-refresh-token-invalid-issuer", Step: StepRefresh, Behaviors: []Behavior{RefreshInvalidIssuer}},
		{ID: oidcc + "-refresh-token-invalid-sub", Step: StepRefresh, Behaviors: []Behavior{RefreshInvalidSub}},
		{ID: oidcc + "-rp-backchannel-rpinitlogout", Step: StepBackchannel, Accept: true},
		login(fapi+"invalid-authorization-response-iss", false, WrongIssParam),
		login(fapi+"remove-authorization-response-iss", false, RemoveIssParam),
		login(fapi+"ensure-authorization-response-with-invalid-state-fails", false, WrongState),
		login(fapi+"ensure-authorization-response-with-invalid-missing-state-fails", false, MissingState),
		login(fapi+"invalid-expired-exp", false, Expired),
		login(fapi+"invalid-null-alg", false, AlgNone),
		login(fapi+"invalid-alternate-alg", false, AlternateAlg),
		login(fapi+"invalid-secondary-aud", false, ExtraAudienceNoAzp),
		login(fapi+"invalid-missing-nonce", false, MissingNonce),
		login(fapi+"token-type-case-insensitivity", true, TokenTypeLowercase),
		login(fapi+"valid-aud-as-array", true, AudAsArray),
	}
	for _, d := range []LogoutTokenDefect{LogoutAlgNone, LogoutNoEvent, LogoutWithNonce,
		LogoutWrongAlg, LogoutWrongAud, LogoutWrongEvent, LogoutWrongIssuer} {
		mods = append(mods, Module{ID: oidcc + "-rp-backchannel-" + string(d), Step: StepBackchannel, Defect: d})
	}
	return mods
}
