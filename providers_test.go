package oidcmw_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// providerCase is one recipe of docs/providers.md against the oidctest
// profile of its provider.
type providerCase struct {
	profile oidctest.Profile
	// recipe sets the Options of the recipe; base stands for the
	// provider's host (https://login.microsoftonline.com, ...).
	recipe func(base string, o *oidcmw.Options)
	// logoutPath is the end_session_endpoint path Logout redirects to;
	// empty: the provider has none and Logout goes to PostLogoutRedirectURL.
	logoutPath string
	// userinfoOnly are claims absent from the ID token that the recipe
	// gets from UserInfo (FetchUserInfo).
	userinfoOnly []string
	// behaviors are switched on before the refresh.
	behaviors []oidctest.Behavior
	// check runs after login with the signed-in identity.
	check func(t *testing.T, h *harness, id *oidcmw.Identity)
}

var providerCases = map[string]providerCase{
	"keycloak": {
		profile: oidctest.ProfileKeycloak,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base + "/realms/demo"
		},
		logoutPath: "/realms/demo/protocol/openid-connect/logout",
		// Keycloak before 25 (or with the "Nonce backwards compatible"
		// mapper) repeats the nonce in refreshed ID tokens.
		behaviors: []oidctest.Behavior{oidctest.RefreshRepeatsNonce},
		check: func(t *testing.T, h *harness, id *oidcmw.Identity) {
			if claim(t, id, "sid") == nil {
				t.Error("no sid in Keycloak's ID token: back-channel logout by sid would not work")
			}
			if id.AuthTime.IsZero() {
				t.Error("AuthTime zero; Keycloak sends auth_time")
			}
			if authRequest(t, h).Has("prompt") {
				t.Error("the recipe without offline_access should send no prompt")
			}
		},
	},
	"entra": {
		profile: oidctest.ProfileEntra,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base + "/" + oidctest.EntraTenantID + "/v2.0"
			o.Scopes = []string{"openid", "profile", "email", "offline_access"}
			o.FetchUserInfo = true
			o.OmitConsentPrompt = true
		},
		logoutPath:   "/" + oidctest.EntraTenantID + "/oauth2/v2.0/logout",
		userinfoOnly: []string{"email"},
		check: func(t *testing.T, h *harness, id *oidcmw.Identity) {
			if got := claim(t, id, "tid"); got != oidctest.EntraTenantID {
				t.Errorf("tid = %v", got)
			}
			if authRequest(t, h).Has("prompt") {
				t.Error("OmitConsentPrompt: the Entra recipe must send no prompt")
			}
		},
	},
	"entra-multitenant": {
		profile: oidctest.ProfileEntraMultiTenant,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base + "/organizations/v2.0"
			o.TenantIssuer = base + "/{tenantid}/v2.0"
			o.AllowedTenants = []string{oidctest.EntraTenantID}
			o.Scopes = []string{"openid", "profile", "email", "offline_access"}
			o.FetchUserInfo = true
			o.OmitConsentPrompt = true
		},
		logoutPath:   "/organizations/oauth2/v2.0/logout",
		userinfoOnly: []string{"email"},
		check: func(t *testing.T, h *harness, id *oidcmw.Identity) {
			if want := h.op.URL + "/" + oidctest.EntraTenantID + "/v2.0"; id.Issuer != want {
				t.Errorf("Identity.Issuer = %q, want the tenant's issuer %q", id.Issuer, want)
			}
			// A user of a tenant that is not allowed is refused.
			u := oidctest.DefaultUser()
			u.Subject = "mallory"
			u.Claims["tid"] = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
			h.op.SetUser(u)
			defer h.op.SetUser(oidctest.DefaultUser())
			other := h.newBrowser()
			resp, _ := h.callback(other, h.authorize(other, startProviderLogin(t, h, other, "/")))
			if resp.StatusCode != http.StatusUnauthorized || !errors.Is(h.lastErr(), oidcmw.ErrInvalidIDToken) {
				t.Errorf("login from another tenant: %d, %v; want 401 ErrInvalidIDToken", resp.StatusCode, h.lastErr())
			}
			if h.signedIn(other) {
				t.Error("the user of another tenant is signed in")
			}
		},
	},
	"okta": {
		profile: oidctest.ProfileOkta,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base + "/oauth2/default"
			o.Scopes = []string{"openid", "profile", "email", "offline_access"}
		},
		logoutPath: "/oauth2/default/v1/logout",
	},
	"auth0": {
		profile: oidctest.ProfileAuth0,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base + "/" // with the trailing slash
			o.ClientAuthMethod = "client_secret_post"
			o.Scopes = []string{"openid", "profile", "email", "offline_access"}
		},
		logoutPath: "/oidc/logout",
		check: func(t *testing.T, h *harness, id *oidcmw.Identity) {
			if id.Issuer != h.op.URL+"/" {
				t.Errorf("Identity.Issuer = %q, want the trailing slash", id.Issuer)
			}
			tok := lastRequest(t, h, "/oauth/token")
			if tok.Form.Get("client_secret") == "" || tok.Header.Get("Authorization") != "" {
				t.Error("token request does not use client_secret_post")
			}
		},
	},
	"google": {
		profile: oidctest.ProfileGoogle,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base // https://accounts.google.com
			o.AuthParams = url.Values{"access_type": {"offline"}, "prompt": {"consent"}}
			o.PostLogoutRedirectURL = appURL(o) + "/signed-out"
		},
		check: func(t *testing.T, h *harness, id *oidcmw.Identity) {
			q := authRequest(t, h)
			if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" ||
				strings.Contains(q.Get("scope"), "offline_access") {
				t.Errorf("authorization request %v: want access_type=offline, prompt=consent, no offline_access", q)
			}
			if !id.AuthTime.IsZero() {
				t.Error("AuthTime set; Google sends no auth_time")
			}
		},
	},
	"dex": {
		profile: oidctest.ProfileDex,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base + "/dex"
			o.Scopes = []string{"openid", "profile", "email", "offline_access"}
			o.PostLogoutRedirectURL = appURL(o) + "/signed-out"
		},
	},
	"zitadel": {
		profile: oidctest.ProfileZitadel,
		recipe: func(base string, o *oidcmw.Options) {
			o.Issuer = base
			o.Scopes = []string{"openid", "profile", "email", "offline_access"}
			o.FetchUserInfo = true
		},
		logoutPath:   "/oidc/v1/end_session",
		userinfoOnly: []string{"email", "name"},
		check: func(t *testing.T, h *harness, id *oidcmw.Identity) {
			if aud, _ := claim(t, id, "aud").([]any); len(aud) != 2 {
				t.Errorf("aud = %v, want client and project", aud)
			}
		},
	},
}

