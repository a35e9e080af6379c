package oidctest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// profileFlow is one code flow against a profile server, through the
// endpoints its discovery document names.
type profileFlow struct {
	*flow
	doc map[string]any
}

func newProfileFlow(t *testing.T, s *Server) *profileFlow {
	t.Helper()
	status, doc := getJSON(t, s, strings.TrimPrefix(strings.TrimSuffix(s.Authority(), "/"), s.URL)+discoveryPath, nil)
	if status != http.StatusOK {
		t.Fatalf("discovery at %s: status %d", s.Authority(), status)
	}
	return &profileFlow{flow: newFlow(s), doc: doc}
}

// path is the path of a discovery endpoint on s.
func (f *profileFlow) path(t *testing.T, key string) string {
	t.Helper()
	v, _ := f.doc[key].(string)
	if !strings.HasPrefix(v, f.s.URL+"/") {
		t.Fatalf("%s = %q, not on %s", key, v, f.s.URL)
	}
	return strings.TrimPrefix(v, f.s.URL)
}

func (f *profileFlow) auth() func(*http.Request) {
	if f.s.clients[DefaultClientID].authMethod() == "client_secret_post" {
		return nil // in the form
	}
	return basicAuth(DefaultClientID, DefaultClientSecret)
}

func (f *profileFlow) tokenForm(form url.Values) url.Values {
	if f.auth() == nil {
		form.Set("client_id", DefaultClientID)
		form.Set("client_secret", DefaultClientSecret)
	}
	return form
}

// authorizeProfile authorizes with extra parameters and returns the
// authorization response.
func (f *profileFlow) authorizeProfile(t *testing.T, extra url.Values) url.Values {
	t.Helper()
	f.extra = extra
	resp, _ := get(t, f.s, f.path(t, "authorization_endpoint")+"?"+f.params().Encode(), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc.Query()
}

// run authorizes with extra parameters and returns the authorization
// response and the token response.
func (f *profileFlow) run(t *testing.T, extra url.Values) (url.Values, map[string]any) {
	t.Helper()
	p := f.authorizeProfile(t, extra)
	status, _, body := postJSON(t, f.s, f.path(t, "token_endpoint"), f.tokenForm(url.Values{
		"grant_type": {"authorization_code"}, "code": {p.Get("code")},
		"redirect_uri": {f.redirectURI}, "code_verifier": {f.verifier},
	}), f.auth())
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	return p, body
}

func (f *profileFlow) refresh(t *testing.T, rt string) map[string]any {
	t.Helper()
	status, _, body := postJSON(t, f.s, f.path(t, "token_endpoint"), f.tokenForm(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt},
	}), f.auth())
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, body)
	}
	return body
}

func claimsOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	_, c := decodeJWT(t, body["id_token"].(string))
	return c
}

var (
	offline    = url.Values{"scope": {"openid profile email offline_access"}}
	notOffline = url.Values{"scope": {"openid profile email"}}
)

