package oidcmw_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// secondInstance is another Middleware sharing h's store, mounted under
// /b/ with its back-channel receiver at /b/backchannel: an app instance
// behind the same load balancer.
func secondInstance(t *testing.T, h *harness) string {
	t.Helper()
	m2, err := oidcmw.New(h.opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := h.app.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/b/backchannel", m2.BackchannelLogout)
	mux.Handle("/b/", m2.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	return h.app.URL + "/b/backchannel"
}

// postLogoutToken delivers a logout token like the provider does.
func postLogoutToken(t *testing.T, uri, token string) (int, string) {
	t.Helper()
	resp, body := do(t, http.DefaultClient, http.MethodPost, uri,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("back-channel answer without Cache-Control: no-store")
	}
	return resp.StatusCode, body
}

// sidOf is the provider session id of the browser's session.
func sidOf(t *testing.T, h *harness) string {
	t.Helper()
	var claims struct {
		Sid string `json:"sid"`
	}
	if err := whoami(h)().Claims(&claims); err != nil || claims.Sid == "" {
		t.Fatalf("no sid in the ID token: %v", err)
	}
	return claims.Sid
}

func TestBackchannelLogoutEndsSessionInEveryInstance(t *testing.T) {
	h := newHarness(t, setup{})
	uri := secondInstance(t, h)
	h.login(h.browser, "/")
	token, err := h.op.LogoutToken(oidctest.DefaultClientID, "alice", sidOf(t, h), "")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := postLogoutToken(t, uri, token); status != http.StatusOK {
		t.Fatalf("valid logout token: %d %s", status, body)
	}
	if h.signedIn(h.browser) {
		t.Fatal("session survived a valid logout token sent to the other instance")
	}
	// The same token again: its jti was seen.
	if status, _ := postLogoutToken(t, uri, token); status != http.StatusBadRequest {
		t.Fatalf("replayed logout token: %d", status)
	}
}

func TestBackchannelLogoutRejectsDefects(t *testing.T) {
	h := newHarness(t, setup{})
	uri := secondInstance(t, h)
	h.login(h.browser, "/")
	sid := sidOf(t, h)
	for _, defect := range oidctest.LogoutTokenDefects() {
		t.Run(string(defect), func(t *testing.T) {
			token, err := h.op.LogoutToken(oidctest.DefaultClientID, "alice", sid, defect)
			if err != nil {
				t.Fatal(err)
			}
			status, body := postLogoutToken(t, uri, token)
			if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) {
				t.Errorf("%d %s", status, body)
			}
			if !h.signedIn(h.browser) {
				t.Fatal("a defective logout token ended the session")
			}
		})
	}
	for name, body := range map[string]string{
		"no token":       "",
		"two tokens":     "logout_token=a.b.c&logout_token=a.b.c",
		"not a JWT":      "logout_token=hello",
		"oversized body": "logout_token=" + strings.Repeat("a", 100<<10),
	} {
		resp, _ := do(t, http.DefaultClient, http.MethodPost, uri,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(body))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if resp, _ := do(t, http.DefaultClient, http.MethodGet, uri, nil, nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if !h.signedIn(h.browser) {
		t.Fatal("bad input ended the session")
	}
}

func TestBackchannelLogoutUnknownSidChangesNothing(t *testing.T) {
	h := newHarness(t, setup{})
	uri := secondInstance(t, h)
	h.login(h.browser, "/")
	token, _ := h.op.LogoutToken(oidctest.DefaultClientID, "", "no-such-sid", "")
	if status, _ := postLogoutToken(t, uri, token); status != http.StatusOK {
		t.Fatalf("unknown sid: %d", status)
	}
	if !h.signedIn(h.browser) {
		t.Fatal("a logout token for another sid ended the session")
	}
}

// TestBackchannelLogoutBySub: a token with sub only ends all of the user's
// sessions.
func TestBackchannelLogoutBySub(t *testing.T) {
	h := newHarness(t, setup{})
	uri := secondInstance(t, h)
	other := h.newBrowser()
	h.login(h.browser, "/")
	h.op.EndUserSession("alice") // the second browser gets another OP session
	h.login(other, "/")
	token, _ := h.op.LogoutToken(oidctest.DefaultClientID, "alice", "", "")
	if status, _ := postLogoutToken(t, uri, token); status != http.StatusOK {
		t.Fatalf("sub-only token: %d", status)
	}
	if h.signedIn(h.browser) || h.signedIn(other) {
		t.Fatal("a session of the subject survived")
	}
}

// TestRPInitiatedLogoutWithBackchannel: the user logs out in one browser;
// the provider ends its session and notifies the app over the back
// channel, which ends the session the user had in another browser of the
// same provider session.
func TestRPInitiatedLogoutWithBackchannel(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.RevokeOnLogout = true }})
	uri := secondInstance(t, h)
	h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
	h.op.AddClient(oidctest.Client{ID: oidctest.DefaultClientID, Secret: oidctest.DefaultClientSecret, BackchannelLogoutURI: uri})
	tab2 := h.newBrowser()
	h.login(h.browser, "/")
	h.login(tab2, "/")
	refresh := whoami(h)().RefreshToken

	resp, body := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Origin": h.app.URL}, nil)
	target, params := endSession(t, resp, body)
	resp, _ = do(t, h.browser, http.MethodPost, target, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(params.Encode()))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), h.app.URL+"/") {
		t.Fatalf("end_session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	results := h.op.BackchannelResults()
	if len(results) == 0 || results[0].Status != http.StatusOK {
		t.Fatalf("back-channel delivery: %+v", results)
	}
	if h.signedIn(tab2) {
		t.Fatal("the other browser's session survived the provider's back-channel logout")
	}
	if !h.op.Revoked(refresh) {
		t.Error("RevokeOnLogout did not revoke the refresh token")
	}
}

func TestRefreshMisbehaviour(t *testing.T) {
	cases := []struct {
		name   string
		behave oidctest.Behavior
		ended  bool
	}{
		{"refreshed ID token with another sub", oidctest.RefreshInvalidSub, true},
		{"refreshed ID token from another issuer", oidctest.RefreshInvalidIssuer, true},
		{"refresh refused with invalid_grant", oidctest.RefreshInvalidGrant, true},
		{"refresh without an ID token", oidctest.RefreshNoIDToken, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{})
			h.login(h.browser, "/")
			h.op.Misbehave(tc.behave)
			h.clock.Advance(time.Hour - 10*time.Second)
			resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/api", jsonAccept, nil)
			if tc.ended {
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("API after a refused refresh: %d, want 401", resp.StatusCode)
				}
				if r, _ := h.navigate(h.browser, "/page"); r.StatusCode != http.StatusFound {
					t.Fatalf("browser after a refused refresh: %d, want 302 to log in", r.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || refreshGrants(h.op) != 1 {
				t.Fatalf("refresh without ID token: %d, %d grants", resp.StatusCode, refreshGrants(h.op))
			}
		})
	}
}

func TestRotatedRefreshTokenIsKept(t *testing.T) {
	h := newHarness(t, setup{op: oidctest.Config{RotateRefreshTokens: true}})
	who := whoami(h)
	h.login(h.browser, "/")
	rt := who().RefreshToken
	for i := range 3 {
		h.clock.Advance(time.Hour - 10*time.Second)
		id := who()
		if id.RefreshToken == rt {
			t.Fatalf("refresh %d: the rotated refresh token was not kept", i+1)
		}
		rt = id.RefreshToken
	}
	if n := refreshGrants(h.op); n != 3 {
		t.Fatalf("%d refresh grants, want 3", n)
	}
}

func TestUserInfo(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.FetchUserInfo = true }})
	h.op.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com", "nickname": "al"}})
	h.login(h.browser, "/")
	id := whoami(h)()
	var c struct {
		Sub, Nickname string
	}
	if err := id.Claims(&c); err != nil || c.Sub != "alice" || c.Nickname != "al" || len(id.UserInfo) == 0 {
		t.Fatalf("claims %+v, userinfo %s, %v", c, id.UserInfo, err)
	}
	for _, r := range h.op.Requests() {
		if r.Path == "/userinfo" && (!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || len(r.Query) != 0) {
			t.Errorf("userinfo request: %v %v", r.Header, r.Query)
		}
	}

	c2 := h.newBrowser()
	authURL := h.startLogin(c2, "/")
	h.op.Misbehave(oidctest.UserinfoInvalidSub)
	resp, _ := h.callback(c2, h.authorize(c2, authURL))
	if resp.StatusCode != http.StatusUnauthorized || !errors.Is(h.lastErr(), oidcmw.ErrInvalidUserInfo) || h.signedIn(c2) {
		t.Fatalf("UserInfo with another sub at login: %d %v", resp.StatusCode, h.lastErr())
	}
	// At refresh, the same mismatch ends the session.
	h.clock.Advance(time.Hour - 10*time.Second)
	if resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/api", jsonAccept, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("UserInfo with another sub at refresh: %d", resp.StatusCode)
	}
}