// TestProviders logs in with each recipe of docs/providers.md against the
// oidctest profile of its provider, refreshes, and logs out.
func TestProviders(t *testing.T) {
	for _, p := range oidctest.Profiles() {
		if !slices.ContainsFunc(mapsValues(providerCases), func(c providerCase) bool { return c.profile == p }) {
			t.Errorf("no case for profile %s", p)
		}
	}
	names := make([]string, 0, len(providerCases))
	for name := range providerCases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		tc := providerCases[name]
		t.Run(name, func(t *testing.T) {
			var id *oidcmw.Identity
			h := newHarness(t, setup{
				op:   oidctest.Config{Profile: tc.profile},
				opts: func(o *oidcmw.Options) { tc.recipe(o.Issuer, o) },
			})
			if h.op.Authority() != h.opts.Issuer {
				t.Fatalf("recipe Issuer %q, but the provider's is %q", h.opts.Issuer, h.op.Authority())
			}
			mux := h.app.Config.Handler.(*http.ServeMux)
			mux.Handle("/whoami", h.m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, _ = oidcmw.FromContext(r.Context())
			})))
			mux.HandleFunc("POST /auth/logout", h.m.Logout)

			providerLogin(t, h, h.browser, "/whoami")
			h.navigate(h.browser, "/whoami")
			if id == nil {
				t.Fatal("no identity after login")
			}
			if id.RefreshToken == "" {
				t.Fatal("no refresh token: the recipe must get one")
			}
			for _, k := range tc.userinfoOnly {
				if idTokenHas(t, id, k) {
					t.Errorf("%s in the ID token; the profile sends it only from UserInfo", k)
				}
				if claim(t, id, k) == nil {
					t.Errorf("%s missing from Identity.Claims: FetchUserInfo should supply it", k)
				}
			}
			if tc.check != nil {
				tc.check(t, h, id)
			}

			// Refresh: the access token is about to expire.
			h.op.Misbehave(tc.behaviors...)
			before := id.AccessToken
			h.clock.Advance(time.Hour - 30*time.Second)
			if resp, body := h.navigate(h.browser, "/whoami"); resp.StatusCode != http.StatusOK {
				t.Fatalf("after refresh: %d %q (%v)", resp.StatusCode, body, h.lastErr())
			}
			if id.AccessToken == before || lastRequest(t, h, "").Form.Get("grant_type") != "refresh_token" {
				t.Error("the access token was not refreshed")
			}
			h.op.Misbehave()

			// Logout.
			resp, body := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", nil, nil)
			loc, params := endSession(t, resp, body)
			switch {
			case tc.logoutPath == "" && (resp.StatusCode != http.StatusSeeOther || loc != h.opts.PostLogoutRedirectURL):
				t.Errorf("logout: %d to %q, want PostLogoutRedirectURL %q (no end_session_endpoint)", resp.StatusCode, loc, h.opts.PostLogoutRedirectURL)
			case tc.logoutPath != "" && (resp.StatusCode != http.StatusOK || loc != h.op.URL+tc.logoutPath || params.Get("id_token_hint") == ""):
				t.Errorf("logout: %d to %q, want a form posting to %s with id_token_hint", resp.StatusCode, loc, tc.logoutPath)
			}
			if h.signedIn(h.browser) {
				t.Error("still signed in after logout")
			}
		})
	}
}