func TestProfiles(t *testing.T) {
	type check struct {
		issuer, authority string // with {base}
		iss               bool   // RFC 9207 iss parameter
		endSession        bool
		absent, present   []string // ID token claims
		refreshWithout    bool     // a refresh token without offline_access
		extra             func(t *testing.T, s *Server)
	}
	tenantIss := "{base}/" + EntraTenantID + "/v2.0"
	checks := map[Profile]check{
		ProfileKeycloak: {issuer: "{base}/realms/demo", iss: true, endSession: true,
			present: []string{"sid", "auth_time", "email", "azp"}, refreshWithout: true,
			extra: func(t *testing.T, s *Server) {
				f := newProfileFlow(t, s)
				_, body := f.run(t, notOffline)
				if _, ok := claimsOf(t, f.refresh(t, body["refresh_token"].(string)))["nonce"]; ok {
					t.Error("refreshed ID token has a nonce (Keycloak 25+ has none)")
				}
			}},
		ProfileEntra: {issuer: tenantIss, endSession: true,
			absent: []string{"email", "email_verified", "auth_time", "azp"}, present: []string{"tid", "oid", "ver"},
			extra: func(t *testing.T, s *Server) {
				f := newProfileFlow(t, s)
				_, body := f.run(t, offline)
				wantEqual(t, "tid", claimsOf(t, body)["tid"], EntraTenantID)
				_, info := getJSON(t, s, f.path(t, "userinfo_endpoint"), bearer(body["access_token"]))
				wantEqual(t, "userinfo email", info["email"], "alice@example.com")
			}},
		ProfileEntraMultiTenant: {issuer: "{base}/{tenantid}/v2.0", authority: "{base}/organizations/v2.0",
			endSession: true, absent: []string{"email", "auth_time"}, present: []string{"tid", "oid"},
			extra: func(t *testing.T, s *Server) {
				u := DefaultUser()
				u.Claims["tid"] = "other-tenant"
				s.SetUser(u)
				f := newProfileFlow(t, s)
				_, body := f.run(t, offline)
				c := claimsOf(t, body)
				wantEqual(t, "tid", c["tid"], "other-tenant")
				wantEqual(t, "iss", c["iss"], s.URL+"/other-tenant/v2.0")
				rc := claimsOf(t, f.refresh(t, body["refresh_token"].(string)))
				wantEqual(t, "refreshed iss", rc["iss"], s.URL+"/other-tenant/v2.0")
			}},
		ProfileOkta: {issuer: "{base}/oauth2/default", endSession: true, present: []string{"auth_time"}},
		ProfileAuth0: {issuer: "{base}/", endSession: true, absent: []string{"auth_time"}, present: []string{"sid"},
			extra: func(t *testing.T, s *Server) {
				f := newProfileFlow(t, s)
				_, body := f.run(t, url.Values{"max_age": {"600"}})
				if _, ok := claimsOf(t, body)["auth_time"]; !ok {
					t.Error("no auth_time although max_age was requested")
				}
				// client_secret_basic is refused: the client is registered for post.
				f = newProfileFlow(t, s)
				p := f.authorizeProfile(t, nil)
				status, _, _ := postJSON(t, s, f.path(t, "token_endpoint"), url.Values{
					"grant_type": {"authorization_code"}, "code": {p.Get("code")},
					"redirect_uri": {f.redirectURI}, "code_verifier": {f.verifier},
				}, basicAuth(DefaultClientID, DefaultClientSecret))
				wantEqual(t, "token status with client_secret_basic", status, http.StatusUnauthorized)
			}},
		ProfileGoogle: {issuer: "{base}", absent: []string{"auth_time", "sid", "acr"}, present: []string{"azp"},
			extra: func(t *testing.T, s *Server) {
				f := newProfileFlow(t, s)
				if _, body := f.run(t, url.Values{"access_type": {"offline"}}); body["refresh_token"] == nil {
					t.Error("first offline authorization: no refresh token")
				}
				if _, body := f.run(t, url.Values{"access_type": {"offline"}}); body["refresh_token"] != nil {
					t.Error("second offline authorization without prompt=consent got a refresh token")
				}
				if _, body := f.run(t, url.Values{"access_type": {"offline"}, "prompt": {"consent"}}); body["refresh_token"] == nil {
					t.Error("offline authorization with prompt=consent: no refresh token")
				}
			}},
		ProfileDex: {issuer: "{base}/dex", absent: []string{"auth_time", "sid", "acr", "azp"},
			extra: func(t *testing.T, s *Server) {
				f := newProfileFlow(t, s)
				_, body := f.run(t, offline)
				rt := body["refresh_token"].(string)
				refreshed := f.refresh(t, rt)
				wantEqual(t, "refreshed nonce", claimsOf(t, refreshed)["nonce"], f.nonce)
				if refreshed["refresh_token"] == rt {
					t.Error("refresh token not rotated")
				}
			}},
		ProfileZitadel: {issuer: "{base}", endSession: true, absent: []string{"email", "name"},
			present: []string{"auth_time", "azp"},
			extra: func(t *testing.T, s *Server) {
				f := newProfileFlow(t, s)
				_, body := f.run(t, offline)
				aud, _ := claimsOf(t, body)["aud"].([]any)
				if len(aud) != 2 || aud[0] != DefaultClientID {
					t.Errorf("aud = %v, want [client, project]", aud)
				}
				_, info := getJSON(t, s, f.path(t, "userinfo_endpoint"), bearer(body["access_token"]))
				wantEqual(t, "userinfo email", info["email"], "alice@example.com")
			}},
	}
	if got := Profiles(); len(got) != len(profiles) || !slices.IsSorted(got) {
		t.Fatalf("Profiles() = %v", got)
	}
	for _, p := range Profiles() {
		t.Run(string(p), func(t *testing.T) {
			c, ok := checks[p]
			if !ok {
				t.Fatal("no check")
			}
			s := newTestServer(t, Config{Profile: p})
			expand := func(v string) string { return strings.ReplaceAll(v, "{base}", s.URL) }
			wantEqual(t, "Issuer()", s.Issuer(), expand(c.issuer))
			if c.authority == "" {
				c.authority = c.issuer
			}
			wantEqual(t, "Authority()", s.Authority(), expand(c.authority))
			f := newProfileFlow(t, s)
			wantEqual(t, "discovery issuer", f.doc["issuer"], s.Issuer())
			_, hasEnd := f.doc["end_session_endpoint"]
			wantEqual(t, "end_session_endpoint present", hasEnd, c.endSession)
			if resp, _ := get(t, s, "/authorize", nil); resp.StatusCode != http.StatusNotFound && f.path(t, "authorization_endpoint") != "/authorize" {
				t.Errorf("GET /authorize: %d, want 404 (not the profile's path)", resp.StatusCode)
			}
			for _, key := range []string{"jwks_uri", "userinfo_endpoint"} {
				if resp, _ := get(t, s, f.path(t, key), nil); resp.StatusCode == http.StatusNotFound {
					t.Errorf("%s not served", key)
				}
			}

			p, body := f.run(t, offline)
			wantEqual(t, "iss parameter sent", p.Has("iss"), c.iss)
			if body["refresh_token"] == nil && s.profile != ProfileGoogle {
				t.Error("no refresh token with offline_access")
			}
			claims := claimsOf(t, body)
			wantEqual(t, "nonce", claims["nonce"], f.nonce)
			for _, k := range c.absent {
				if _, ok := claims[k]; ok {
					t.Errorf("ID token has %s", k)
				}
			}
			for _, k := range c.present {
				if _, ok := claims[k]; !ok {
					t.Errorf("ID token lacks %s", k)
				}
			}
			if s.profile != ProfileEntraMultiTenant {
				wantEqual(t, "iss", claims["iss"], s.Issuer())
			} else {
				wantEqual(t, "iss", claims["iss"], s.URL+"/"+EntraTenantID+"/v2.0")
			}

			_, body = newProfileFlow(t, s).run(t, notOffline)
			wantEqual(t, "refresh token without offline_access", body["refresh_token"] != nil, c.refreshWithout)
			if c.extra != nil {
				c.extra(t, s)
			}
		})
	}
}

func TestProfileUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("unknown profile did not panic")
		}
	}()
	NewUnstartedServer(Config{Profile: "no-such-provider"})
}

func TestProfileBehaviorsStillApply(t *testing.T) {
	s := newTestServer(t, Config{Profile: ProfileKeycloak})
	s.Misbehave(WrongIssuer, TokenServerError)
	f := newProfileFlow(t, s)
	resp, _ := post(t, s, f.path(t, "token_endpoint"), url.Values{"grant_type": {"authorization_code"}}, nil)
	wantEqual(t, "token status", resp.StatusCode, http.StatusInternalServerError)
	s.Misbehave(WrongIssuer, RemoveIssParam)
	p, body := f.run(t, notOffline)
	wantEqual(t, "iss parameter", p.Has("iss"), false)
	wantEqual(t, "iss", claimsOf(t, body)["iss"], s.Issuer()+"/other")
}

func TestProfileEndSessionAcceptsTenantIssuer(t *testing.T) {
	s := newTestServer(t, Config{Profile: ProfileEntraMultiTenant})
	f := newProfileFlow(t, s)
	_, body := f.run(t, offline)
	resp, b := get(t, s, f.path(t, "end_session_endpoint")+"?"+url.Values{
		"id_token_hint":            {body["id_token"].(string)},
		"post_logout_redirect_uri": {"http://rp.example/bye"},
	}.Encode(), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("end_session: %d %s", resp.StatusCode, b)
	}
}
