package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
)

// op is a running OpenID Provider that the cases log in at.
type op interface {
	// Issuer is the OP's issuer URL, at 127.0.0.1.
	Issuer() string
	// Kids are the ids of its current ID token signing keys.
	Kids() []string
	// account is how the case's user name signs in at this OP.
	account(name string) account
	// ui is how the browser finds its way through the OP's pages.
	ui() opUI
	// rotate replaces all signing keys and returns the new key ids. Only
	// called when the OP's kind does not lack featureKeyRotation.
	rotate(ctx context.Context) ([]string, error)
}

// account is a user of an OP: what the browser types into its login form,
// and the subject the OP asserts for that user.
type account struct {
	login, password string
	subject         string
}

// opUI tells browse how to recognise the OP's pages and fill them in: CSS
// selectors, "" where the OP has no such page.
type opUI struct {
	login         string // the login form's user name field; marks the login page
	password      string // the login form's password field
	submit        string // the login form's submit button
	consent       string // marks the consent page
	consentSubmit string // the consent page's confirm button
	logout        string // the logout confirmation button; marks that page
}

// client is the metadata of one client registered at the OP (OpenID Connect
// Dynamic Client Registration 1.0 §2, and Back-Channel Logout 1.0 §2.2).
// Each kind of OP registers it its own way.
type client struct {
	ClientID                         string   `json:"client_id"`
	ClientSecret                     string   `json:"client_secret,omitempty"`
	RedirectURIs                     []string `json:"redirect_uris"`
	PostLogoutRedirectURIs           []string `json:"post_logout_redirect_uris,omitempty"`
	TokenEndpointAuthMethod          string   `json:"token_endpoint_auth_method,omitempty"`
	IDTokenSignedResponseAlg         string   `json:"id_token_signed_response_alg,omitempty"`
	GrantTypes                       []string `json:"grant_types,omitempty"`
	BackchannelLogoutURI             string   `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired bool     `json:"backchannel_logout_session_required,omitempty"`

	// Protocol breadth (breadth_test.go; oidc-provider only): RFC 7591
	// §2, OIDC Registration §2, RFC 9126 §6, RFC 9101 §10.5, JARM §3,
	// RFC 9449 §5.2.
	JWKS                               *jwkSet `json:"jwks,omitempty"`
	TokenEndpointAuthSigningAlg        string  `json:"token_endpoint_auth_signing_alg,omitempty"`
	RequestObjectSigningAlg            string  `json:"request_object_signing_alg,omitempty"`
	RequireSignedRequestObject         bool    `json:"require_signed_request_object,omitempty"`
	RequirePushedAuthorizationRequests bool    `json:"require_pushed_authorization_requests,omitempty"`
	AuthorizationSignedResponseAlg     string  `json:"authorization_signed_response_alg,omitempty"`
	DPoPBoundAccessTokens              bool    `json:"dpop_bound_access_tokens,omitempty"`

	// AccessTokenTTL is not client metadata but the suite's own field: the
	// lifetime, in seconds, of the access tokens the OP issues to this
	// client (0: the OP's default). server.js takes it out of the metadata
	// and applies it as oidc-provider's ttl.AccessToken.
	AccessTokenTTL int `json:"access_token_ttl,omitempty"`
}

// feature is something a case needs from the OP beyond a code flow login
// with client_secret_basic and an RS256 ID token.
type feature string

const (
	featureClientSecretPost feature = "client_secret_post"
	featurePublicClient     feature = "public client"
	featureFormPost         feature = "form_post"
	featureKeyRotation      feature = "key rotation"
	featureLogout           feature = "RP-initiated logout"
	// featureBackchannelLogout: the OP POSTs a logout token with sid to
	// the client's backchannel_logout_uri when an OP session ends.
	featureBackchannelLogout feature = "back-channel logout"
	// featureRefresh: the OP issues a refresh token for offline_access
	// (with prompt=consent), redeems it and rotates it.
	featureRefresh feature = "refresh tokens"
)

// featureAlg is ID tokens signed with alg for a client that registered it
// as its id_token_signed_response_alg.
func featureAlg(alg string) feature { return feature("ID token alg " + alg) }

// opKind is one OP implementation the cases run against.
type opKind struct {
	name  string // the subtest name
	label string // how skip messages name it
	// start runs an OP with these clients registered, until the test ends.
	start func(t *testing.T, clients []client) op
	// lacks lists the features this OP does not have, and why. A case that
	// needs one is skipped for this OP with the reason: a documented
	// capability gap (see README.md), not a missing component.
	lacks map[feature]string
}

// opKinds are the OPs of the suite; every case runs against each of them.
var opKinds = []opKind{nodeKind, zitadelKind}

// eachOP runs f as a subtest per OP kind, named after it.
func eachOP(t *testing.T, f func(t *testing.T, k opKind)) {
	t.Helper()
	for _, k := range opKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// require skips the test, with the reason, when the OP lacks one of fs.
func (k opKind) require(t *testing.T, fs ...feature) {
	t.Helper()
	for _, f := range fs {
		if why, ok := k.lacks[f]; ok {
			t.Skipf("%s: %s", k.label, why)
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// missing skips the test because a component of the suite is not installed,
// or fails it when CI=true: .ci/run installs everything, so there a missing
// piece is a bug, never a reason to skip.
func missing(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop: %s (CI=true: not skipping)", reason)
	}
	t.Skipf("interop: %s", reason)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