// appURL is the app's origin, which the recipes write as
// https://app.example.com.
func appURL(o *oidcmw.Options) string {
	return strings.TrimSuffix(o.RedirectURL, "/auth/callback")
}

func mapsValues(m map[string]providerCase) []providerCase {
	out := make([]providerCase, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// discoveryOf fetches the discovery document the recipe's Issuer names.
func discoveryOf(t *testing.T, h *harness) map[string]any {
	t.Helper()
	resp, body := do(t, h.op.Client(), http.MethodGet,
		strings.TrimSuffix(h.opts.Issuer, "/")+"/.well-known/openid-configuration", nil, nil)
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d %v", resp.StatusCode, err)
	}
	return doc
}

// startProviderLogin navigates to path without a session and returns the
// authorization URL, which must be the provider's authorization endpoint.
func startProviderLogin(t *testing.T, h *harness, c *http.Client, path string) string {
	t.Helper()
	resp, _ := h.navigate(c, path)
	endpoint, _ := discoveryOf(t, h)["authorization_endpoint"].(string)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || endpoint == "" || !strings.HasPrefix(loc, endpoint+"?") {
		t.Fatalf("GET %s: %d to %q, want the authorization endpoint %q", path, resp.StatusCode, loc, endpoint)
	}
	return loc
}

// providerLogin runs a whole login from path.
func providerLogin(t *testing.T, h *harness, c *http.Client, path string) {
	t.Helper()
	resp, body := h.callback(c, h.authorize(c, startProviderLogin(t, h, c, path)))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path {
		t.Fatalf("callback: %d to %q: %s (%v)", resp.StatusCode, resp.Header.Get("Location"), body, h.lastErr())
	}
}

// authRequest is the query of the last authorization request the OP got.
func authRequest(t *testing.T, h *harness) url.Values {
	t.Helper()
	endpoint, _ := discoveryOf(t, h)["authorization_endpoint"].(string)
	return lastRequest(t, h, strings.TrimPrefix(endpoint, h.op.URL)).Query
}

// lastRequest is the last request the OP got at path, or at the token
// endpoint when path is empty.
func lastRequest(t *testing.T, h *harness, path string) oidctest.Request {
	t.Helper()
	if path == "" {
		endpoint, _ := discoveryOf(t, h)["token_endpoint"].(string)
		path = strings.TrimPrefix(endpoint, h.op.URL)
	}
	reqs := h.op.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i]
		}
	}
	t.Fatalf("the OP got no request at %s", path)
	return oidctest.Request{}
}

// claim is a claim of the identity (UserInfo overlaid by the ID token).
func claim(t *testing.T, id *oidcmw.Identity, name string) any {
	t.Helper()
	var m map[string]any
	if err := id.Claims(&m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// idTokenHas reports whether the ID token itself has the claim.
func idTokenHas(t *testing.T, id *oidcmw.Identity, name string) bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(id.RawClaims, &m); err != nil {
		t.Fatal(err)
	}
	_, ok := m[name]
	return ok
}
