package oidctest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDiscovery(t *testing.T) {
	s := newTestServer(t, Config{Alg: "ES256"})
	status, doc := getJSON(t, s, "/.well-known/openid-configuration", nil)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if strings.HasSuffix(s.URL, "/") || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q", s.URL)
	}
	wantEqual(t, "Issuer()", s.Issuer(), s.URL)
	for k, want := range map[string]any{
		"issuer":                 s.URL,
		"authorization_endpoint": s.URL + "/authorize",
		"token_endpoint":         s.URL + "/token",
		"userinfo_endpoint":      s.URL + "/userinfo",
		"jwks_uri":               s.URL + "/jwks",
		"end_session_endpoint":   s.URL + "/end_session",
		"revocation_endpoint":    s.URL + "/revoke",
		"authorization_response_iss_parameter_supported": true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
	} {
		wantEqual(t, k, doc[k], want)
	}
	for k, want := range map[string][]string{
		"response_types_supported":              {"code"},
		"response_modes_supported":              {"query", "form_post"},
		"grant_types_supported":                 {"authorization_code", "refresh_token"},
		"subject_types_supported":               {"public"},
		"id_token_signing_alg_values_supported": {"ES256"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      {"S256"},
	} {
		if got := strs(doc[k]); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if scopes := strs(doc["scopes_supported"]); !slices.Contains(scopes, "openid") {
		t.Errorf("scopes_supported = %v", scopes)
	}
	claims := strs(doc["claims_supported"])
	for _, c := range []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "acr", "email", "name"} {
		if !slices.Contains(claims, c) {
			t.Errorf("claims_supported = %v, want %s", claims, c)
		}
	}
}

// strs converts a decoded JSON array of strings.
func strs(v any) []string {
	arr, _ := v.([]any)
	out := []string{}
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestCodeFlow(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			s := newTestServer(t, Config{Alg: alg, Now: clk.Now})
			f := newFlow(s)
			p := f.authorize(t)
			wantEqual(t, "state", p.Get("state"), f.state)
			wantEqual(t, "iss", p.Get("iss"), s.URL)
			status, h, body := f.redeem(t, p.Get("code"))
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, body)
			}
			wantEqual(t, "Cache-Control", h.Get("Cache-Control"), "no-store")
			wantEqual(t, "Pragma", h.Get("Pragma"), "no-cache")
			wantEqual(t, "token_type", body["token_type"], "Bearer")
			wantEqual(t, "expires_in", body["expires_in"], 3600.0)
			wantEqual(t, "scope", body["scope"], "openid profile email")
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if s, _ := body[k].(string); s == "" {
					t.Errorf("no %s", k)
				}
			}
			raw := body["id_token"].(string)
			header, _ := decodeJWT(t, raw)
			wantEqual(t, "alg", header["alg"], alg)
			wantEqual(t, "typ", header["typ"], "JWT")
			if kid, _ := header["kid"].(string); kid == "" {
				t.Error("no kid")
			}
			claims := mustVerify(t, s, raw)
			now := float64(clk.Now().Unix())
			for k, want := range map[string]any{
				"iss": s.URL, "sub": "alice", "aud": DefaultClientID, "azp": DefaultClientID,
				"nonce": f.nonce, "iat": now, "exp": now + 3600, "auth_time": now,
				"name": "Alice Example", "email": "alice@example.com", "email_verified": true,
			} {
				wantEqual(t, k, claims[k], want)
			}

			bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+body["access_token"].(string)) }
			status, info := getJSON(t, s, "/userinfo", bearer)
			wantEqual(t, "userinfo status", status, http.StatusOK)
			wantEqual(t, "userinfo sub", info["sub"], "alice")
			wantEqual(t, "userinfo email", info["email"], "alice@example.com")

			clk.Add(time.Minute)
			status, _, refreshed := postJSON(t, s, "/token", url.Values{
				"grant_type":    {"refresh_token"},
				"refresh_token": {body["refresh_token"].(string)},
			}, basicAuth(DefaultClientID, DefaultClientSecret))
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, refreshed)
			}
			wantEqual(t, "refresh_token", refreshed["refresh_token"], body["refresh_token"])
			if refreshed["access_token"] == body["access_token"] {
				t.Error("refresh returned the same access token")
			}
			rc := mustVerify(t, s, refreshed["id_token"].(string))
			wantEqual(t, "refreshed sub", rc["sub"], "alice")
			wantEqual(t, "refreshed iat", rc["iat"], now+60)
			wantEqual(t, "refreshed auth_time", rc["auth_time"], now)
			if _, ok := rc["nonce"]; ok {
				t.Error("refreshed ID token has a nonce")
			}

			resp, _ := post(t, s, "/revoke", url.Values{"token": {body["refresh_token"].(string)}},
				basicAuth(DefaultClientID, DefaultClientSecret))
			wantEqual(t, "revoke status", resp.StatusCode, http.StatusOK)
			resp, _ = get(t, s, "/userinfo", bearer)
			wantEqual(t, "userinfo after revoke", resp.StatusCode, http.StatusUnauthorized)
			if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestUserinfoWithoutToken(t *testing.T) {
	s := newTestServer(t, Config{})
	resp, _ := get(t, s, "/userinfo", nil)
	wantEqual(t, "status", resp.StatusCode, http.StatusUnauthorized)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
	}
}