func TestStepUpACR(t *testing.T) {
	h := newHarness(t, setup{})
	const mfa = "urn:example:mfa"
	h.app.Config.Handler.(*http.ServeMux).Handle("/vault", h.m.Require(oidcmw.Requirement{ACRValues: []string{mfa}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("vault")) })))
	h.login(h.browser, "/")
	resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/vault", jsonAccept, nil)
	if wa := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(wa, `acr_values="`+mfa+`"`) {
		t.Fatalf("API: %d %q", resp.StatusCode, wa)
	}
	authURL := h.startLogin(h.browser, "/vault")
	if mustParse(t, authURL).Query().Get("acr_values") != mfa {
		t.Fatalf("no acr_values in %s", authURL)
	}
	h.callback(h.browser, h.authorize(h.browser, authURL))
	if _, body := h.navigate(h.browser, "/vault"); body != "vault" {
		t.Fatalf("after step-up: %q (%v)", body, h.lastErr())
	}
	// A login that comes back without the asked acr is refused.
	r, checks := customLogin(t, h)
	checks.ACRValues = []string{mfa}
	if _, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil); !errors.Is(err, oidcmw.ErrInsufficientAuthentication) {
		t.Fatalf("acr not met: %v", err)
	}
}

// TestUserInfoRefusedToken: a token the provider refuses at UserInfo is a
// 401, not a provider outage.
func TestUserInfoRefusedToken(t *testing.T) {
	h := newHarness(t, setup{})
	h.login(h.browser, "/")
	id := *whoami(h)()
	id.AccessToken = "not-a-token"
	if _, err := h.m.UserInfo(context.Background(), &id); !errors.Is(err, oidcmw.ErrInvalidUserInfo) || oidcmw.StatusCode(err) != 401 {
		t.Fatalf("refused token: %v (%d)", err, oidcmw.StatusCode(err))
	}
}