func TestSetUserAndAddClient(t *testing.T) {
	s := newTestServer(t, Config{})
	s.SetUser(User{Subject: "bob", Claims: map[string]any{"name": "Bob"}})
	s.AddClient(Client{ID: "other", Secret: "s3cret", RedirectURIs: []string{"https://app.example/cb"}})
	f := newFlow(s)
	f.clientID, f.redirectURI = "other", "https://app.example/cb"
	status, _, body := postJSON(t, s, "/token", url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {f.code(t)},
		"redirect_uri":  {f.redirectURI},
		"code_verifier": {f.verifier},
	}, basicAuth("other", "s3cret"))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	claims := mustVerify(t, s, body["id_token"].(string))
	wantEqual(t, "sub", claims["sub"], "bob")
	wantEqual(t, "aud", claims["aud"], "other")
	wantEqual(t, "name", claims["name"], "Bob")
	if _, ok := claims["email"]; ok {
		t.Error("email of the previous user leaked")
	}
}

func TestUnstartedServer(t *testing.T) {
	s := NewUnstartedServer(Config{})
	defer s.Close()
	if s.URL != "" {
		t.Fatalf("URL = %q before Start", s.URL)
	}
	s.Start()
	if s.URL == "" || s.Issuer() != s.URL {
		t.Fatalf("URL = %q, Issuer() = %q", s.URL, s.Issuer())
	}
	resp, _ := get(t, s, "/jwks", nil)
	wantEqual(t, "status", resp.StatusCode, http.StatusOK)
}

func TestUnsupportedAlgPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "oidctest: ") {
			t.Errorf("recover() = %v", r)
		}
	}()
	NewUnstartedServer(Config{Alg: "HS256"})
}

func TestRequestsAndCount(t *testing.T) {
	s := newTestServer(t, Config{})
	f := newFlow(s)
	f.tokens(t)
	get(t, s, "/jwks", nil)
	get(t, s, "/jwks", nil)
	wantEqual(t, "Count(/jwks)", s.Count("/jwks"), 2)
	wantEqual(t, "Count(/authorize)", s.Count("/authorize"), 1)
	wantEqual(t, "Count(/nope)", s.Count("/nope"), 0)
	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	az, tok := reqs[0], reqs[1]
	wantEqual(t, "authorize method", az.Method, http.MethodGet)
	wantEqual(t, "authorize path", az.Path, "/authorize")
	wantEqual(t, "authorize state", az.Query.Get("state"), f.state)
	wantEqual(t, "token path", tok.Path, "/token")
	wantEqual(t, "token grant_type", tok.Form.Get("grant_type"), "authorization_code")
	wantEqual(t, "token verifier", tok.Form.Get("code_verifier"), f.verifier)
	if !strings.HasPrefix(tok.Header.Get("Authorization"), "Basic ") {
		t.Errorf("Authorization = %q", tok.Header.Get("Authorization"))
	}
	reqs[0].Query.Set("state", "changed")
	if s.Requests()[0].Query.Get("state") != f.state {
		t.Error("Requests returned shared maps")
	}
}

func TestDisableIssParameter(t *testing.T) {
	s := newTestServer(t, Config{DisableIssParameter: true})
	_, doc := getJSON(t, s, "/.well-known/openid-configuration", nil)
	wantEqual(t, "iss supported", doc["authorization_response_iss_parameter_supported"], false)
	if p := newFlow(s).authorize(t); p.Has("iss") {
		t.Errorf("iss sent: %v", p)
	}
}

func TestEndSession(t *testing.T) {
	s := newTestServer(t, Config{})
	resp, _ := get(t, s, "/end_session?"+url.Values{
		"post_logout_redirect_uri": {"http://rp.example/bye?x=1"},
		"state":                    {"s 1"},
		"client_id":                {DefaultClientID},
	}.Encode(), nil)
	wantEqual(t, "status", resp.StatusCode, http.StatusFound)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	wantEqual(t, "host", loc.Host, "rp.example")
	wantEqual(t, "state", loc.Query().Get("state"), "s 1")
	wantEqual(t, "x", loc.Query().Get("x"), "1")

	resp, body := post(t, s, "/end_session", url.Values{}, nil)
	wantEqual(t, "status", resp.StatusCode, http.StatusOK)
	if !strings.Contains(string(body), "Signed out") {
		t.Errorf("body %q", body)
	}
}
